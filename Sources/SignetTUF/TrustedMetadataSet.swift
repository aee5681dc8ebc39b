import SignetJSON

/// Identifies a targets role by the delegator it was reached through, so that a role delegated by two
/// parents is verified against the keys of the parent used in the current lookup.
public struct RoleRef: Hashable, Sendable, CustomStringConvertible {
    /// The delegating role ("root" for top-level targets).
    public let delegator: ByteKey
    /// The role.
    public let name: ByteKey
    /// Builds a reference.
    public init(delegator: String, name: String) {
        self.delegator = ByteKey(delegator)
        self.name = ByteKey(name)
    }
    /// The top-level targets role.
    public static let topLevelTargets = RoleRef(delegator: "root", name: "targets")
    public var description: String { "\(name) (delegated by \(delegator))" }
}

/// Result of offering a new timestamp.
public enum TimestampUpdate: Sendable {
    /// The new timestamp is now trusted.
    case updated
    /// It has the same version as the trusted one, which stays (TUF 1.0.34 §5.4.3.1: not an error).
    case unchanged
}

/// The trusted metadata of one update, and the only place trusted metadata changes.
///
/// A value type with no I/O and one reference time. Each `update…` call takes received bytes, verifies
/// them completely against what is already trusted, and only then records them. Calls must come in the
/// client workflow's order: root(s), timestamp, snapshot, targets, delegated targets.
public struct TrustedMetadataSet: Sendable {
    /// The fixed update start time (TUF 1.0.34 §5.1), seconds since the epoch.
    public let referenceTime: Int64
    /// The trusted root.
    public private(set) var root: Metadata<Root>
    /// The trusted timestamp, if loaded.
    public private(set) var timestamp: Metadata<Timestamp>?
    /// The trusted snapshot, if loaded.
    public private(set) var snapshot: Metadata<Snapshot>?
    /// Trusted targets roles by (delegator, name).
    public private(set) var targetsRoles: [RoleRef: Metadata<Targets>] = [:]

    /// Starts from a root obtained out of band (TUF 1.0.34 §5.2). The root must be signed by a threshold
    /// of its own root keys; its expiry is checked later, after any newer root is loaded.
    /// - Throws: the parse errors of `Metadata`, `TUFError.thresholdNotMet`.
    public init(rootBytes: [UInt8], referenceTime: Int64) throws(TUFError) {
        self.referenceTime = referenceTime
        let root = try Metadata<Root>(bytes: rootBytes, file: "root.json")
        try TrustedMetadataSet.verifyRootSelf(root, file: "root.json")
        self.root = root
    }

    static func verifyRootSelf(_ root: Metadata<Root>, file: String) throws(TUFError) {
        guard let role = root.signed.role("root") else { throw TUFError.invalidMetadata(file: file, reason: "no root role") }
        try verifyThreshold(message: try root.canonicalSigned(), signatures: root.signatures, role: role, roleName: "root",
                            keys: root.signed.keyMap, file: file)
    }

    /// The top-level targets, if loaded.
    public var targets: Metadata<Targets>? { targetsRoles[.topLevelTargets] }

    // MARK: Root (TUF 1.0.34 §5.3)

    /// Accepts root version N+1.
    /// - Throws: `TUFError.thresholdNotMet` (not signed by N's or N+1's threshold), `.rollback` (version
    ///   not exactly N+1), parse errors; `.misuse` after the timestamp was loaded.
    @discardableResult
    public mutating func updateRoot(_ bytes: [UInt8]) throws(TUFError) -> Metadata<Root> {
        guard timestamp == nil else { throw TUFError.misuse("root cannot be updated after the timestamp") }
        let expected = root.signed.header.version + 1
        let file = "\(expected).root.json"
        let new = try Metadata<Root>(bytes: bytes, file: file)
        // §5.3.4: signed by a threshold of the trusted root's root keys…
        guard let oldRole = root.signed.role("root") else { throw TUFError.invalidMetadata(file: "root.json", reason: "no root role") }
        try verifyThreshold(message: try new.canonicalSigned(), signatures: new.signatures, role: oldRole, roleName: "root (trusted version \(root.signed.header.version))",
                            keys: root.signed.keyMap, file: file)
        // …and by a threshold of its own root keys.
        try TrustedMetadataSet.verifyRootSelf(new, file: file)
        // §5.3.5: the version must be exactly N+1.
        guard new.signed.header.version == expected else {
            throw TUFError.rollback(file: file, trusted: root.signed.header.version, received: new.signed.header.version)
        }
        root = new
        return new
    }

