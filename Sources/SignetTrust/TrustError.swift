import SignetOCI
import SignetTUF

/// Errors of content trust. `exitCode` follows the CLI convention: 1 verification failure, 2 usage,
/// 3 network or registry error, 5 lost publish race.
public enum TrustError: Error, Sendable, CustomStringConvertible {
    /// The repository has no trust data (no trust tag) and none was pinned before.
    case noTrustData(String)
    /// Trust data was pinned for this repository, but the registry no longer has any.
    case trustDataRemoved(String)
    /// No root is pinned and trust on first use was not requested.
    case notPinned(String)
    /// The tag is not signed.
    case unsignedTag(tag: String, repository: String)
    /// The registry's manifest differs from what is signed.
    case manifestMismatch(String)
    /// The trust index itself is malformed.
    case invalidIndex(String)
    /// Another publisher moved the trust tag first.
    case conflict(String)
    /// A different change already waits for signatures.
    case pendingChange(String)
    /// Wrong usage.
    case usage(String)
    /// TUF verification or editing failed.
    case tuf(TUFError)
    /// Repository editing failed.
    case repository(RepositoryError)
    /// Registry access failed.
    case oci(OCIError)
    /// Key store failure.
    case keyring(KeyringError)

    public var description: String {
        switch self {
        case .noTrustData(let r): return "\(r) has no trust data (no \"_tuf\" tag). To publish signed images, create it with `signet trust init \(r)`; to pull an unsigned image, give its digest (\(r)@sha256:…) or --unsafe-no-trust"
        case .trustDataRemoved(let r): return "\(r): trust data was pinned earlier but the registry no longer has it; refusing to treat the repository as unsigned"
        case .notPinned(let r): return "no trusted root pinned for \(r): pass --root ROOT_FILE, or --trust-on-first-use to accept the registry's current root"
        case .unsignedTag(let t, let r): return "tag \"\(t)\" of \(r) is not signed by the repository's trust data (a signer can sign it with `signet sign \(r):\(t)`)"
        case .manifestMismatch(let s): return s
        case .invalidIndex(let s): return "invalid trust index: \(s)"
        case .conflict(let s): return s
        case .pendingChange(let r): return "another change to the trust data of \(r) is waiting for signatures (tag _tuf-staged); complete it with `signet trust sign-staged \(r)` or drop it with `signet trust discard-staged \(r)`, then run this command again"
        case .usage(let s): return s
        case .tuf(let e): return e.description
        case .repository(let e): return e.description
        case .oci(let e): return e.description
        case .keyring(let e): return e.description
        }
    }

    /// Exit status for the CLI (5 for a lost publish race).
    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .conflict: return 5
        case .oci(let e):
            if e.isUsageError { return 2 }
            return e.isVerificationFailure ? 1 : 3
        case .keyring(let e):
            switch e {
            case .notFound, .ambiguous: return 2
            default: return 4
            }
        case .tuf(.fetch(_, let e)):
            if case .sinkFailed(_, let underlying as OCIError) = e, underlying.isVerificationFailure { return 1 }
            return 3
        default: return 1
        }
    }
}
