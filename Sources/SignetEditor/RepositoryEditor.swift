import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetTUF

/// Edits a TUF repository in memory: targets, delegations, keys and thresholds, rotation, renewal,
/// and multi-party signing. Consistent snapshots are always on.
///
/// An editor starts either from nothing (`init(creating:…)`) or from a `VerifiedRepository`, which only
/// the TUF client workflow produces after every file verified: it never reads metadata from a place
/// someone else can write (a registry, a staged directory, a layout). Changes are made in memory;
/// `publish` signs with the keys given, checks that the result would verify (thresholds, expiry,
/// versions) and returns the new files, leaving storing them to the caller (`DiskRepository` for a
/// directory, `SignetTrust` for a registry). A change that needs more signatures than the keys at hand
/// give comes back as a `StagedChange` for other key holders, recording the state it was made on.
public final class RepositoryEditor {
    /// The extra field of root, timestamp and snapshot that names the repository the trust data belongs to.
    public static let identityField = "x-signet-repository"
    /// The extra field of a delegated role that maps signer names to key IDs.
    public static let signerNamesField = "x-signet-signer-names"
    /// The extra field of root naming how the trust data is stored in a registry ("versioned": tags that
    /// never move; absent: the moving `_tuf` tag).
    public static let storageField = "x-signet-storage"
    /// The extra field of any role holding the lifetime (seconds) it is signed with each time it is
    /// re-signed, so that every machine renewing it keeps the lifetime its owner chose.
    public static let lifetimeField = "x-signet-lifetime"

    /// The root (with pending changes).
    public private(set) var root: Metadata<Root>
    /// The last published timestamp.
    public private(set) var timestamp: Metadata<Timestamp>?
    /// The last published snapshot.
    public private(set) var snapshot: Metadata<Snapshot>?
    /// Targets roles by name ("targets" is the top-level one), with pending changes.
    public private(set) var roles: [ByteKey: Metadata<Targets>]
    /// Published root versions 1 … N.
    private var rootChain: [[UInt8]]
    /// Published bytes of each role's current version.
    private var roleBytes: [ByteKey: [UInt8]]
    private var timestampBytes: [UInt8]?
    private var snapshotBytes: [UInt8]?
    private var rootChanged = false
    private var publishedRoot: Metadata<Root>?
    private var dirtyRoles: [String] = []
    private var pendingTargetFiles: [(String, [UInt8])] = []
    /// Lifetimes chosen for snapshot and timestamp before they exist (a new repository).
    private var pendingOnlineLifetimes: [String: Int64] = [:]
    /// Lifetimes given to new and re-signed metadata.
    public var expiries: Expiries
    /// The repository name written into root, timestamp and snapshot (`identityField`), if any.
    public var identity: String?
    /// The verified state this editor was built from (nil for a new repository).
    public private(set) var base: ChangeBase?
    private let clock: @Sendable () -> Int64

    // MARK: Creating and loading

    /// Starts a new repository (nothing is published until `publish`).
    /// - Parameters: `keys` maps each top-level role to its public keys and threshold; `identity`, when
    ///   given, is written into root, timestamp and snapshot.
    /// - Throws: `RepositoryError.invalidRequest`.
    public init(creating keys: [String: (keys: [PublicKey], threshold: Int)], expiries: Expiries = Expiries(), identity: String? = nil,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(RepositoryError) {
        self.clock = clock
        self.expiries = expiries
        self.identity = identity
        rootChain = []
        roleBytes = [:]
        let now = clock()
        var rootSigned = Root(header: Header(version: 1, expiresAt: now + expiries.root), consistentSnapshot: true, keys: [], roles: [:])
        for role in Root.topLevelRoles {
            guard let spec = keys[role], !spec.keys.isEmpty else { throw RepositoryError.invalidRequest("no keys given for role \(role)") }
            var ids: [String] = []
            for k in spec.keys {
                let (id, key) = try RepositoryEditor.keyEntry(k)
                if let existing = rootSigned.keys.first(where: { $0.1.sameKey(as: key) }) {
                    if !ids.contains(existing.0) { ids.append(existing.0) }
                    continue
                }
                rootSigned.keys.append((id, key))
                ids.append(id)
            }
            guard spec.threshold >= 1, spec.threshold <= ids.count else {
                throw RepositoryError.invalidRequest("threshold \(spec.threshold) for \(role) must be between 1 and its \(ids.count) distinct keys")
            }
            rootSigned.roles[role] = RoleKeys(keyIDs: ids, threshold: spec.threshold)
        }
        if let identity { rootSigned.unknown[RepositoryEditor.identityField] = .string(identity) }
        root = Metadata(signed: rootSigned)
        roles = [ByteKey("targets"): Metadata(signed: Targets(header: Header(version: 1, expiresAt: now + expiries.targets)))]
        rootChanged = true
        dirtyRoles = ["targets"]
    }

    /// Builds an editor on a repository state that verified.
    /// - Parameter source: where the state was read (recorded in staged changes; not trusted).
    /// - Throws: `RepositoryError.tuf` when the state is incomplete.
    public init(verified: VerifiedRepository, expiries: Expiries = Expiries(), source: String? = nil,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(RepositoryError) {
        self.clock = clock
        self.expiries = expiries
        rootChain = verified.rootChain
        root = verified.root
        publishedRoot = verified.root
        timestamp = verified.trusted.timestamp
        snapshot = verified.trusted.snapshot
        timestampBytes = verified.timestamp
        snapshotBytes = verified.snapshot
        var roles: [ByteKey: Metadata<Targets>] = [:]
        var bytes: [ByteKey: [UInt8]] = [:]
        for r in verified.roles {
            roles[ByteKey(r.name)] = r.metadata
            bytes[ByteKey(r.name)] = r.bytes
        }
        self.roles = roles
        roleBytes = bytes
        identity = verified.root.signed.unknown[RepositoryEditor.identityField]?.stringValue
        guard let last = verified.rootChain.last else { throw RepositoryError.tuf(.misuse("empty root chain")) }
        base = try RepositoryEditor.makeBase(rootVersion: verified.root.signed.header.version, rootBytes: last, roles: roles, roleBytes: bytes, source: source)
    }

    static func makeBase(rootVersion: Int64, rootBytes: [UInt8], roles: [ByteKey: Metadata<Targets>], roleBytes: [ByteKey: [UInt8]],
                         source: String?) throws(RepositoryError) -> ChangeBase {
        func sha(_ b: [UInt8]) throws(RepositoryError) -> String {
            do { return try SHA256.hash(b).hex } catch { throw RepositoryError.invalidRequest("hashing failed: \(error)") }
        }
        var files: [String: ChangeBase.File] = [:]
        for (name, m) in roles {
            guard let b = roleBytes[name] else { continue }
            files[name.string] = ChangeBase.File(version: m.signed.header.version, sha256: try sha(b))
        }
        return ChangeBase(root: ChangeBase.File(version: rootVersion, sha256: try sha(rootBytes)), roles: files, source: source)
    }

    /// Every file of the published state, as a repository with consistent snapshots names them: root
    /// versions 1 … N, `timestamp.json`, `V.snapshot.json` and `V.<role>.json` for each targets role.
    public func currentFiles() -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (i, b) in rootChain.enumerated() { out.append(("\(i + 1).root.json", b)) }
        if let timestampBytes { out.append(("timestamp.json", timestampBytes)) }
        if let snapshot, let snapshotBytes { out.append(("\(snapshot.signed.header.version).snapshot.json", snapshotBytes)) }
        for (name, b) in roleBytes.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
            guard let meta = snapshot?.signed.meta(forRole: name.string) else { continue }
            out.append(("\(meta.version).\(PercentEncoding.encode(name.string)).json", b))
        }
        return out
    }

