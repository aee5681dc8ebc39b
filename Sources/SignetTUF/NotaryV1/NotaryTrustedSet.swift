import SignetJSON

/// The trusted Notary v1 metadata of one update, and the only place it changes. A value type with no
/// I/O and one reference time, like `TrustedMetadataSet`; every `update…` verifies received bytes
/// completely against what is already trusted (with the one threshold function) before recording them.
///
/// Notary's rules, as notary 0.7 applies them:
/// - Root keys must be x509 certificates whose common name is the GUN (or a `prefix*` wildcard matching
///   it), not signed with SHA-1. A new root must be signed by a threshold of the previous root's root
///   certificates (expired ones allowed) and by a threshold of its own, which must be valid now.
/// - Timestamp, snapshot and targets are signed by the keys root lists for them; delegations by the keys
///   their parent lists. Versions never go below those this machine trusted.
/// - The snapshot must match the timestamp's length and hashes and name the trusted root's hash; each
///   targets role must match the snapshot's entry for it.
/// - An expired or under-signed delegation is skipped (notary warns and goes on); an expired top-level
///   file is an error.
public struct NotaryTrustedSet: Sendable {
    /// The repository's globally unique name (`registry/name`).
    public let gun: String
    /// The update's reference time.
    public let referenceTime: Int64
    /// Accept expired files (recovery of data whose server is gone; removes freeze protection).
    public let unsafeAllowExpired: Bool
    /// The trusted root and its bytes.
    public private(set) var root: NotaryRoot
    public private(set) var rootBytes: [UInt8]
    public private(set) var timestamp: NotaryTimestamp?
    public private(set) var timestampBytes: [UInt8]?
    public private(set) var snapshot: NotarySnapshot?
    public private(set) var snapshotBytes: [UInt8]?
    /// Verified targets roles by name, and their bytes.
    public private(set) var roles: [String: NotaryTargets] = [:]
    public private(set) var roleBytes: [String: [UInt8]] = [:]
    /// Delegations that were skipped, with the reason.
    public private(set) var skipped: [(role: String, reason: String)] = []
    /// Files accepted although expired (only with `unsafeAllowExpired`).
    public private(set) var expiredAccepted: [(file: String, version: Int64, expires: String)] = []

    /// Starts from a trusted root (pinned, or verified earlier): it must be signed by a threshold of its
    /// own root certificates for `gun` (their expiry is checked by `checkRoot`, once any newer root is in).
    /// - Throws: `TUFError` for malformed roots or a threshold not met.
    public init(trustedRoot bytes: [UInt8], gun: String, referenceTime: Int64, unsafeAllowExpired: Bool = false) throws(TUFError) {
        self.gun = gun
        self.referenceTime = referenceTime
        self.unsafeAllowExpired = unsafeAllowExpired
        let r = try NotaryRoot(bytes: bytes, file: "root.json")
        try NotaryTrustedSet.verifyRoot(r, by: r, gun: gun, at: referenceTime, checkExpiry: false, file: "root.json", what: "root (its own keys)")
        root = r
        rootBytes = bytes
    }

    static func verifyRoot(_ root: NotaryRoot, by signer: NotaryRoot, gun: String, at time: Int64, checkExpiry: Bool, file: String, what: String) throws(TUFError) {
        guard let role = signer.roles["root"] else { throw TUFError.invalidMetadata(file: file, reason: "no root role") }
        let keys = signer.keyMap { $0.isRootCertificate(for: gun, at: time, checkExpiry: checkExpiry) }
        let valid = root.envelope.validSigners(role: role, keys: keys)
        guard valid.count >= role.threshold else {
            throw TUFError.thresholdNotMet(file: file, role: what + (keys.isEmpty ? "; no root key is a usable certificate for \(gun)" : ""),
                                           threshold: role.threshold, valid: valid.count)
        }
    }

    /// Whether the trusted root is signed by a threshold of its root keys that also pass `filter` (trust
    /// pinning by key ID or certificate authority, applied to a root trusted on first use).
    public func rootSigned(byKeysPassing filter: (NotaryKey) -> Bool) -> Bool {
        guard let role = root.roles["root"] else { return false }
        let keys = root.keyMap { $0.isRootCertificate(for: gun, at: referenceTime, checkExpiry: true) && filter($0) }
        return root.envelope.validSigners(role: role, keys: keys).count >= role.threshold
    }