    // MARK: Timestamp (TUF 1.0.34 §5.4)

    /// Offers timestamp metadata.
    ///
    /// An accepted timestamp is recorded before its expiry is checked, so that an expired local copy still
    /// protects against rollback of the next one; an expired timestamp then throws `.expired`.
    /// - Throws: `TUFError.expired` (final root, or the timestamp), `.thresholdNotMet`, `.rollback`, parse errors.
    @discardableResult
    public mutating func updateTimestamp(_ bytes: [UInt8]) throws(TUFError) -> TimestampUpdate {
        guard snapshot == nil else { throw TUFError.misuse("timestamp cannot be updated after the snapshot") }
        // §5.3.10: the final root must not be expired.
        guard !root.signed.header.isExpired(at: referenceTime) else {
            throw TUFError.expired(file: "root.json", expires: root.signed.header.expires)
        }
        let file = "timestamp.json"
        let new = try Metadata<Timestamp>(bytes: bytes, file: file)
        try verifyTopLevel(try new.canonicalSigned(), new.signatures, role: "timestamp", file: file)
        if let old = timestamp {
            // §5.4.3.1: versions never go back; an equal version means nothing changed.
            if new.signed.header.version < old.signed.header.version {
                throw TUFError.rollback(file: file, trusted: old.signed.header.version, received: new.signed.header.version)
            }
            if new.signed.header.version == old.signed.header.version { return .unchanged }
            // §5.4.3.2: the snapshot version it names never goes back either.
            if new.signed.snapshotMeta.version < old.signed.snapshotMeta.version {
                throw TUFError.rollback(file: "snapshot.json (named by timestamp)", trusted: old.signed.snapshotMeta.version,
                                        received: new.signed.snapshotMeta.version)
            }
        }
        timestamp = new
        try checkFinalTimestamp()
        return .updated
    }

    func checkFinalTimestamp() throws(TUFError) {
        guard let timestamp else { throw TUFError.misuse("no timestamp loaded") }
        // §5.4.4: freeze attack.
        if timestamp.signed.header.isExpired(at: referenceTime) {
            throw TUFError.expired(file: "timestamp.json", expires: timestamp.signed.header.expires)
        }
    }

    // MARK: Snapshot (TUF 1.0.34 §5.5)

    /// Offers snapshot metadata. `trusted` skips the hash check against timestamp for a copy that was
    /// verified when it was first stored.
    ///
    /// As with the timestamp, a snapshot that passes signature and rollback checks is recorded before the
    /// version-match and expiry checks, so it still guards against rollback of the next one.
    /// - Throws: `TUFError.lengthMismatch` / `.hashMismatch` (mix-and-match), `.thresholdNotMet`,
    ///   `.roleRemovedFromSnapshot` / `.rollback`, `.versionMismatch`, `.expired`, parse errors.
    public mutating func updateSnapshot(_ bytes: [UInt8], trusted: Bool = false) throws(TUFError) {
        guard let timestamp else { throw TUFError.misuse("snapshot cannot be loaded before the timestamp") }
        guard targetsRoles.isEmpty else { throw TUFError.misuse("snapshot cannot be updated after targets") }
        try checkFinalTimestamp()
        let file = "snapshot.json"
        // §5.5.2: length and hashes named by the timestamp.
        if !trusted { try timestamp.signed.snapshotMeta.verify(bytes, file: file) }
        let new = try Metadata<Snapshot>(bytes: bytes, file: file)
        // §5.5.3: signatures.
        try verifyTopLevel(try new.canonicalSigned(), new.signatures, role: "snapshot", file: file)
        // §5.5.5: no targets role may disappear or go back in version.
        if let old = snapshot {
            for (name, entry) in old.signed.meta {
                guard let newEntry = new.signed.meta(named: name) else {
                    throw TUFError.roleRemovedFromSnapshot(role: name)
                }
                if newEntry.version < entry.version {
                    throw TUFError.rollback(file: "\(name) (named by snapshot)", trusted: entry.version, received: newEntry.version)
                }
            }
        }
        snapshot = new
        try checkFinalSnapshot()
    }