    /// The published bytes of root version `version`.
    public func rootFile(version: Int64) -> [UInt8]? {
        guard version >= 1, version <= Int64(rootChain.count) else { return nil }
        return rootChain[Int(version - 1)]
    }

    static func keyEntry(_ k: PublicKey) throws(RepositoryError) -> (String, Key) {
        do {
            let key = try Key(publicKey: k)
            return (try key.keyID(), key)
        } catch { throw RepositoryError.invalidRequest("cannot encode key: \(error)") }
    }

    func role(_ name: String) throws(RepositoryError) -> Metadata<Targets> {
        guard let r = roles[ByteKey(name)] else { throw RepositoryError.unknownRole(name) }
        return r
    }

    /// Mutates role `name` in place (taken out of the dictionary so that its large target object is not
    /// copied on write), putting it back whether or not `body` throws.
    func modifyRole(_ name: String, _ body: (inout Metadata<Targets>) throws(RepositoryError) -> Void) throws(RepositoryError) {
        let key = ByteKey(name)
        guard var r = roles.removeValue(forKey: key) else { throw RepositoryError.unknownRole(name) }
        defer { roles[key] = r }
        try body(&r)
    }

    func markDirty(_ name: String) {
        if !dirtyRoles.contains(name) { dirtyRoles.append(name) }
    }

    func beginRootChange() {
        if !rootChanged {
            publishedRoot = root
            root.signed.header.version += 1
            root.signed.header.setExpiry(clock() + lifetime(of: "root"))
            rootChanged = true
        }
    }

    /// Whether anything waits to be published.
    public var hasPendingChanges: Bool { rootChanged || !dirtyRoles.isEmpty }

    // MARK: Targets

    /// Adds (or with `replace`, replaces) a target in `role`; `content` is published under `targets/` when given.
    /// - Throws: `RepositoryError.unknownRole`, `.duplicateTarget`, `.invalidRequest` for a bad path.
    public func addTarget(path: String, content: [UInt8]?, length: Int64? = nil, hashes: [(String, String)]? = nil,
                          custom: JSONValue? = nil, role roleName: String = "targets", replace: Bool = false) throws(RepositoryError) {
        guard SafeName.isRelativePath(path) else {
            throw RepositoryError.invalidRequest("target path \"\(path)\" must be relative, without empty, \".\" or \"..\" segments")
        }
        guard roles[ByteKey(roleName)] != nil else { throw RepositoryError.unknownRole(roleName) }
        let target: TargetFile
        if let content {
            do { target = try TargetFile(path: path, bytes: content, custom: custom) } catch { throw RepositoryError.invalidRequest("\(error)") }
        } else if let length, let hashes, !hashes.isEmpty {
            target = TargetFile(path: path, length: length, hashes: hashes, custom: custom)
        } else {
            throw RepositoryError.invalidRequest("a target needs content, or a length and hashes")
        }
        try modifyRole(roleName) { (role) throws(RepositoryError) in
            if !replace, role.signed.containsTarget(path) { throw RepositoryError.duplicateTarget(path: path, role: roleName) }
            role.signed.setTarget(target)
        }
        if let content { pendingTargetFiles.append((path, content)) }
        markDirty(roleName)
    }

    /// Removes a target.
    /// - Throws: `RepositoryError.unknownRole`, `.unknownTarget`.
    public func removeTarget(path: String, role roleName: String = "targets") throws(RepositoryError) {
        try modifyRole(roleName) { (role) throws(RepositoryError) in
            guard role.signed.removeTarget(path) else { throw RepositoryError.unknownTarget(path: path, role: roleName) }
        }
        markDirty(roleName)
    }

    // MARK: Delegations

    /// Delegates `paths` (or hash prefixes) from `delegator` to a new role with `keys` and `threshold`.
    /// - Throws: `RepositoryError.unknownRole`, `.invalidRequest` (existing role, bad threshold, pattern that never matches).
    public func delegate(from delegator: String, name: String, keys: [PublicKey], threshold: Int, paths: [String]? = nil,
                         pathHashPrefixes: [String]? = nil, terminating: Bool = false) throws(RepositoryError) {
        var parent = try role(delegator)
        guard !Delegations.reservedNames.contains(name), !name.isEmpty else { throw RepositoryError.invalidRequest("role name \"\(name)\" is reserved or empty") }
        guard roles[ByteKey(name)] == nil else { throw RepositoryError.invalidRequest("role \"\(name)\" already exists") }
        guard (paths == nil) != (pathHashPrefixes == nil) else { throw RepositoryError.invalidRequest("give either path patterns or hash prefixes") }
        for p in paths ?? [] where !PathPattern.isUsable(p) {
            throw RepositoryError.invalidRequest("path pattern \"\(p)\" can never match a target path (empty or starting with \"/\")")
        }
        for h in pathHashPrefixes ?? [] where h.isEmpty || h.count > 64 || Hex.decode(h.count % 2 == 0 ? h : h + "0") == nil || h != h.lowercased() {
            throw RepositoryError.invalidRequest("hash prefix \"\(h)\" is not lowercase hex of at most 64 digits")
        }
        var d = parent.signed.delegations ?? Delegations(keys: [], roles: [])
        guard d.succinctRoles == nil else { throw RepositoryError.invalidRequest("\(delegator) uses hash bins; it cannot also delegate by name") }
        let ids = try addKeys(keys, to: &d)
        guard threshold >= 1, threshold <= ids.count else {
            throw RepositoryError.invalidRequest("threshold \(threshold) must be between 1 and the \(ids.count) distinct keys given")
        }
        d.roles = (d.roles ?? []) + [DelegatedRole(name: name, keyIDs: ids, threshold: threshold, terminating: terminating,
                                                   paths: paths, pathHashPrefixes: pathHashPrefixes)]
        parent.signed.delegations = d
        roles[ByteKey(delegator)] = parent
        roles[ByteKey(name)] = Metadata(signed: Targets(header: Header(version: 1, expiresAt: clock() + expiries.delegated)))
        markDirty(delegator)
        markDirty(name)
    }

    /// Delegates everything from `delegator` to `2^bitLength` succinct hash bins named `PREFIX-HEX`.
    /// - Throws: `RepositoryError`.
    public func delegateHashBins(from delegator: String, namePrefix: String, bitLength: Int, keys: [PublicKey], threshold: Int) throws(RepositoryError) {
        var parent = try role(delegator)
        guard (1...16).contains(bitLength) else { throw RepositoryError.invalidRequest("bit length must be 1 to 16 (up to 65 536 bins)") }
        guard parent.signed.delegations == nil else { throw RepositoryError.invalidRequest("\(delegator) already delegates") }
        var d = Delegations(keys: [], roles: nil)
        let ids = try addKeys(keys, to: &d)
        guard threshold >= 1, threshold <= ids.count else { throw RepositoryError.invalidRequest("threshold must be between 1 and \(ids.count)") }
        let bins = SuccinctRoles(keyIDs: ids, threshold: threshold, bitLength: bitLength, namePrefix: namePrefix)
        d.succinctRoles = bins
        parent.signed.delegations = d
        roles[ByteKey(delegator)] = parent
        markDirty(delegator)
        let header = Header(version: 1, expiresAt: clock() + expiries.delegated)
        for n in 0..<bins.binCount {
            let name = bins.binName(n)
            roles[ByteKey(name)] = Metadata(signed: Targets(header: header))
            markDirty(name)
        }
    }