    /// Accepts a newer root.
    /// - Throws: `TUFError.rollback` for a version not above the trusted one, `.thresholdNotMet`.
    public mutating func updateRoot(_ bytes: [UInt8], file: String = "root.json") throws(TUFError) {
        guard timestamp == nil else { throw TUFError.misuse("root cannot change after the timestamp") }
        let new = try NotaryRoot(bytes: bytes, file: file)
        guard new.envelope.version > root.envelope.version else {
            throw TUFError.rollback(file: file, trusted: root.envelope.version, received: new.envelope.version)
        }
        try NotaryTrustedSet.verifyRoot(new, by: root, gun: gun, at: referenceTime, checkExpiry: false, file: file,
                                        what: "root (trusted version \(root.envelope.version))")
        try NotaryTrustedSet.verifyRoot(new, by: new, gun: gun, at: referenceTime, checkExpiry: true, file: file, what: "root (its own keys)")
        root = new
        rootBytes = bytes
    }

    /// The final root must be unexpired, and signed by a threshold of its own root certificates that are
    /// valid now.
    public mutating func checkRoot() throws(TUFError) {
        do {
            try NotaryTrustedSet.verifyRoot(root, by: root, gun: gun, at: referenceTime, checkExpiry: true, file: "root.json", what: "root (valid certificates)")
        } catch {
            // Signed by a threshold of its certificates once their validity dates are set aside: they
            // have expired (or are not valid yet), which is what to say.
            guard (try? NotaryTrustedSet.verifyRoot(root, by: root, gun: gun, at: referenceTime, checkExpiry: false, file: "root.json", what: "root")) != nil else {
                throw error
            }
            let ends = root.keys.values.compactMap { $0.isRootCertificate(for: gun, at: referenceTime, checkExpiry: false) ? $0.certificates.first?.notAfter : nil }
            guard let latest = ends.max(), latest < referenceTime else { throw error }
            let file = "root.json (root certificates for \(gun))"
            guard unsafeAllowExpired else { throw TUFError.expired(file: file, expires: TUFDate.format(latest)) }
            expiredAccepted.append((file, root.envelope.version, TUFDate.format(latest)))
        }
        try checkExpiry(root.envelope, file: "root.json")
    }

    private mutating func checkExpiry(_ e: NotaryEnvelope, file: String) throws(TUFError) {
        guard e.isExpired(at: referenceTime) else { return }
        guard unsafeAllowExpired else { throw TUFError.expired(file: file, expires: e.expiresText) }
        expiredAccepted.append((file, e.version, e.expiresText))
    }

    private func verifyTopLevel(_ e: NotaryEnvelope, role: String, file: String) throws(TUFError) {
        guard let r = root.roles[role] else { throw TUFError.invalidMetadata(file: "root.json", reason: "no \(role) role") }
        let valid = e.validSigners(role: r, keys: root.keyMap())
        guard valid.count >= r.threshold else { throw TUFError.thresholdNotMet(file: file, role: role, threshold: r.threshold, valid: valid.count) }
    }

    private static func checkFloor(_ version: Int64, floor: Int64?, file: String) throws(TUFError) {
        if let floor, version < floor { throw TUFError.rollback(file: file, trusted: floor, received: version) }
    }

    /// Accepts the timestamp.
    /// - Parameter floor: the version this machine trusted before, if any.
    public mutating func updateTimestamp(_ bytes: [UInt8], floor: Int64?) throws(TUFError) {
        guard snapshot == nil else { throw TUFError.misuse("timestamp cannot change after the snapshot") }
        let file = "timestamp.json"
        let t = try NotaryTimestamp(bytes: bytes, file: file)
        try verifyTopLevel(t.envelope, role: "timestamp", file: file)
        try NotaryTrustedSet.checkFloor(t.envelope.version, floor: floor, file: file)
        try checkExpiry(t.envelope, file: file)
        timestamp = t
        timestampBytes = bytes
    }

    /// Accepts the snapshot named by the timestamp.
    public mutating func updateSnapshot(_ bytes: [UInt8], floor: Int64?) throws(TUFError) {
        guard let timestamp else { throw TUFError.misuse("snapshot before timestamp") }
        guard roles.isEmpty else { throw TUFError.misuse("snapshot cannot change after targets") }
        let file = "snapshot.json"
        try timestamp.snapshot.verify(bytes, file: file)
        let s = try NotarySnapshot(bytes: bytes, file: file)
        try verifyTopLevel(s.envelope, role: "snapshot", file: file)
        try NotaryTrustedSet.checkFloor(s.envelope.version, floor: floor, file: file)
        try checkExpiry(s.envelope, file: file)
        // The snapshot names the root it was made with: it must be the trusted one.
        guard let rootMeta = s.meta["root"] else { throw TUFError.missingFromSnapshot(role: "root") }
        try rootMeta.verify(rootBytes, file: "root.json (as named by the snapshot)")
        snapshot = s
        snapshotBytes = bytes
    }

