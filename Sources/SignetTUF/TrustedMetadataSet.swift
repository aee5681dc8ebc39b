import SignetCrypto
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

/// How an update treats metadata whose expiry has passed (TUF 1.0.34 §5.3.10, §5.4.4, §5.5.6, §5.6.5).
public enum ExpiryPolicy: Sendable {
    /// Expired metadata is refused: what every client does.
    case enforce
    /// For a publisher renewing metadata: metadata that has expired but is otherwise valid is accepted
    /// only when this machine already trusted the same role at the same or a lower version
    /// (`seenVersion(role)`, read from its own trusted store), so an old state replayed by a server cannot
    /// be renewed. An expired root is accepted (it is anchored by the pinned root).
    case allowExpiredSeen(seenVersion: @Sendable (String) -> Int64?)
    /// Recovery only: any expired but otherwise valid metadata is accepted. Removes freeze and replay
    /// protection for the files it lets through.
    case unsafeAllowAnyExpired
    /// For sites that cannot renew (an exported copy inside an air-gapped network): the timestamp is
    /// accepted up to `seconds` after it expired; every other role must be unexpired. Extends the
    /// freeze window by that much.
    case timestampGrace(seconds: Int64)
}

/// A file accepted although expired, under an `ExpiryPolicy` that allowed it.
public struct ExpiredAcceptance: Sendable {
    /// The role ("root", "timestamp", "snapshot" or a targets role).
    public let role: String
    /// Its version.
    public let version: Int64
    /// When it expired (as written).
    public let expires: String
}

/// The trusted metadata of one update, and the only place trusted metadata changes.
///
/// A value type with no I/O and one reference time. Each `update…` call takes received bytes, verifies
/// them completely against what is already trusted, and only then records them. Calls must come in the
/// client workflow's order: root(s), timestamp, snapshot, targets, delegated targets.
public struct TrustedMetadataSet: Sendable {
    /// The fixed update start time (TUF 1.0.34 §5.1), seconds since the epoch (moved forward only by
    /// ``advanceReferenceTime(to:)``).
    public private(set) var referenceTime: Int64
    /// The trusted root.
    public private(set) var root: Metadata<Root>
    /// The trusted timestamp, if loaded.
    public private(set) var timestamp: Metadata<Timestamp>?
    /// The trusted snapshot, if loaded.
    public private(set) var snapshot: Metadata<Snapshot>?
    /// Trusted targets roles by (delegator, name).
    public private(set) var targetsRoles: [RoleRef: Metadata<Targets>] = [:]
    /// How expired metadata is treated.
    public let expiryPolicy: ExpiryPolicy
    /// Files accepted although expired (only under a policy that allows it).
    public private(set) var expiredAccepted: [ExpiredAcceptance] = []