    /// Moves every target of delegated role `name` into `2^bitLength` succinct hash bins (TAP 15) named
    /// `name-HEX`, delegated by `name` with its own keys and threshold, so that a later change re-signs
    /// one bin instead of the whole list. `name` keeps its place (and its signers) in the delegation
    /// tree; clients find each target through the bins as the TUF workflow prescribes.
    /// - Throws: `RepositoryError.invalidRequest` when `name` is a top-level role or already delegates.
    public func splitIntoHashBins(role name: String, bitLength: Int) throws(RepositoryError) {
        guard !Root.topLevelRoles.contains(name) else { throw RepositoryError.invalidRequest("\(name) is a top-level role; only delegated roles are split into hash bins") }
        guard (1...16).contains(bitLength) else { throw RepositoryError.invalidRequest("bit length must be 1 to 16 (up to 65 536 bins)") }
        var parent = try role(name)
        guard parent.signed.delegations == nil else { throw RepositoryError.invalidRequest("\(name) already delegates") }
        let (keyMap, roleKeys) = try keysAndRole(for: name)
        var keys: [(String, Key)] = []
        for id in roleKeys.keyIDs {
            guard let k = keyMap[ByteKey(id)] else { throw RepositoryError.invalidRequest("key \(id) of \(name) is not listed by its delegator") }
            keys.append((id, k))
        }
        let bins = SuccinctRoles(keyIDs: roleKeys.keyIDs, threshold: roleKeys.threshold, bitLength: bitLength, namePrefix: name)
        for n in 0..<bins.binCount where roles[ByteKey(bins.binName(n))] != nil {
            throw RepositoryError.invalidRequest("role \(bins.binName(n)) already exists")
        }
        let header = Header(version: 1, expiresAt: clock() + lifetime(of: name))
        var binned: [String: [TargetFile]] = [:]
        for path in parent.signed.targetPaths {
            guard let t = try? parent.signed.target(path) else { throw RepositoryError.invalidRequest("target \(path) of \(name) cannot be read") }
            binned[bins.roleName(for: path), default: []].append(t)
        }
        for n in 0..<bins.binCount {
            let binName = bins.binName(n)
            roles[ByteKey(binName)] = Metadata(signed: Targets(header: header, targets: binned[binName] ?? []))
            markDirty(binName)
        }
        parent.signed = Targets(header: parent.signed.header, targets: [], delegations: Delegations(keys: keys, roles: nil, succinctRoles: bins),
                                unknown: parent.signed.unknown)
        roles[ByteKey(name)] = parent
        markDirty(name)
    }

    /// The role that holds (or would hold) target `path` of role `name`: the hash bin for it when `name`
    /// is split into bins, else `name` itself.
    public func holder(of path: String, in name: String) -> String {
        roles[ByteKey(name)]?.signed.delegations?.succinctRoles?.roleName(for: path) ?? name
    }

    /// The bin role responsible for `path` under `delegator`'s hash bins, if it uses them.
    public func hashBin(for path: String, delegator: String = "targets") -> String? {
        roles[ByteKey(delegator)]?.signed.delegations?.succinctRoles?.roleName(for: path)
    }

    /// Changes the signer keys or threshold of delegated role `name` (add, remove or revoke signers).
    /// A key already listed, in whatever spelling, is not added twice.
    /// - Throws: `RepositoryError`.
    public func updateDelegation(from delegator: String, name: String, addKeys: [PublicKey] = [], removeKeyIDs: [String] = [],
                                 threshold: Int? = nil) throws(RepositoryError) {
        var parent = try role(delegator)
        guard var d = parent.signed.delegations, var list = d.roles, let i = list.firstIndex(where: { ByteKey($0.name) == ByteKey(name) }) else {
            throw RepositoryError.unknownRole(name)
        }
        let added = try self.addKeys(addKeys, to: &d)
        var ids = list[i].keyIDs
        for id in added where !ids.contains(id) { ids.append(id) }
        for id in removeKeyIDs {
            guard let j = ids.firstIndex(where: { $0 == id || ($0.hasPrefix(id) && id.count >= 8) }) else {
                throw RepositoryError.invalidRequest("key \(id) is not a signer of \(name)")
            }
            ids.remove(at: j)
        }
        let t = threshold ?? list[i].threshold
        guard t >= 1, t <= ids.count else { throw RepositoryError.invalidRequest("threshold \(t) must be between 1 and the \(ids.count) signer keys of \(name)") }
        list[i].keyIDs = ids
        list[i].threshold = t
        d.roles = list
        // Drop keys no role uses any more.
        let used = Set(list.flatMap(\.keyIDs))
        d.keys.removeAll { !used.contains($0.0) }
        parent.signed.delegations = d
        roles[ByteKey(delegator)] = parent
        markDirty(delegator)
        // The delegate must be signed again by its new set of keys (or wait for them in staging).
        if roles[ByteKey(name)] != nil { markDirty(name) }
        // A role split into hash bins hands the same signers and threshold on to its bins.
        if var split = roles[ByteKey(name)], var sd = split.signed.delegations, var bins = sd.succinctRoles {
            sd.keys = ids.compactMap { id in d.keys.first { $0.0 == id } }
            bins.keyIDs = ids
            bins.threshold = t
            sd.succinctRoles = bins
            split.signed.delegations = sd
            roles[ByteKey(name)] = split
            for n in 0..<bins.binCount where roles[ByteKey(bins.binName(n))] != nil { markDirty(bins.binName(n)) }
        }
    }

    /// The delegated role `name` as its delegator lists it (searching every targets role).
    public func delegatedRole(_ name: String) -> DelegatedRole? {
        for parent in roles.values {
            if let r = parent.signed.delegations?.roles?.first(where: { ByteKey($0.name) == ByteKey(name) }) { return r }
        }
        return nil
    }

    /// The key IDs that sign role `name`.
    /// - Throws: `RepositoryError.unknownRole`.
    public func keyIDs(for name: String) throws(RepositoryError) -> [String] { try keysAndRole(for: name).1.keyIDs }

    /// The number of signatures role `name` needs.
    public func threshold(for name: String) throws(RepositoryError) -> Int { try keysAndRole(for: name).1.threshold }

    /// When role `name` expires (seconds since the epoch), if it exists.
    public func expiry(of name: String) -> (at: Int64, text: String)? {
        switch name {
        case "root": return (root.signed.header.expiresAt, root.signed.header.expires)
        case "snapshot": return snapshot.map { ($0.signed.header.expiresAt, $0.signed.header.expires) }
        case "timestamp": return timestamp.map { ($0.signed.header.expiresAt, $0.signed.header.expires) }
        default: return roles[ByteKey(name)].map { ($0.signed.header.expiresAt, $0.signed.header.expires) }
        }
    }