    func checkFinalSnapshot() throws(TUFError) {
        guard let snapshot, let timestamp else { throw TUFError.misuse("no snapshot loaded") }
        // §5.5.6: freeze attack.
        if snapshot.signed.header.isExpired(at: referenceTime) {
            throw TUFError.expired(file: "snapshot.json", expires: snapshot.signed.header.expires)
        }
        // §5.5.4: the version timestamp names.
        if snapshot.signed.header.version != timestamp.signed.snapshotMeta.version {
            throw TUFError.versionMismatch(file: "snapshot.json", expected: timestamp.signed.snapshotMeta.version,
                                           received: snapshot.signed.header.version)
        }
    }

    // MARK: Targets (TUF 1.0.34 §5.6)

    /// Offers the metadata of a targets role reached through `ref.delegator` (top-level targets: "root").
    /// - Throws: `TUFError.missingFromSnapshot`, `.lengthMismatch` / `.hashMismatch`, `.thresholdNotMet`,
    ///   `.versionMismatch`, `.expired`, parse errors; `.misuse` when the delegator is not trusted yet or
    ///   does not delegate to the role.
    @discardableResult
    public mutating func updateTargets(_ bytes: [UInt8], ref: RoleRef, delegatorRef: RoleRef?) throws(TUFError) -> Metadata<Targets> {
        guard let snapshot else { throw TUFError.misuse("targets cannot be loaded before the snapshot") }
        try checkFinalSnapshot()
        let roleName = ref.name.string
        let file = "\(roleName).json"
        let keys: [ByteKey: Key]
        let role: RoleKeys
        if ref == .topLevelTargets {
            guard let r = root.signed.role("targets") else { throw TUFError.invalidMetadata(file: "root.json", reason: "no targets role") }
            keys = root.signed.keyMap
            role = r
        } else {
            guard let delegatorRef, delegatorRef.name == ref.delegator, let delegator = targetsRoles[delegatorRef] else {
                throw TUFError.misuse("delegator of \(ref) is not trusted yet")
            }
            guard let delegations = delegator.signed.delegations, let r = delegations.roleKeys(for: roleName) else {
                throw TUFError.misuse("\(ref.delegator) does not delegate to \(roleName)")
            }
            keys = delegations.keyMap
            role = r
        }
        guard let meta = snapshot.signed.meta(forRole: roleName) else { throw TUFError.missingFromSnapshot(role: roleName) }
        // §5.6.2: length and hashes named by the snapshot (mix-and-match).
        try meta.verify(bytes, file: file)
        let new = try Metadata<Targets>(bytes: bytes, file: file)
        // §5.6.3: signatures of the delegating role's keys.
        try verifyThreshold(message: try new.canonicalSigned(), signatures: new.signatures, role: role, roleName: roleName, keys: keys, file: file)
        // §5.6.4: the version the snapshot names.
        guard new.signed.header.version == meta.version else {
            throw TUFError.versionMismatch(file: file, expected: meta.version, received: new.signed.header.version)
        }
        // §5.6.5: freeze attack.
        if new.signed.header.isExpired(at: referenceTime) {
            throw TUFError.expired(file: file, expires: new.signed.header.expires)
        }
        targetsRoles[ref] = new
        return new
    }

    private func verifyTopLevel(_ message: [UInt8], _ signatures: [Signature], role name: String, file: String) throws(TUFError) {
        guard let role = root.signed.role(name) else { throw TUFError.invalidMetadata(file: "root.json", reason: "no \(name) role") }
        try verifyThreshold(message: message, signatures: signatures, role: role, roleName: name, keys: root.signed.keyMap, file: file)
    }
}