    /// Starts from a root obtained out of band (TUF 1.0.34 §5.2). The root must be signed by a threshold
    /// of its own root keys; its expiry is checked later, after any newer root is loaded.
    /// - Throws: the parse errors of `Metadata`, `TUFError.thresholdNotMet`.
    public init(rootBytes: [UInt8], referenceTime: Int64, expiryPolicy: ExpiryPolicy = .enforce) throws(TUFError) {
        self.referenceTime = referenceTime
        self.expiryPolicy = expiryPolicy
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

    /// Moves the reference time forward to `time`, as if the update had started then, when that changes
    /// nothing the update decided: expiry enforced (no other policy), nothing accepted although expired,
    /// and the root and every file loaded so far still unexpired at `time` (expiry is the only check
    /// that reads the time). Files loaded afterwards are checked against `time`. Returns false, and
    /// changes nothing, otherwise (also when `time` is earlier than the reference time).
    public mutating func advanceReferenceTime(to time: Int64) -> Bool {
        guard time >= referenceTime, case .enforce = expiryPolicy, expiredAccepted.isEmpty else { return false }
        var headers = [root.signed.header]
        if let timestamp { headers.append(timestamp.signed.header) }
        if let snapshot { headers.append(snapshot.signed.header) }
        headers += targetsRoles.values.map { $0.signed.header }
        guard headers.allSatisfy({ !$0.isExpired(at: time) }) else { return false }
        referenceTime = time
        return true
    }

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
        try checkExpiry(root.signed.header, role: "root", file: "root.json")
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

    mutating func checkFinalTimestamp() throws(TUFError) {
        guard let timestamp else { throw TUFError.misuse("no timestamp loaded") }
        // §5.4.4: freeze attack.
        try checkExpiry(timestamp.signed.header, role: "timestamp", file: "timestamp.json")
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

    mutating func checkFinalSnapshot() throws(TUFError) {
        guard let snapshot, let timestamp else { throw TUFError.misuse("no snapshot loaded") }
        // §5.5.6: freeze attack.
        try checkExpiry(snapshot.signed.header, role: "snapshot", file: "snapshot.json")
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
        try updateTargets(bytes, ref: ref, delegatorRef: delegatorRef, computedDigests: [])
    }

    /// As `updateTargets`, with digests the updater computed over exactly `bytes` while they arrived.
    @discardableResult
    mutating func updateTargets(_ bytes: [UInt8], ref: RoleRef, delegatorRef: RoleRef?, computedDigests: [Digest]) throws(TUFError) -> Metadata<Targets> {
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
        try meta.verify(bytes, file: file, computed: computedDigests)
        // A large file's Ed25519 signatures are hashed while its canonical form is written.
        let streamed = bytes.count >= Metadata<Targets>.concurrentScanThreshold
            ? StreamedSignatureChecks.start(bytes: bytes, role: role, keys: keys) : nil
        let new: Metadata<Targets>
        do { new = try Metadata<Targets>(bytes: bytes, file: file, lazy: true, observer: streamed) } catch {
            streamed?.cancel()
            throw error
        }
        streamed?.cancel()
        // §5.6.3: signatures of the delegating role's keys.
        let message = try new.canonicalSigned()
        let valid = validSigners(message: message, signatures: new.signatures, role: role, keys: keys,
                                 streamed: streamed?.verdicts ?? [:]).count
        guard valid >= role.threshold else {
            throw TUFError.thresholdNotMet(file: file, role: roleName, threshold: role.threshold, valid: valid)
        }
        // §5.6.4: the version the snapshot names.
        guard new.signed.header.version == meta.version else {
            throw TUFError.versionMismatch(file: file, expected: meta.version, received: new.signed.header.version)
        }
        // §5.6.5: freeze attack.
        try checkExpiry(new.signed.header, role: roleName, file: file)
        targetsRoles[ref] = new
        return new
    }

    /// Applies the expiry policy to one file's header; records what was accepted although expired.
    private mutating func checkExpiry(_ header: Header, role: String, file: String) throws(TUFError) {
        guard header.isExpired(at: referenceTime) else { return }
        switch expiryPolicy {
        case .enforce:
            throw TUFError.expired(file: file, expires: header.expires)
        case .allowExpiredSeen(let seenVersion):
            if role != "root" {
                guard let seen = seenVersion(role), header.version >= seen else {
                    throw TUFError.expiredNotSeen(file: file, expires: header.expires, version: header.version, seenVersion: seenVersion(role))
                }
            }
        case .unsafeAllowAnyExpired:
            break
        case .timestampGrace(let seconds):
            guard role == "timestamp", header.expiresAt + seconds > referenceTime else {
                throw TUFError.expired(file: file, expires: header.expires)
            }
        }
        if !expiredAccepted.contains(where: { $0.role == role && $0.version == header.version }) {
            expiredAccepted.append(ExpiredAcceptance(role: role, version: header.version, expires: header.expires))
        }
    }

    /// Verifies a chain of root versions from version 1: each must be signed by a threshold of its
    /// predecessor's root keys and of its own (TUF 1.0.34 §5.3.4), with versions 1, 2, 3… in order.
    /// - Returns: the last root of the chain.
    /// - Throws: `TUFError` for a broken link.
    public static func verifyRootChain(_ roots: [[UInt8]]) throws(TUFError) -> Metadata<Root> {
        guard let first = roots.first else { throw TUFError.misuse("empty root chain") }
        var set = try TrustedMetadataSet(rootBytes: first, referenceTime: 0)
        guard set.root.signed.header.version == 1 else {
            throw TUFError.rollback(file: "1.root.json", trusted: 1, received: set.root.signed.header.version)
        }
        for bytes in roots.dropFirst() { try set.updateRoot(bytes) }
        return set.root
    }

    private func verifyTopLevel(_ message: [UInt8], _ signatures: [Signature], role name: String, file: String) throws(TUFError) {
        guard let role = root.signed.role(name) else { throw TUFError.invalidMetadata(file: "root.json", reason: "no \(name) role") }
        try verifyThreshold(message: message, signatures: signatures, role: role, roleName: name, keys: root.signed.keyMap, file: file)
    }
}
