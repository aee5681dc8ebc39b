import SignetHTTP
import SignetJSON

/// Errors raised by `SignetTUF`. Each names the role or file and what was expected and received.
public enum TUFError: Error, Sendable, CustomStringConvertible {
    /// Metadata that is not valid JSON under the strict rules.
    case json(file: String, JSONError)
    /// Metadata whose structure or field values break the TUF format.
    case invalidMetadata(file: String, reason: String)
    /// `_type` differs from the role being loaded.
    case wrongType(file: String, expected: String, received: String)
    /// A `spec_version` with a major version this client does not implement.
    case unsupportedSpecVersion(file: String, version: String)
    /// The signature list names one key ID twice.
    case duplicateSignature(file: String, keyID: String)
    /// Fewer distinct keys than the threshold produced valid signatures.
    case thresholdNotMet(file: String, role: String, threshold: Int, valid: Int)
    /// A version lower than a trusted one, or not the expected successor.
    case rollback(file: String, trusted: Int64, received: Int64)
    /// A version different from the one the parent metadata names.
    case versionMismatch(file: String, expected: Int64, received: Int64)
    /// The metadata's expiry is not after the update's reference time.
    case expired(file: String, expires: String)
    /// Expired metadata offered for renewal that this machine never trusted at that version or below:
    /// it may be an old state replayed by the server.
    case expiredNotSeen(file: String, expires: String, version: Int64, seenVersion: Int64?)
    /// Root versions needed to complete the chain from version 1 are missing.
    case rootChainIncomplete(missingVersion: Int64)
    /// Downloaded bytes differ in length from what the parent metadata names.
    case lengthMismatch(file: String, expected: Int64, received: Int64)
    /// Downloaded bytes differ in hash from what the parent metadata names.
    case hashMismatch(file: String, algorithm: String)
    /// The parent metadata lists no hash algorithm this client implements.
    case noSupportedHash(file: String)
    /// More bytes arrived than the limit for this file.
    case tooLarge(file: String, limit: Int64)
    /// The snapshot does not list a role that must be listed.
    case missingFromSnapshot(role: String)
    /// A new snapshot dropped a role that the trusted snapshot listed.
    case roleRemovedFromSnapshot(role: String)
    /// More root versions than the configured maximum were offered.
    case tooManyRootRotations(limit: Int)
    /// No trusted targets metadata describes the target.
    case targetNotFound(path: String)
    /// A target path that is empty, absolute, or would leave the output directory.
    case unsafeTargetPath(path: String)
    /// The repository could not be reached or answered with an error.
    case fetch(file: String, HTTPError)
    /// A local file could not be read or written.
    case storage(path: String, detail: String)
    /// The API was used out of order (a programming error, not bad data).
    case misuse(String)

    public var description: String {
        switch self {
        case .json(let file, let e): return "\(file): not valid JSON: \(e)"
        case .invalidMetadata(let file, let reason): return "\(file): invalid metadata: \(reason)"
        case .wrongType(let file, let expected, let received): return "\(file): expected _type \"\(expected)\", found \"\(received)\""
        case .unsupportedSpecVersion(let file, let v): return "\(file): unsupported spec_version \"\(v)\" (this client implements 1.x)"
        case .duplicateSignature(let file, let k): return "\(file): key ID \(k) appears more than once in the signatures"
        case .thresholdNotMet(let file, let role, let t, let v):
            return "\(file): signature threshold of role \"\(role)\" not met: \(v) of the required \(t) distinct keys signed"
        case .rollback(let file, let t, let r): return "\(file): rollback refused: trusted version is \(t), received version \(r)"
        case .versionMismatch(let file, let e, let r): return "\(file): expected version \(e) (from parent metadata), received version \(r)"
        case .expired(let file, let x): return "\(file): expired at \(x) (possible freeze attack)"
        case .expiredNotSeen(let file, let x, let v, let seen):
            let known = seen.map { "this machine last trusted version \($0)" } ?? "this machine has never verified it before"
            return "\(file): version \(v) expired at \(x) and \(known), so it may be an old state replayed by the server; it is not renewed from here"
        case .rootChainIncomplete(let v): return "\(v).root.json is missing: the chain of root versions from version 1 to the trusted root cannot be verified"
        case .lengthMismatch(let file, let e, let r): return "\(file): expected \(e) bytes, received \(r)"
        case .hashMismatch(let file, let a): return "\(file): \(a) hash does not match the trusted metadata"
        case .noSupportedHash(let file): return "\(file): the trusted metadata lists no supported hash algorithm (sha256, sha384, sha512)"
        case .tooLarge(let file, let l): return "\(file): more than \(l) bytes received (endless data refused)"
        case .missingFromSnapshot(let role): return "snapshot does not list \"\(role).json\""
        case .roleRemovedFromSnapshot(let role): return "new snapshot no longer lists \"\(role)\", which the trusted snapshot listed"
        case .tooManyRootRotations(let l): return "more than \(l) root versions offered in one update"
        case .targetNotFound(let p): return "no trusted metadata describes target \"\(p)\""
        case .unsafeTargetPath(let p): return "target path \"\(p)\" is empty, absolute or escapes the target directory"
        case .fetch(let file, let e): return "\(file): \(e)"
        case .storage(let path, let d): return "\(path): \(d)"
        case .misuse(let s): return "internal error: \(s)"
        }
    }
}