    /// Records a human name for a signer key of delegated role `role` (nil removes it). Stored as an
    /// extra field of the delegated role, which TUF clients ignore and signatures cover.
    /// - Throws: `RepositoryError.unknownRole`.
    public func setSignerName(_ signer: String?, keyID: String, role name: String, from delegator: String = "targets") throws(RepositoryError) {
        try modifyRole(delegator) { (parent) throws(RepositoryError) in
            guard var d = parent.signed.delegations, var list = d.roles, let i = list.firstIndex(where: { ByteKey($0.name) == ByteKey(name) }) else {
                throw RepositoryError.unknownRole(name)
            }
            var names = list[i].unknown[RepositoryEditor.signerNamesField]?.objectValue ?? JSONObject()
            for m in names where m.value.stringValue == keyID { names[m.key] = nil }
            if let signer { names[signer] = .string(keyID) }
            list[i].unknown[RepositoryEditor.signerNamesField] = .object(names)
            d.roles = list
            parent.signed.delegations = d
        }
        markDirty(delegator)
    }

    /// The key ID recorded for signer `signer` of delegated role `role`.
    public func signerKeyID(named signer: String, role name: String) -> String? {
        delegatedRole(name)?.unknown[RepositoryEditor.signerNamesField]?[signer]?.stringValue
    }

    /// Adds keys to a delegations object, one entry per key material: a key already present under any
    /// spelling keeps its existing key ID.
    private func addKeys(_ keys: [PublicKey], to d: inout Delegations) throws(RepositoryError) -> [String] {
        var ids: [String] = []
        for k in keys {
            let (id, key) = try RepositoryEditor.keyEntry(k)
            if let existing = d.keys.first(where: { $0.1.sameKey(as: key) }) {
                if !ids.contains(existing.0) { ids.append(existing.0) }
                continue
            }
            d.keys.append((id, key))
            ids.append(id)
        }
        return ids
    }

    // MARK: Root changes

    /// Replaces the keys (and optionally threshold) of a top-level role through a new root version.
    /// The new root must be signed by a threshold of the old root keys and of the new ones.
    /// - Throws: `RepositoryError.invalidRequest`.
    public func rotate(role name: String, to keys: [PublicKey], threshold: Int) throws(RepositoryError) {
        guard Root.topLevelRoles.contains(name) else { throw RepositoryError.invalidRequest("\(name) is not a top-level role (root, targets, snapshot, timestamp)") }
        var ids: [String] = []
        var newKeys: [(String, Key)] = []
        for k in keys {
            let (id, key) = try RepositoryEditor.keyEntry(k)
            if let existing = (root.signed.keys + newKeys).first(where: { $0.1.sameKey(as: key) }) {
                if !ids.contains(existing.0) { ids.append(existing.0) }
                continue
            }
            newKeys.append((id, key))
            ids.append(id)
        }
        guard threshold >= 1, threshold <= ids.count else {
            throw RepositoryError.invalidRequest("threshold \(threshold) must be between 1 and the \(ids.count) distinct keys given")
        }
        beginRootChange()
        root.signed.keys.append(contentsOf: newKeys)
        root.signed.roles[name] = RoleKeys(keyIDs: ids, threshold: threshold)
        let used = Set(root.signed.roles.values.flatMap(\.keyIDs))
        root.signed.keys.removeAll { !used.contains($0.0) }
        // New top-level keys for targets mean targets must be re-signed; snapshot/timestamp always are.
        if name == "targets" { markDirty("targets") }
    }

    /// Gives `role` a new version and expiry (`root` through a new root version).
    /// - Throws: `RepositoryError.unknownRole`.
    public func renew(role name: String) throws(RepositoryError) {
        switch name {
        case "root": beginRootChange()
        case "snapshot", "timestamp": break   // always re-signed on publish
        default:
            var r = try role(name)
            r.signed.header.setExpiry(clock() + lifetime(of: name))
            roles[ByteKey(name)] = r
            markDirty(name)
        }
    }

    /// Records in root how the trust data is stored (`storageField`); a new root version when the root
    /// was published already.
    public func recordStorage(_ value: String) {
        beginRootChange()
        root.signed.unknown[RepositoryEditor.storageField] = .string(value)
    }

    // MARK: Lifetimes

    /// Shortest and longest lifetime a role may be given.
    public static let lifetimeBounds: ClosedRange<Int64> = 3600...(10 * 366 * 86400)

    /// The lifetime `role` is signed with: the one recorded in the role (`lifetimeField`), else the
    /// default of `expiries`.
    public func lifetime(of name: String) -> Int64 {
        let recorded: JSONValue?
        switch name {
        case "root": recorded = root.signed.unknown[RepositoryEditor.lifetimeField]
        case "snapshot": recorded = pendingOnlineLifetimes["snapshot"].map { .integer($0) } ?? snapshot?.signed.unknown[RepositoryEditor.lifetimeField]
        case "timestamp": recorded = pendingOnlineLifetimes["timestamp"].map { .integer($0) } ?? timestamp?.signed.unknown[RepositoryEditor.lifetimeField]
        default: recorded = roles[ByteKey(name)]?.signed.unknown[RepositoryEditor.lifetimeField]
        }
        if case .integer(let v)? = recorded, RepositoryEditor.lifetimeBounds.contains(v) { return v }
        return expiries.lifetime(of: name)
    }

    /// Whether `role`'s lifetime is recorded in it (rather than the default).
    public func lifetimeIsRecorded(_ name: String) -> Bool {
        switch name {
        case "root": return root.signed.unknown[RepositoryEditor.lifetimeField] != nil
        case "snapshot": return pendingOnlineLifetimes["snapshot"] != nil || snapshot?.signed.unknown[RepositoryEditor.lifetimeField] != nil
        case "timestamp": return pendingOnlineLifetimes["timestamp"] != nil || timestamp?.signed.unknown[RepositoryEditor.lifetimeField] != nil
        default: return roles[ByteKey(name)]?.signed.unknown[RepositoryEditor.lifetimeField] != nil
        }
    }

    /// Records `seconds` as the lifetime of `role` and re-signs it with it (root through a new version).
    /// - Throws: `RepositoryError.invalidRequest` outside `lifetimeBounds`, `.unknownRole`.
    public func setLifetime(_ seconds: Int64, of name: String) throws(RepositoryError) {
        guard RepositoryEditor.lifetimeBounds.contains(seconds) else {
            throw RepositoryError.invalidRequest("a lifetime must be between 1 hour and 10 years (\(name): \(seconds) seconds)")
        }
        switch name {
        case "root":
            beginRootChange()
            root.signed.unknown[RepositoryEditor.lifetimeField] = .integer(seconds)
            root.signed.header.setExpiry(clock() + seconds)
        case "snapshot", "timestamp":
            pendingOnlineLifetimes[name] = seconds   // applied when they are re-signed, on every publish
        default:
            var r = try role(name)
            r.signed.unknown[RepositoryEditor.lifetimeField] = .integer(seconds)
            r.signed.header.setExpiry(clock() + seconds)
            roles[ByteKey(name)] = r
            markDirty(name)
        }
    }

    /// The roles this editor's pending change re-signs (root when it changes, and targets roles);
    /// snapshot and timestamp are re-signed by every publish and are not listed.
    public var changedRoles: Set<String> {
        var out = Set(dirtyRoles)
        if rootChanged { out.insert("root") }
        return out
    }