    /// What `updateTargets` did.
    public enum TargetsUpdate: Sendable {
        case accepted(NotaryTargets)
        /// A delegation that is expired or lacks signatures: skipped, as notary does.
        case skipped(String)
    }

    /// Accepts targets role `role` (`targets`, or a delegation whose parent is already trusted).
    /// - Throws: `TUFError` for anything wrong with `targets` itself, and for delegations whose bytes do not
    ///   match the snapshot or are malformed.
    public mutating func updateTargets(role: String, bytes: [UInt8], floor: Int64?) throws(TUFError) -> TargetsUpdate {
        guard let snapshot else { throw TUFError.misuse("targets before snapshot") }
        let file = "\(role).json"
        guard let meta = snapshot.meta[role] else { throw TUFError.missingFromSnapshot(role: role) }
        try meta.verify(bytes, file: file)
        let t = try NotaryTargets(bytes: bytes, role: role, file: file)
        let keys: [ByteKey: Key]
        let roleKeys: NotaryRoleKeys
        if role == "targets" {
            guard let r = root.roles["targets"] else { throw TUFError.invalidMetadata(file: "root.json", reason: "no targets role") }
            keys = root.keyMap()
            roleKeys = r
        } else {
            guard let parent = roles[NotaryTargets.parent(of: role)], let d = parent.delegations.first(where: { $0.name == role }) else {
                throw TUFError.misuse("the delegator of \(role) is not trusted")
            }
            keys = parent.delegationKeyMap()
            roleKeys = NotaryRoleKeys(keyIDs: d.keyIDs, threshold: d.threshold)
        }
        let valid = t.envelope.validSigners(role: roleKeys, keys: keys)
        if valid.count < roleKeys.threshold {
            let error = TUFError.thresholdNotMet(file: file, role: role, threshold: roleKeys.threshold, valid: valid.count)
            if role == "targets" { throw error }
            skipped.append((role, error.description))
            return .skipped(error.description)
        }
        try NotaryTrustedSet.checkFloor(t.envelope.version, floor: floor, file: file)
        if t.envelope.isExpired(at: referenceTime) && !unsafeAllowExpired {
            let error = TUFError.expired(file: file, expires: t.envelope.expiresText)
            if role == "targets" { throw error }
            skipped.append((role, error.description))
            return .skipped(error.description)
        }
        if t.envelope.isExpired(at: referenceTime) { expiredAccepted.append((file, t.envelope.version, t.envelope.expiresText)) }
        roles[role] = t
        roleBytes[role] = bytes
        return .accepted(t)
    }

    /// The path prefixes `role` may sign, restricted by every delegator on the way (notary's
    /// `RestrictDelegationPathPrefixes`); the top-level targets may sign everything.
    public func allowedPaths(of role: String) -> [String] {
        guard role != "targets" else { return [""] }
        let parentName = NotaryTargets.parent(of: role)
        guard let parent = roles[parentName], let d = parent.delegations.first(where: { $0.name == role }) else { return [] }
        let parentPaths = allowedPaths(of: parentName)
        return d.paths.filter { p in parentPaths.contains { p.hasPrefix($0) } }
    }

    /// The target `name` as Docker resolved a tag: searching the `targets/releases` subtree first, then
    /// the rest of the tree from `targets` (breadth-first, in listed order, only roles that verified and
    /// whose allowed paths cover the name); the first match counts, and it is accepted only if it is in
    /// `targets/releases` or `targets` itself.
    /// - Returns: the target and the role that signs it; nil when no role names it.
    /// - Throws: `TUFError.invalidMetadata` when the first match is in another delegation (Docker refused
    ///   those), or the entry is malformed.
    public func dockerTarget(_ name: String) throws(TUFError) -> (target: NotaryTarget, role: String)? {
        for (start, skipping) in [("targets/releases", nil as String?), ("targets", "targets/releases")] {
            var queue = [start]
            var head = 0
            while head < queue.count {
                let role = queue[head]
                head += 1
                guard let t = roles[role], allowedPaths(of: role).contains(where: { name.hasPrefix($0) }) else { continue }
                if let target = try t.target(name) {
                    guard role == "targets/releases" || role == "targets" else {
                        throw TUFError.invalidMetadata(file: "\(role).json", reason: "tag \"\(name)\" is signed only in \(role); Docker Content Trust accepts tags from targets/releases or targets")
                    }
                    return (target, role)
                }
                for d in t.delegations where d.name != skipping { queue.append(d.name) }
            }
        }
        return nil
    }
}
