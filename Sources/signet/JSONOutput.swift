import FoundationEssentials
import Glibc
import SignetEditor
import SignetFiles
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF
import SignetTrust

// One JSON style for every command (docs/cli.md): SignetJSON's writer, camelCase keys, key IDs under
// `keyID`/`keyIDs`, references as `REGISTRY/NAME@sha256:…` under `reference`.

/// Prints a JSON document built from plain values (strings, integers, booleans, arrays, dictionaries,
/// `JSONValue`s; `JSONValue.null` for null), pretty-printed with sorted keys.
func printJSON(_ value: Any) {
    printJSONValue(jsonValue(value))
}

/// `value`, or JSON null when it is nil (for `printJSON` dictionaries).
func orNull(_ value: Any?) -> Any { value ?? JSONValue.null }

/// `value` as a `JSONValue`.
func jsonValue(_ value: Any) -> JSONValue {
    switch value {
    case let v as JSONValue: return v
    case let v as String: return .string(v)
    case let v as Bool: return .bool(v)
    case let v as Int: return .integer(Int64(v))
    case let v as Int64: return .integer(v)
    case let v as Int32: return .integer(Int64(v))
    case let v as [Any]: return .array(v.map(jsonValue))
    case let v as [String: Any]:
        var o = JSONObject()
        for key in v.keys.sorted() { o[key] = jsonValue(v[key] as Any) }
        return .object(o)
    case let v as [(String, String)]:
        var o = JSONObject()
        for (k, s) in v { o[k] = .string(s) }
        return .object(o)
    case Optional<Any>.none: return .null
    default: return .null
    }
}

/// Missing signatures of a staged change, as data.
func shortfallsJSON(_ shortfalls: [SignatureShortfall]) -> [[String: Any]] {
    shortfalls.map { ["role": $0.role, "have": $0.have, "need": $0.need, "mayStillSign": $0.missingKeyIDs] }
}

/// A stable code for a failure (`--json` errors): what scripts branch on.
func errorCode(for error: Error) -> String {
    switch error {
    case is UsageError: return "usage"
    case let e as TrustError: return errorCode(for: e)
    case let e as OCIError: return errorCode(for: e)
    case let e as TUFError: return errorCode(for: e)
    case let e as KeyringError:
        switch e {
        case .wrongPassphrase: return "passphrase"
        case .notFound, .ambiguous: return "usage"
        default: return "key"
        }
    case is FileError: return "local"
    case is AgentError: return "agent"
    default: return "error"
    }
}

func errorCode(for e: TrustError) -> String {
    switch e {
    case .expired: return "expired"
    case .policy: return "policy"
    case .unsignedTag: return "unsigned"
    case .olderThanSeen: return "rollback"
    case .notRevoked(_, _, let signed, _): return signed == nil ? "unsigned" : "not-revoked"
    case .notPinned, .dctNotPinned, .notPinnedOffline: return "not-pinned"
    case .rootDisagrees: return "root-disagrees"
    case .wrongRepository, .rootOfAnotherRepository: return "wrong-repository"
    case .noTrustData, .notaryHasNoData: return "no-trust-data"
    case .trustDataRemoved: return "trust-data-removed"
    case .manifestMismatch, .invalidIndex: return "tampered"
    case .wouldReplace: return "would-replace"
    case .conflict: return "conflict"
    case .pendingChange: return "pending-change"
    case .notConfirmed: return "not-confirmed"
    case .notAuthorized: return "not-authorized"
    case .usage: return "usage"
    case .tuf(let t): return errorCode(for: t)
    case .repository(let r):
        switch r {
        case .stagedBaseMoved: return "staged-base-moved"
        case .invalidRequest, .unknownRole: return "usage"
        case .invalidStagedChange: return "tampered"
        case .thresholdNotMet: return "threshold"
        case .tuf(let t): return errorCode(for: t)
        default: return "refused"
        }
    case .oci(let o): return errorCode(for: o)
    case .keyring(let k): return errorCode(for: k)
    case .file: return "local"
    }
}

func errorCode(for e: TUFError) -> String {
    switch e {
    case .thresholdNotMet: return "threshold"
    case .rollback: return "rollback"
    case .expired, .expiredNotSeen: return "expired"
    case .fetch: return "network"
    case .storage: return "local"
    default: return "tampered"
    }
}

func errorCode(for e: OCIError) -> String {
    switch e {
    case .network, .registry: return "network"
    case .unauthorized, .invalidAuthResponse, .credentials: return "auth"
    case .notFound: return "not-found"
    case .cancelled, .interrupted: return "interrupted"
    case .invalidReference, .invalidArgument: return "usage"
    case .io, .invalidLayout: return "local"
    default: return e.isVerificationFailure ? "tampered" : "error"
    }
}
