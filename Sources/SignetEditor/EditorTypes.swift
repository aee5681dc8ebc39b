import SignetCrypto
import SignetTUF

/// Default lifetimes of new or renewed metadata, in seconds, for roles that record none
/// (`RepositoryEditor.lifetimeField`). The timestamp's 7 days let a daily renewal job miss a weekend
/// without taking the repository dark; a repository that renews more often can shorten it (it bounds how
/// long a client can be kept on a frozen state).
public struct Expiries: Sendable {
    public var root: Int64 = 365 * 86400
    public var targets: Int64 = 90 * 86400
    public var snapshot: Int64 = 30 * 86400
    public var timestamp: Int64 = 7 * 86400
    /// Delegated targets roles.
    public var delegated: Int64 = 90 * 86400
    public init() {}

    /// The lifetime of `role`.
    public func lifetime(of role: String) -> Int64 {
        switch role {
        case "root": return root
        case "targets": return targets
        case "snapshot": return snapshot
        case "timestamp": return timestamp
        default: return delegated
        }
    }
}

/// Errors of the repository editor.
public enum RepositoryError: Error, Sendable, CustomStringConvertible {
    /// The directory holds no published repository (or it is incomplete).
    case notARepository(String)
    /// The directory already holds a repository.
    case alreadyExists(String)
    /// No such targets role.
    case unknownRole(String)
    /// A target already exists (use replace).
    case duplicateTarget(path: String, role: String)
    /// No such target.
    case unknownTarget(path: String, role: String)
    /// A request that can never be valid (bad threshold, pattern, key of the wrong kind…).
    case invalidRequest(String)
    /// The change needs more signatures than the available keys give; it was staged.
    case thresholdNotMet([SignatureShortfall])
    /// A staged change that cannot be used: malformed, or not built on the current verified state.
    case invalidStagedChange(String)
    /// A staged change built on another state than the current verified one.
    case stagedBaseMoved(String)
    /// A failure underneath.
    case tuf(TUFError)

    public var description: String {
        switch self {
        case .notARepository(let d): return "\(d) is not a Signet TUF repository (no metadata/timestamp.json)"
        case .alreadyExists(let d): return "\(d) already holds a TUF repository"
        case .unknownRole(let r): return "no targets role named \"\(r)\""
        case .duplicateTarget(let p, let r): return "target \"\(p)\" already exists in role \"\(r)\" (use --replace to change it)"
        case .unknownTarget(let p, let r): return "role \"\(r)\" has no target \"\(p)\""
        case .invalidRequest(let s): return s
        case .thresholdNotMet(let list):
            return "not enough signatures to publish: " + list.map(\.description).joined(separator: "; ")
        case .invalidStagedChange(let s): return "the staged change is refused: \(s)"
        case .stagedBaseMoved(let s): return "the staged change was made on another state of the trust data than the current one (\(s)); it cannot be signed or published: discard it and make the change again"
        case .tuf(let e): return e.description
        }
    }
}

/// A role that lacks signatures.
public struct SignatureShortfall: Sendable, CustomStringConvertible {
    /// Role (for root, which threshold: "root (new keys)" or "root (version N keys)").
    public let role: String
    /// Valid distinct signatures present.
    public let have: Int
    /// Threshold.
    public let need: Int
    /// Key IDs that may still sign.
    public let missingKeyIDs: [String]

    public init(role: String, have: Int, need: Int, missingKeyIDs: [String]) {
        self.role = role
        self.have = have
        self.need = need
        self.missingKeyIDs = missingKeyIDs
    }

    public var description: String {
        "\(role) has \(have) of the \(need) required signatures (may still sign: \(missingKeyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")))"
    }
}

/// New metadata produced by a publish, ready to be made visible.
public struct PublishedChange: Sendable {
    /// New metadata files in the order they must become visible: root versions, targets roles, snapshot,
    /// and `timestamp.json` last (the switch-over for clients).
    public let metadata: [(name: String, bytes: [UInt8])]
    /// Target files to store with the change (`targets/` of a repository on disk).
    public let targetContents: [(path: String, bytes: [UInt8])]

    /// The names of the new metadata files.
    public var fileNames: [String] { metadata.map(\.name) }
}

/// What `publish` did.
public enum PublishOutcome: Sendable {
    /// The change is complete: these files make it visible.
    case published(PublishedChange)
    /// Signatures are missing: the signed roles wait for other key holders.
    case staged(StagedChange)
}

/// Status of one role for `signet tuf status`.
public struct RoleStatus: Sendable {
    public let name: String
    public let version: Int64
    public let expires: String
    public let expiresAt: Int64
    public let keyIDs: [String]
    public let threshold: Int
    public let validSignatures: Int
    public var thresholdMet: Bool { validSignatures >= threshold }
}

/// Key IDs a change may be signed with; `root` holds those that sign root.
public struct SigningKeyIDs: Sendable {
    public var root: Set<String> = []
    public var all: Set<String> = []
    public init() {}
}
