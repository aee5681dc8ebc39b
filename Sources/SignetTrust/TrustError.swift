import SignetCrypto
import SignetEditor
import SignetFiles
import SignetKeys
import SignetOCI
import SignetTUF

/// Errors of content trust. `exitCode` follows the CLI convention: 1 verification failure or a refused
/// change, 2 usage, 3 network or registry error, 4 local error, 5 lost publish race.
public enum TrustError: Error, Sendable, CustomStringConvertible {
    /// The repository has no trust data (no trust tag) and none was pinned before.
    case noTrustData(String)
    /// The Notary source (server or trust directory) holds no trust data for the GUN.
    case notaryHasNoData(String)
    /// Trust data was pinned for this repository, but the registry no longer has any.
    case trustDataRemoved(String)
    /// No root is pinned and neither a root file nor trust on first use was given.
    case notPinned(String)
    /// Offline trust data (an export, a layout) of a repository this machine has no root pinned for,
    /// and no root file given (there is no registry to trust on first use).
    case notPinnedOffline(String)
    /// No Notary root is pinned for a Docker Content Trust repository and no way to trust one was given.
    case dctNotPinned(String)
    /// A root file given on the command line is not a version of the pinned root chain.
    case rootDisagrees(repository: String, given: String, givenRoot: String, pinned: String, directory: String)
    /// The trust data names another repository than the one it was read for.
    case wrongRepository(repository: String, names: String?, file: String)
    /// A root file given on the command line names another repository than the one it is used for.
    case rootOfAnotherRepository(repository: String, names: String, file: String)
    /// Offline trust data older than what this machine verified (a layout pulled before keys rotated).
    case olderThanSeen(String)
    /// The tag is not signed.
    case unsignedTag(tag: String, repository: String)
    /// `revoke` found nothing to remove: the tag is not signed, or (`signed`) it is signed for another
    /// digest than the one given (`asked`).
    case notRevoked(tag: String, repository: String, signed: Digest?, asked: Digest?)
    /// The registry's manifest differs from what is signed, or a signed digest differs from the one asked for.
    case manifestMismatch(String)
    /// Signing would replace the digest a tag is signed for.
    case wouldReplace(tag: String, repository: String, signed: Digest, new: Digest)
    /// The trust index itself is malformed.
    case invalidIndex(String)
    /// Another publisher moved the trust tag first.
    case conflict(String)
    /// A different change already waits for signatures.
    case pendingChange(String, detail: String)
    /// The user did not confirm a change shown for review.
    case notConfirmed(String)
    /// The key store holds no key allowed to do this.
    case notAuthorized(String)
    /// Wrong usage.
    case usage(String)
    /// The machine's trust policy refuses the reference, or what it demands is missing.
    case policy(String)
    /// A role of a repository's trust data has expired (checked against the current time).
    case expired(repository: String, role: String, expires: String, fix: String)
    /// TUF verification failed.
    case tuf(TUFError)
    /// Repository editing failed, or a staged change was refused.
    case repository(RepositoryError)
    /// Registry access failed.
    case oci(OCIError)
    /// Key store failure.
    case keyring(KeyringError)
    /// A local file problem.
    case file(FileError)