    /// Roles whose expiry is within `window` seconds of now.
    public func expiringRoles(within window: Int64) -> [String] {
        let limit = clock() + window
        var out: [String] = []
        if root.signed.header.expiresAt <= limit { out.append("root") }
        if let s = snapshot, s.signed.header.expiresAt <= limit { out.append("snapshot") }
        if let t = timestamp, t.signed.header.expiresAt <= limit { out.append("timestamp") }
        for (name, r) in roles.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) where r.signed.header.expiresAt <= limit {
            out.append(name.string)
        }
        return out
    }

    // MARK: Publishing

    /// Signs every changed role with the matching keys among `signers`, re-signs snapshot and timestamp,
    /// checks the result, and returns the new files (the editor's state then is the published state). If
    /// a threshold is not met, returns the signed roles as a staged change instead (nothing is published).
    /// - Throws: `RepositoryError`; `.thresholdNotMet` when a new repository lacks signatures.
    @discardableResult
    public func publish(signers: [PrivateKey]) throws(RepositoryError) -> PublishOutcome {
        let now = clock()
        let signerMap = try keyMap(signers)
        var shortfalls: [SignatureShortfall] = []
        var files: [(String, [UInt8])] = []

        if rootChanged {
            if let identity, root.signed.unknown[RepositoryEditor.identityField]?.stringValue != identity {
                root.signed.unknown[RepositoryEditor.identityField] = .string(identity)
            }
            root.signatures = []
            var allowed = Set(root.signed.roles["root"]?.keyIDs ?? [])
            if let old = publishedRoot { allowed.formUnion(old.signed.roles["root"]?.keyIDs ?? []) }
            for id in allowed.sorted() { if let k = signerMap[id] { try sign(&root, k, id) } }
            try checkRoot(&shortfalls)
            files.append(("\(root.signed.header.version).root.json", try encode(root)))
        }
        for name in dirtyRoles {
            guard var r = roles[ByteKey(name)] else { continue }
            if versionPublished(name) { r.signed.header.version += 1 }
            // Every re-signed role gets a full lifetime again, so signing or renewing keeps it alive.
            r.signed.header.setExpiry(now + lifetime(of: name))
            let (keys, role) = try keysAndRole(for: name)
            r.signatures = []
            for id in role.keyIDs { if let k = signerMap[id] { try sign(&r, k, id) } }
            let have = countValidSignatures(message: try canonical(r), signatures: r.signatures, role: role, keys: keys)
            if have < role.threshold {
                shortfalls.append(SignatureShortfall(role: name, have: have, need: role.threshold,
                                                     missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
            }
            roles[ByteKey(name)] = r
            files.append(("\(r.signed.header.version).\(PercentEncoding.encode(name)).json", try encode(r)))
        }
        // Publishing also needs the snapshot and timestamp keys: without them, a change signed here waits
        // for whoever holds them (a signer's machine usually has none).
        if base != nil {
            for online in ["snapshot", "timestamp"] {
                guard let role = root.signed.roles[online] else { continue }
                let available = role.keyIDs.filter { signerMap[$0] != nil }.count
                if available < role.threshold {
                    shortfalls.append(SignatureShortfall(role: online, have: available, need: role.threshold,
                                                         missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
                }
            }
        }
        if !shortfalls.isEmpty {
            // Nothing signed here to wait with (a renewal of snapshot and timestamp alone): an error.
            guard let base, !files.isEmpty else { throw RepositoryError.thresholdNotMet(shortfalls) }
            return .staged(StagedChange(base: base, files: files, targetContents: pendingTargetFiles, shortfalls: shortfalls))
        }
        return .published(try finishPublish(files: files, signerMap: signerMap, now: now))
    }

    private func finishPublish(files: [(String, [UInt8])], signerMap: [String: PrivateKey], now: Int64) throws(RepositoryError) -> PublishedChange {
        // Snapshot: every targets role with version, length and SHA-256 of the bytes being published.
        var snap = snapshot ?? Metadata(signed: Snapshot(header: Header(version: 1, expiresAt: now + lifetime(of: "snapshot")), meta: []))
        var written: [String: [UInt8]] = [:]
        for (name, bytes) in files { written[name] = bytes }
        for name in dirtyRoles {
            guard let r = roles[ByteKey(name)] else { continue }
            let file = "\(r.signed.header.version).\(PercentEncoding.encode(name)).json"
            guard let bytes = written[file] else { continue }
            snap.signed.setMeta(MetaFile(version: r.signed.header.version, length: Int64(bytes.count),
                                         hashes: [("sha256", try sha256(bytes))]), forRole: name)
        }
        if snapshot != nil { snap.signed.header.version += 1 }
        if let l = pendingOnlineLifetimes["snapshot"] { snap.signed.unknown[RepositoryEditor.lifetimeField] = .integer(l) }
        snap.signed.header.setExpiry(now + lifetime(of: "snapshot"))
        if let identity { snap.signed.unknown[RepositoryEditor.identityField] = .string(identity) }
        let (snapKeys, snapRole) = try keysAndRole(for: "snapshot")
        snap.signatures = []
        for id in snapRole.keyIDs { if let k = signerMap[id] { try sign(&snap, k, id) } }
        let snapHave = countValidSignatures(message: try canonical(snap), signatures: snap.signatures, role: snapRole, keys: snapKeys)
        let snapBytes = try encode(snap)

        var ts = timestamp ?? Metadata(signed: Timestamp(header: Header(version: 1, expiresAt: now + lifetime(of: "timestamp")), snapshotMeta: MetaFile(version: 1)))
        if timestamp != nil { ts.signed.header.version += 1 }
        if let l = pendingOnlineLifetimes["timestamp"] { ts.signed.unknown[RepositoryEditor.lifetimeField] = .integer(l) }
        ts.signed.header.setExpiry(now + lifetime(of: "timestamp"))
        if let identity { ts.signed.unknown[RepositoryEditor.identityField] = .string(identity) }
        ts.signed.snapshotMeta = MetaFile(version: snap.signed.header.version, length: Int64(snapBytes.count), hashes: [("sha256", try sha256(snapBytes))])
        let (tsKeys, tsRole) = try keysAndRole(for: "timestamp")
        ts.signatures = []
        for id in tsRole.keyIDs { if let k = signerMap[id] { try sign(&ts, k, id) } }
        let tsHave = countValidSignatures(message: try canonical(ts), signatures: ts.signatures, role: tsRole, keys: tsKeys)
        var missing: [SignatureShortfall] = []
        if snapHave < snapRole.threshold { missing.append(SignatureShortfall(role: "snapshot", have: snapHave, need: snapRole.threshold, missingKeyIDs: snapRole.keyIDs.filter { signerMap[$0] == nil })) }
        if tsHave < tsRole.threshold { missing.append(SignatureShortfall(role: "timestamp", have: tsHave, need: tsRole.threshold, missingKeyIDs: tsRole.keyIDs.filter { signerMap[$0] == nil })) }
        guard missing.isEmpty else { throw RepositoryError.thresholdNotMet(missing) }
        let roleHeaders = dirtyRoles.compactMap { name in roles[ByteKey(name)].map { (name, $0.signed.header) } }
        for r in [("root", root.signed.header)] + roleHeaders + [("snapshot", snap.signed.header), ("timestamp", ts.signed.header)] where r.1.isExpired(at: now) {
            throw RepositoryError.invalidRequest("\(r.0) would be published already expired (\(r.1.expires))")
        }
        let tsBytes = try encode(ts)

        // The new state becomes the editor's published state.
        for (name, bytes) in files where name.hasSuffix(".root.json") { rootChain.append(bytes) }
        for name in dirtyRoles {
            guard let r = roles[ByteKey(name)] else { continue }
            roleBytes[ByteKey(name)] = written["\(r.signed.header.version).\(PercentEncoding.encode(name)).json"]
        }
        snapshot = snap
        snapshotBytes = snapBytes
        timestamp = ts
        timestampBytes = tsBytes
        publishedRoot = root
        rootChanged = false
        dirtyRoles = []
        pendingOnlineLifetimes = [:]
        let targets = pendingTargetFiles
        pendingTargetFiles = []
        if let last = rootChain.last {
            base = try RepositoryEditor.makeBase(rootVersion: root.signed.header.version, rootBytes: last, roles: roles, roleBytes: roleBytes, source: nil)
        }
        // Order of visibility: root versions, targets roles, snapshot, timestamp last.
        let ordered = files.filter { $0.0.hasSuffix(".root.json") } + files.filter { !$0.0.hasSuffix(".root.json") }
        return PublishedChange(metadata: ordered + [("\(snap.signed.header.version).snapshot.json", snapBytes), ("timestamp.json", tsBytes)],
                               targetContents: targets)
    }

    private func sha256(_ bytes: [UInt8]) throws(RepositoryError) -> String {
        do { return try SHA256.hash(bytes).hex } catch { throw RepositoryError.invalidRequest("hashing failed: \(error)") }
    }

    private func versionPublished(_ name: String) -> Bool {
        guard let meta = snapshot?.signed.meta(forRole: name), let r = roles[ByteKey(name)] else { return false }
        return meta.version >= r.signed.header.version
    }

    private func checkRoot(_ shortfalls: inout [SignatureShortfall]) throws(RepositoryError) {
        for s in try RepositoryEditor.rootShortfalls(root, previous: publishedRoot) { shortfalls.append(s) }
    }

    /// What `root` still lacks: a threshold of its own root keys and, for a new version, of the
    /// previous version's (TUF 1.0.34 §5.3.4).
    static func rootShortfalls(_ root: Metadata<Root>, previous: Metadata<Root>?) throws(RepositoryError) -> [SignatureShortfall] {
        var out: [SignatureShortfall] = []
        let message: [UInt8]
        do { message = try root.canonicalSigned() } catch { throw RepositoryError.tuf(error) }
        guard let newRole = root.signed.roles["root"] else { return out }
        let signedNew = validSigners(message: message, signatures: root.signatures, role: newRole, keys: root.signed.keyMap)
        if signedNew.count < newRole.threshold {
            out.append(SignatureShortfall(role: "root (version \(root.signed.header.version) keys)", have: signedNew.count, need: newRole.threshold,
                                          missingKeyIDs: newRole.keyIDs.filter { !signedNew.contains($0) }))
        }
        if let old = previous, old.signed.header.version < root.signed.header.version, let oldRole = old.signed.roles["root"] {
            let signedOld = validSigners(message: message, signatures: root.signatures, role: oldRole, keys: old.signed.keyMap)
            if signedOld.count < oldRole.threshold {
                out.append(SignatureShortfall(role: "root (version \(old.signed.header.version) keys)", have: signedOld.count, need: oldRole.threshold,
                                              missingKeyIDs: oldRole.keyIDs.filter { !signedOld.contains($0) }))
            }
        }
        return out
    }

    /// Keys and role definition that verify role `name`.
    func keysAndRole(for name: String) throws(RepositoryError) -> ([ByteKey: Key], RoleKeys) {
        guard let found = RepositoryEditor.keysAndRole(for: name, root: root, roles: roles) else { throw RepositoryError.unknownRole(name) }
        return found
    }

    /// Keys and role definition that verify role `name` in a given state: the top-level roles from root; a
    /// delegated role from the first role that delegates to it in a breadth-first walk from `targets`
    /// through the delegations in their listed order (hash bins in order) — the walk that verifies a
    /// whole repository (`Updater.verifiedRepository`), so that what is signed here verifies there. A
    /// role that no role reachable from `targets` delegates to has no keys, whatever other roles of
    /// `roles` say: a role cannot vouch for itself, nor can one that no client would ever reach.
    /// A role that two reachable roles delegate to with different keys or thresholds has no keys either:
    /// a client searching depth-first for a target may reach it through the other delegator, and no
    /// signature can satisfy both.
    static func keysAndRole(for name: String, root: Metadata<Root>, roles: [ByteKey: Metadata<Targets>]) -> ([ByteKey: Key], RoleKeys)? {
        if Root.topLevelRoles.contains(name) { return root.signed.roles[name].map { (root.signed.keyMap, $0) } }
        var visited: Set<ByteKey> = []
        var queue = ["targets"]
        var head = 0
        var found: ([ByteKey: Key], RoleKeys)?
        while head < queue.count {
            let current = queue[head]
            head += 1
            guard visited.insert(ByteKey(current)).inserted, let d = roles[ByteKey(current)]?.signed.delegations else { continue }
            if let r = d.roleKeys(for: name) {
                if let (keys, first) = found {
                    let same = first.threshold == r.threshold && Set(first.keyIDs.compactMap { keys[ByteKey($0)]?.identity })
                        == Set(r.keyIDs.compactMap { d.keyMap[ByteKey($0)]?.identity })
                    if !same { return nil }
                } else {
                    found = (d.keyMap, r)
                }
            }
            if let listed = d.roles {
                queue.append(contentsOf: listed.map(\.name))
            } else if let bins = d.succinctRoles {
                queue.append(contentsOf: roles.keys.map(\.string).filter { bins.isDelegatedRole($0) }.sorted())
            }
        }
        return found
    }

    private func keyMap(_ signers: [PrivateKey]) throws(RepositoryError) -> [String: PrivateKey] {
        var m: [String: PrivateKey] = [:]
        for k in signers { m[try RepositoryEditor.keyEntry(k.publicKey).0] = k }
        // A key listed under another spelling (so another key ID) signs under the listed ID.
        for (id, key) in allListedKeys() where m[id] == nil {
            if let signer = signers.first(where: { (try? $0.publicKey.identity()) == key.identity }) { m[id] = signer }
        }
        return m
    }

    private func allListedKeys() -> [(String, Key)] {
        var out = root.signed.keys
        if let old = publishedRoot { out += old.signed.keys }
        for r in roles.values { out += r.signed.delegations?.keys ?? [] }
        return out
    }

    private func sign<R>(_ m: inout Metadata<R>, _ key: PrivateKey, _ id: String) throws(RepositoryError) {
        do { try m.sign(with: key, keyID: id) } catch { throw RepositoryError.invalidRequest("signing \(R.typeName) with \(id.prefix(12)) failed: \(error)") }
    }

    private func canonical<R>(_ m: Metadata<R>) throws(RepositoryError) -> [UInt8] {
        do { return try m.canonicalSigned() } catch { throw RepositoryError.tuf(error) }
    }

    private func encode<R>(_ m: Metadata<R>) throws(RepositoryError) -> [UInt8] {
        do { return try m.encoded() } catch { throw RepositoryError.tuf(error) }
    }

    // MARK: Staged changes

    /// A staged change checked against the current verified state.
    struct CheckedChange {
        var root: Metadata<Root>?
        var roles: [(name: String, metadata: Metadata<Targets>)]
        var mergedRoles: [ByteKey: Metadata<Targets>]
        var targetContents: [(path: String, bytes: [UInt8])]
        var mergedRoot: Metadata<Root> { root ?? current }
        let current: Metadata<Root>
    }

    /// Checks a staged change (from an untrusted place) against this editor's verified state: it must
    /// be made on exactly this state (same root and targets roles), its files must be well-formed
    /// successors of the current roles (root version N+1, role versions +1, new roles delegated by the
    /// change itself), unexpired, and its target files must match its targets. Signatures that do not
    /// verify for the role are dropped.
    func check(_ change: StagedChange) throws(RepositoryError) -> CheckedChange {
        guard let base, !hasPendingChanges else { throw RepositoryError.invalidStagedChange("there is no published state to apply it to") }
        // The roles the change re-signs must be exactly as it found them; other roles (and snapshot and
        // timestamp) may have moved on since, as a change is completed on whatever is current then.
        let contained = RepositoryEditor.roleNames(in: change)
        let moved = change.base.differences(from: base, only: contained)
        guard moved.isEmpty else { throw RepositoryError.stagedBaseMoved(moved.joined(separator: "; ")) }
        let now = clock()
        var stagedRoot: Metadata<Root>?
        var stagedRoles: [(String, Metadata<Targets>)] = []
        var names: Set<ByteKey> = []
        for (name, bytes) in change.files {
            guard name.hasSuffix(".json"), let dot = name.firstIndex(of: "."), let version = Int64(name[..<dot]), version >= 1 else {
                throw RepositoryError.invalidStagedChange("\"\(name)\" is not a versioned metadata file name")
            }
            let encoded = String(name[name.index(after: dot)...].dropLast(5))
            do {
                if encoded == "root" {
                    guard stagedRoot == nil else { throw RepositoryError.invalidStagedChange("more than one root version") }
                    guard version == root.signed.header.version + 1 else {
                        throw RepositoryError.invalidStagedChange("\(name): the next root version is \(root.signed.header.version + 1)")
                    }
                    let r = try Metadata<Root>(bytes: bytes, file: name)
                    guard r.signed.header.version == version else { throw RepositoryError.invalidStagedChange("\(name) holds version \(r.signed.header.version)") }
                    guard r.signed.consistentSnapshot else { throw RepositoryError.invalidStagedChange("\(name) turns consistent snapshots off") }
                    stagedRoot = r
                    continue
                }
                guard let role = PercentEncoding.decode(encoded), !role.isEmpty, PercentEncoding.encode(role) == encoded,
                      !["root", "snapshot", "timestamp"].contains(role), names.insert(ByteKey(role)).inserted else {
                    throw RepositoryError.invalidStagedChange("\"\(name)\" does not name a targets role once")
                }
                let expected = roles[ByteKey(role)].map { $0.signed.header.version + 1 } ?? 1
                guard version == expected else { throw RepositoryError.invalidStagedChange("\(name): the next version of \(role) is \(expected)") }
                let m = try Metadata<Targets>(bytes: bytes, file: name, lazy: false)
                guard m.signed.header.version == version else { throw RepositoryError.invalidStagedChange("\(name) holds version \(m.signed.header.version)") }
                stagedRoles.append((role, m))
            } catch let e as RepositoryError { throw e } catch let e as TUFError {
                throw RepositoryError.invalidStagedChange("\(name): \(e)")
            } catch { throw RepositoryError.invalidStagedChange("\(name): \(error)") }
        }
        guard stagedRoot != nil || !stagedRoles.isEmpty else { throw RepositoryError.invalidStagedChange("it holds no signed metadata") }
        try checkKeyBindings(stagedRoot: stagedRoot, stagedRoles: stagedRoles)
        var merged = roles
        for (n, m) in stagedRoles { merged[ByteKey(n)] = m }
        let mergedRoot = stagedRoot ?? root
        if let r = stagedRoot {
            guard !r.signed.header.isExpired(at: now) else { throw RepositoryError.invalidStagedChange("root version \(r.signed.header.version) expired at \(r.signed.header.expires)") }
        }
        var checked = CheckedChange(root: nil, roles: [], mergedRoles: merged, targetContents: [], current: root)
        // Drop signatures that do not verify for the role they claim to sign.
        if var r = stagedRoot {
            let message: [UInt8]
            do { message = try r.canonicalSigned() } catch { throw RepositoryError.tuf(error) }
            var valid = Set(r.signed.roles["root"].map { validSigners(message: message, signatures: r.signatures, role: $0, keys: r.signed.keyMap) } ?? [])
            if let oldRole = root.signed.roles["root"] {
                valid.formUnion(validSigners(message: message, signatures: r.signatures, role: oldRole, keys: root.signed.keyMap))
            }
            r.signatures.removeAll { !valid.contains($0.keyID) }
            checked.root = r
        }
        for (name, var m) in stagedRoles {
            guard let (keys, role) = RepositoryEditor.keysAndRole(for: name, root: mergedRoot, roles: merged) else {
                throw RepositoryError.invalidStagedChange("no role delegates to \"\(name)\"")
            }
            guard !m.signed.header.isExpired(at: now) else { throw RepositoryError.invalidStagedChange("\(name) version \(m.signed.header.version) expired at \(m.signed.header.expires)") }
            let message: [UInt8]
            do { message = try m.canonicalSigned() } catch { throw RepositoryError.tuf(error) }
            let valid = Set(validSigners(message: message, signatures: m.signatures, role: role, keys: keys))
            m.signatures.removeAll { !valid.contains($0.keyID) }
            checked.roles.append((name, m))
            checked.mergedRoles[ByteKey(name)] = m
        }
        // Target files must be listed, with matching length and hashes, by a role of the change.
        for (path, bytes) in change.targetContents {
            guard SafeName.isRelativePath(path) else { throw RepositoryError.invalidStagedChange("target file name \"\(path)\" is not a safe relative path") }
            let listed = checked.roles.contains { (_, m) in
                guard let t = try? m.signed.target(path) else { return false }
                return (try? t.verify(bytes)) != nil
            }
            guard listed else { throw RepositoryError.invalidStagedChange("target file \"\(path)\" is not a target of the change (or its content differs)") }
            checked.targetContents.append((path, bytes))
        }
        return checked
    }

    /// Key IDs of a staged change must name the keys they name in the published state: a reviewer (and
    /// every listing) tells keys apart by ID, so an ID re-bound to other key material would show a
    /// stranger's key, and its signatures, under a trusted signer's name. A key the published state
    /// does not list must carry its own ID (the SHA-256 of its canonical form, TUF 1.0.34 §4.2), so
    /// that no new key can take an ID chosen to look like another's.
    func checkKeyBindings(stagedRoot: Metadata<Root>?, stagedRoles: [(String, Metadata<Targets>)]) throws(RepositoryError) {
        var published: [ByteKey: [UInt8]] = [:]
        for (id, key) in root.signed.keyMap { published[id] = key.identity }
        for m in roles.values {
            for (id, key) in m.signed.delegations?.keyMap ?? [:] where published[id] == nil { published[id] = key.identity }
        }
        var staged: [ByteKey: [UInt8]] = [:]
        func check(_ keys: [ByteKey: Key], in file: String) throws(RepositoryError) {
            for (id, key) in keys.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
                if let bound = published[id] ?? staged[id] {
                    guard bound == key.identity else {
                        throw RepositoryError.invalidStagedChange("\(file): key ID \(id.string.prefix(16)) names other key material than the key the published trust data lists under that ID")
                    }
                } else {
                    guard (try? key.keyID()) == id.string else {
                        throw RepositoryError.invalidStagedChange("\(file): key ID \(id.string.prefix(16)) of a new key is not the SHA-256 of that key")
                    }
                }
                staged[id] = key.identity
            }
        }
        if let r = stagedRoot { try check(r.signed.keyMap, in: "root version \(r.signed.header.version)") }
        for (name, m) in stagedRoles { try check(m.signed.delegations?.keyMap ?? [:], in: "\(name) version \(m.signed.header.version)") }
    }

    /// The roles a staged change re-signs ("root" for a root version), read from its file names (not
    /// trusted: `check` verifies the files themselves).
    public static func roleNames(in change: StagedChange) -> Set<String> {
        roleNames(inFiles: change.files.map(\.name))
    }

    /// The roles named by staged file names (`N.root.json`, `V.<percent-encoded role>.json`).
    public static func roleNames(inFiles names: [String]) -> Set<String> {
        var out: Set<String> = []
        for name in names where name.hasSuffix(".json") {
            guard let dot = name.firstIndex(of: "."), Int64(name[..<dot]) != nil else { continue }
            let encoded = String(name[name.index(after: dot)...].dropLast(5))
            if let role = PercentEncoding.decode(encoded), !role.isEmpty { out.insert(role) }
        }
        return out
    }

    /// The keys that may sign `change` here, and those needed to publish it (snapshot, timestamp).
    /// - Throws: the errors of checking the change.
    public func signingKeyIDs(for change: StagedChange) throws(RepositoryError) -> SigningKeyIDs {
        let c = try check(change)
        var ids = SigningKeyIDs()
        if let r = c.root {
            ids.root.formUnion(r.signed.roles["root"]?.keyIDs ?? [])
            ids.root.formUnion(root.signed.roles["root"]?.keyIDs ?? [])
        }
        ids.all = ids.root
        for (name, _) in c.roles {
            if let (_, role) = RepositoryEditor.keysAndRole(for: name, root: c.mergedRoot, roles: c.mergedRoles) { ids.all.formUnion(role.keyIDs) }
        }
        for online in ["snapshot", "timestamp"] { ids.all.formUnion(c.mergedRoot.signed.roles[online]?.keyIDs ?? []) }
        return ids
    }

    /// Keys whose holders may drop a waiting change: root and targets keys, and the signers of every
    /// delegated role (holding only snapshot or timestamp keys is not enough).
    public func keyIDsThatMayDiscard() -> Set<String> {
        var ids = Set(root.signed.roles["root"]?.keyIDs ?? [])
        ids.formUnion(root.signed.roles["targets"]?.keyIDs ?? [])
        for parent in roles.values {
            for r in parent.signed.delegations?.roles ?? [] { ids.formUnion(r.keyIDs) }
            ids.formUnion(parent.signed.delegations?.succinctRoles?.keyIDs ?? [])
        }
        return ids
    }

    /// Adds signatures from `signers` to a staged change after checking it (see `review(_:)`), and
    /// publishes it when every threshold is met and the snapshot and timestamp keys are among `signers`;
    /// otherwise returns it with the new signatures, staged again on the same base.
    /// - Throws: `RepositoryError.stagedBaseMoved`, `.invalidStagedChange`, others.
    @discardableResult
    public func signStaged(_ change: StagedChange, signers: [PrivateKey]) throws(RepositoryError) -> PublishOutcome {
        let c = try check(change)
        guard let base else { throw RepositoryError.invalidStagedChange("there is no published state to apply it to") }
        let signerMap = try keyMap(signers)
        var files: [(String, [UInt8])] = []
        var shortfalls: [SignatureShortfall] = []
        if var r = c.root {
            var allowed = Set(r.signed.roles["root"]?.keyIDs ?? [])
            allowed.formUnion(root.signed.roles["root"]?.keyIDs ?? [])
            for id in allowed.sorted() { if let k = signerMap[id] { try sign(&r, k, id) } }
            shortfalls += try RepositoryEditor.rootShortfalls(r, previous: root)
            files.append(("\(r.signed.header.version).root.json", try encode(r)))
            publishedRoot = root
            root = r
            rootChanged = true
        }
        var merged = c.mergedRoles
        for (name, var m) in c.roles {
            guard let (keys, role) = RepositoryEditor.keysAndRole(for: name, root: root, roles: merged) else { throw RepositoryError.unknownRole(name) }
            for id in role.keyIDs { if let k = signerMap[id] { try sign(&m, k, id) } }
            let have = countValidSignatures(message: try canonical(m), signatures: m.signatures, role: role, keys: keys)
            if have < role.threshold {
                shortfalls.append(SignatureShortfall(role: name, have: have, need: role.threshold, missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
            }
            merged[ByteKey(name)] = m
            files.append(("\(m.signed.header.version).\(PercentEncoding.encode(name)).json", try encode(m)))
        }
        // Publishing also needs the snapshot and timestamp keys; without them the signatures added here wait.
        for online in ["snapshot", "timestamp"] {
            guard let role = root.signed.roles[online] else { continue }
            let available = role.keyIDs.filter { signerMap[$0] != nil }.count
            if available < role.threshold {
                shortfalls.append(SignatureShortfall(role: online, have: available, need: role.threshold, missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
            }
        }
        if !shortfalls.isEmpty {
            // Nothing changes here; the change waits with the signatures added.
            if rootChanged, let previous = publishedRoot {
                root = previous
                rootChanged = false
            }
            return .staged(StagedChange(base: base, files: files, targetContents: c.targetContents, shortfalls: shortfalls))
        }
        roles = merged
        for (name, _) in c.roles { markDirty(name) }
        pendingTargetFiles = c.targetContents
        return .published(try finishPublish(files: files, signerMap: signerMap, now: clock()))
    }

    // MARK: Status

    /// Every role's version, expiry, keys, threshold and whether its current signatures meet it.
    public func status() -> [RoleStatus] {
        var out: [RoleStatus] = []
        func add<R>(_ name: String, _ m: Metadata<R>) {
            guard let (keys, role) = try? keysAndRole(for: name), let msg = try? m.canonicalSigned() else { return }
            out.append(RoleStatus(name: name, version: m.signed.header.version, expires: m.signed.header.expires,
                                  expiresAt: m.signed.header.expiresAt, keyIDs: role.keyIDs, threshold: role.threshold,
                                  validSignatures: countValidSignatures(message: msg, signatures: m.signatures, role: role, keys: keys)))
        }
        add("root", root)
        if let timestamp { add("timestamp", timestamp) }
        if let snapshot { add("snapshot", snapshot) }
        if let t = roles[ByteKey("targets")] { add("targets", t) }
        for (name, m) in roles.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) where name.string != "targets" {
            add(name.string, m)
        }
        return out
    }

    /// The key IDs a publish of the pending change may sign with.
    public func signingKeyIDs() -> SigningKeyIDs {
        var ids = SigningKeyIDs()
        if rootChanged {
            ids.root.formUnion(root.signed.roles["root"]?.keyIDs ?? [])
            ids.root.formUnion(publishedRoot?.signed.roles["root"]?.keyIDs ?? [])
        }
        ids.all = ids.root
        for name in dirtyRoles + ["snapshot", "timestamp"] {
            if let (_, role) = try? keysAndRole(for: name) { ids.all.formUnion(role.keyIDs) }
        }
        return ids
    }
}