    public var description: String {
        switch self {
        case .policy(let s): return "policy: \(s)"
        case .expired(let r, let role, let x, let fix):
            return "the \(role) metadata of \(r) expired at \(x): clients refuse it (an expired file may be a replayed old state). Renew it with `\(fix)`, run where its keys are"
        case .notaryHasNoData(let gun):
            return "the Notary source has no Docker Content Trust data for \(gun) (no root.json): check the name (registry host and repository, as Docker names them) and --server or --trust-dir"
        case .noTrustData(let r): return "\(r) has no trust data (no \"_tuf\" tag). To publish signed images, create it with `signet trust init \(r)`; for Docker Content Trust (Notary) signatures use `signet dct verify \(r):TAG`; to pull an unsigned image, give its digest (\(r)@sha256:…) or --unsafe-no-trust"
        case .trustDataRemoved(let r): return "\(r): trust data was pinned earlier but the registry no longer has it; refusing to treat the repository as unsigned"
        case .notPinned(let r): return "no trusted root pinned for \(r): pass --root ROOT_FILE, or --trust-on-first-use to accept the registry's current root"
        case .notPinnedOffline(let r):
            return "no trusted root pinned on this machine for \(r), whose trust data this is: pass --root ROOT_FILE (the root file of \(r)); offline trust data is never trusted on first use"
        case .dctNotPinned(let gun):
            return "no Notary root pinned for \(gun): pass --root ROOT_FILE (for example the root.json of a Docker or notary trust directory that trusted it), --root-key-id ID, --root-ca FILE, or --trust-on-first-use to accept the root the source shows now"
        case .rootDisagrees(let r, let given, let givenRoot, let pinned, let dir):
            return "the root given for \(r) (\(given): \(givenRoot)) is not the root pinned for it (\(dir)/root.json: \(pinned)) nor an earlier version of it; "
                + "the pin was not changed. To replace the pin deliberately, run `signet trust pin \(r) --root \(given) --replace`"
        case .wrongRepository(let r, let names, let file):
            return "the trust data served for \(r) belongs to \(names.map { "repository \($0)" } ?? "no named repository") (\(file)); refusing it. "
                + "A copy of another repository's trust verifies only with --as ORIGINAL_REPOSITORY"
        case .rootOfAnotherRepository(let r, let names, let file):
            return "\(file) is the root of \(names), not of \(r); give the root of \(r) (or, when \(r) is a copy of \(names), add --as \(names))"
        case .olderThanSeen(let s): return s
        case .unsignedTag(let t, let r):
            // The hint only where `r` is a plain repository name (not "… (Docker Content Trust)").
            let hint = r.contains(" ") ? "" : " (a signer can sign it with `signet sign \(r):\(t)`)"
            return "tag \"\(t)\" of \(r) is not signed by the repository's trust data\(hint)"
        case .notRevoked(let t, let r, let signed, let asked):
            if let signed, let asked {
                return "tag \"\(t)\" of \(r) is signed for \(signed), not \(asked); nothing was revoked (`signet revoke \(r):\(t)` removes the tag's signature whatever it names)"
            }
            return "tag \"\(t)\" of \(r) is not signed; nothing was revoked"
        case .manifestMismatch(let s): return s
        case .wouldReplace(let t, let r, let old, let new):
            return "tag \"\(t)\" of \(r) is signed for \(old); signing \(new) would replace it. Pass --replace to move the signed tag to \(new)"
        case .invalidIndex(let s): return "invalid trust index: \(s)"
        case .conflict(let s): return s
        case .pendingChange(let r, let detail): return "another change to the trust data of \(r) is waiting for signatures (tag _tuf-staged) and \(detail); review it with `signet trust staged \(r)`, complete it with `signet trust sign-staged \(r)` or drop it with `signet trust discard-staged \(r)`, then run this command again"
        case .notConfirmed(let s): return s
        case .notAuthorized(let s): return s
        case .usage(let s): return s
        case .tuf(let e): return e.description
        case .repository(let e): return e.description
        case .oci(let e): return e.description
        case .keyring(let e): return e.description
        case .file(let e): return e.description
        }
    }

    /// Exit status for the CLI.
    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .conflict: return 5
        case .file: return 4
        case .oci(let e): return e.exitCode
        case .keyring(let e):
            switch e {
            case .notFound, .ambiguous: return 2
            default: return 4
            }
        case .tuf(.fetch(_, let e)):
            if case .sinkFailed(_, let underlying as OCIError) = e, underlying.isVerificationFailure { return 1 }
            return 3
        case .tuf(.storage): return 4
        case .repository(.invalidRequest), .repository(.unknownRole): return 2
        case .repository(.tuf(.storage)): return 4
        default: return 1
        }
    }

    /// A verification error of `repository`'s trust data, with expiry spelled out (role, date, fix).
    static func refreshFailed(_ error: TUFError, repository: String) -> TrustError {
        if case .expired(let file, let x) = error {
            let role = ExpiryNotice.role(ofFile: file)
            return .expired(repository: repository, role: role, expires: x, fix: ExpiryNotice.fix(role: role, repository: repository))
        }
        return .tuf(error)
    }

    /// Wraps any error of the layers below.
    static func wrap(_ error: any Error) -> TrustError {
        switch error {
        case let e as TrustError: return e
        case let e as TUFError: return .tuf(e)
        case let e as RepositoryError: return .repository(e)
        case let e as OCIError: return .oci(e)
        case let e as KeyringError: return .keyring(e)
        case let e as FileError: return .file(e)
        case let e as DiskRepository.OpenError: return .usage(e.description)
        default: return .usage("\(error)")
        }
    }
}

/// What content-trust operations report while they work; the caller decides what to show.
public enum TrustEvent: Sendable {
    /// A root was pinned for a repository (from a root file, trusted on first use, or, for a copy
    /// verified `--as` its original, the root this machine pinned for the original: `original`).
    case pinned(repository: String, root: String, directory: String, trustOnFirstUse: Bool, original: String? = nil)
    /// A root file was given but the pinned root (a later version of the same chain) stays.
    case pinKept(repository: String, givenVersion: Int64, pinnedVersion: Int64)
    /// Metadata accepted although expired, for renewal.
    case expiredAccepted(repository: String, role: String, version: Int64, expires: String)
    /// A step of the TUF client (for verbose output).
    case updater(UpdaterEvent)
    /// The tag moved from one signed digest to another.
    case tagMoved(tag: String, from: Digest, to: Digest)
    /// A step of the Notary v1 client (root rotations followed, delegations skipped as notary skips them).
    case notary(NotaryEvent)
    /// Trust metadata files fetched before the TUF client asks for them (for verbose output).
    case fetchingAhead(repository: String, files: [String])
    /// What waits under the staged tag is not a valid change on the current trust data: it is neither
    /// completed nor allowed to hold back other changes.
    case waitingChangeIgnored(repository: String, reason: String)
    /// New keys made for a change that failed after its state was sent to the registry: kept in the key
    /// store, as that state (which names them) may have been published.
    case newKeysKept(repository: String, keyIDs: [String])
}
