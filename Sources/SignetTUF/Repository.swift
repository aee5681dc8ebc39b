import Foundation
import SignetCrypto
import SignetJSON

/// Default lifetimes of new or renewed metadata, in seconds.
public struct Expiries: Sendable {
    public var root: Int64 = 365 * 86400
    public var targets: Int64 = 90 * 86400
    public var snapshot: Int64 = 30 * 86400
    public var timestamp: Int64 = 86400
    /// Delegated targets roles.
    public var delegated: Int64 = 90 * 86400
    public init() {}

    func lifetime(of role: String) -> Int64 {
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
    public var description: String {
        "\(role) has \(have) of the \(need) required signatures (may still sign: \(missingKeyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")))"
    }
}

/// What `publish` did.
public enum PublishOutcome: Sendable {
    /// The change is live: these files were written under `metadata/`.
    case published([String])
    /// Signatures are missing: the signed roles were written under `staged/` for other key holders.
    case staged([SignatureShortfall])
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

/// Edits a static TUF repository: a directory with `metadata/` and `targets/` that any web server can
/// publish. Consistent snapshots are always on: metadata is written as `N.role.json` (plus the
/// unversioned `timestamp.json`), targets as `targets/DIR/SHA256.NAME`.
///
/// Changes are made in memory, then `publish` signs with the keys given, checks that its own client
/// would accept the result (thresholds, expiry, versions), and writes files so that `timestamp.json`
/// comes last: until it is replaced, clients see the previous state. A change that needs more
/// signatures than available is staged under `staged/` instead, to be signed elsewhere.
public final class Repository {
    /// The repository directory.
    public let directory: String
    public private(set) var root: Metadata<Root>
    public private(set) var timestamp: Metadata<Timestamp>?
    public private(set) var snapshot: Metadata<Snapshot>?
    /// Targets roles by name ("targets" is the top-level one).
    public private(set) var roles: [ByteKey: Metadata<Targets>]
    private var rootChanged = false
    private var publishedRoot: Metadata<Root>?
    private var dirtyRoles: [String] = []
    private var pendingTargetFiles: [(String, [UInt8])] = []
    public var expiries = Expiries()
    /// Whether writes are fsynced. Only a working copy that is discarded after use (such as the one the
    /// registry trust store publishes from) may turn this off; a published directory must keep it on.
    public var durableWrites = true
    private let clock: @Sendable () -> Int64

    var metadataDir: String { directory + "/metadata" }
    var targetsDir: String { directory + "/targets" }
    var stagedDir: String { directory + "/staged" }

    /// Byte limit when reading this repository's own files.
    static let readLimit = 64 << 20

    // MARK: Creating and loading

    /// Starts a new repository (nothing is written until `publish`).
    /// - Parameters: `keys` maps each top-level role to its public keys and threshold.
    /// - Throws: `RepositoryError.alreadyExists`, `.invalidRequest`.
    public init(creating directory: String, keys: [String: (keys: [PublicKey], threshold: Int)],
                expiries: Expiries = Expiries(), clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(RepositoryError) {
        self.directory = directory
        self.clock = clock
        self.expiries = expiries
        if FileManager.default.fileExists(atPath: directory + "/metadata/timestamp.json") || FileManager.default.fileExists(atPath: directory + "/metadata/1.root.json") {
            throw RepositoryError.alreadyExists(directory)
        }
        let now = clock()
        var rootSigned = Root(header: Header(version: 1, expiresAt: now + expiries.root), consistentSnapshot: true, keys: [], roles: [:])
        for role in Root.topLevelRoles {
            guard let spec = keys[role], !spec.keys.isEmpty else { throw RepositoryError.invalidRequest("no keys given for role \(role)") }
            var ids: [String] = []
            for k in spec.keys {
                let key = try Repository.tufKey(k)
                let id = try Repository.keyID(key)
                if !rootSigned.keys.contains(where: { $0.0 == id }) { rootSigned.keys.append((id, key)) }
                if !ids.contains(id) { ids.append(id) }
            }
            guard spec.threshold >= 1, spec.threshold <= ids.count else {
                throw RepositoryError.invalidRequest("threshold \(spec.threshold) for \(role) must be between 1 and its \(ids.count) distinct keys")
            }
            rootSigned.roles[role] = RoleKeys(keyIDs: ids, threshold: spec.threshold)
        }
        root = Metadata(signed: rootSigned)
        roles = [ByteKey("targets"): Metadata(signed: Targets(header: Header(version: 1, expiresAt: now + expiries.targets)))]
        rootChanged = true
        dirtyRoles = ["targets"]
    }

    /// Loads the published repository in `directory`.
    /// - Throws: `RepositoryError.notARepository` or `.tuf` for unreadable files.
    public init(directory: String, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(RepositoryError) {
        self.directory = directory
        self.clock = clock
        let meta = directory + "/metadata"
        func read(_ name: String) throws(RepositoryError) -> [UInt8] {
            do {
                guard let b = try AtomicFile.read(meta + "/" + name, limit: Repository.readLimit) else { throw RepositoryError.notARepository(directory) }
                return b
            } catch let e as RepositoryError { throw e } catch { throw RepositoryError.tuf(error as? TUFError ?? .storage(path: name, detail: "\(error)")) }
        }
        do {
            var n = 1
            while FileManager.default.fileExists(atPath: meta + "/\(n + 1).root.json") { n += 1 }
            root = try Metadata<Root>(bytes: try read("\(n).root.json"), file: "\(n).root.json")
            let ts = try Metadata<Timestamp>(bytes: try read("timestamp.json"), file: "timestamp.json")
            let snapName = "\(ts.signed.snapshotMeta.version).snapshot.json"
            let snap = try Metadata<Snapshot>(bytes: try read(snapName), file: snapName)
            var roles: [ByteKey: Metadata<Targets>] = [:]
            for (name, entry) in snap.signed.meta where name.hasSuffix(".json") {
                let role = String(name.dropLast(5))
                let file = "\(entry.version).\(PercentEncoding.encode(role)).json"
                roles[ByteKey(role)] = try Metadata<Targets>(bytes: try read(file), file: file, lazy: false)
            }
            timestamp = ts
            snapshot = snap
            self.roles = roles
        } catch let e as RepositoryError { throw e } catch { throw RepositoryError.tuf(error as? TUFError ?? .misuse("\(error)")) }
        publishedRoot = root
    }

    static func tufKey(_ k: PublicKey) throws(RepositoryError) -> Key {
        do { return try Key(publicKey: k) } catch { throw RepositoryError.invalidRequest("cannot encode key: \(error)") }
    }

    static func keyID(_ k: Key) throws(RepositoryError) -> String {
        do { return try k.keyID() } catch { throw RepositoryError.invalidRequest("cannot compute key ID: \(error)") }
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
            root.signed.header.setExpiry(clock() + expiries.root)
            rootChanged = true
        }
    }

    // MARK: Targets

    /// Adds (or with `replace`, replaces) a target in `role`; `content` is published under `targets/` when given.
    /// - Throws: `RepositoryError.unknownRole`, `.duplicateTarget`, `.invalidRequest` for a bad path.
    public func addTarget(path: String, content: [UInt8]?, length: Int64? = nil, hashes: [(String, String)]? = nil,
                          custom: JSONValue? = nil, role roleName: String = "targets", replace: Bool = false) throws(RepositoryError) {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
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
        if content != nil { pendingTargetFiles.append((path, content ?? [])) }
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

    /// The bin role responsible for `path` under `delegator`'s hash bins, if it uses them.
    public func hashBin(for path: String, delegator: String = "targets") -> String? {
        roles[ByteKey(delegator)]?.signed.delegations?.succinctRoles?.roleName(for: path)
    }

    /// Changes the signer keys or threshold of delegated role `name` (add, remove or revoke signers).
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
    }

    /// The delegated role `name` as its delegator lists it (searching every targets role).
    public func delegatedRole(_ name: String) -> DelegatedRole? {
        for parent in roles.values {
            if let r = parent.signed.delegations?.roles?.first(where: { ByteKey($0.name) == ByteKey(name) }) { return r }
        }
        return nil
    }

    static let signerNamesField = "x-signet-signer-names"
    /// The extra field of a delegated role that maps signer names to key IDs.
    public static var signerNamesFieldName: String { signerNamesField }

    /// The key IDs that sign role `name`.
    /// - Throws: `RepositoryError.unknownRole`.
    public func keysAndRoleIDs(for name: String) throws(RepositoryError) -> [String] { try keysAndRole(for: name).1.keyIDs }

    /// Records a human name for a signer key of delegated role `role` (nil removes it). Stored as an
    /// extra field of the delegated role, which TUF clients ignore and signatures cover.
    /// - Throws: `RepositoryError.unknownRole`.
    public func setSignerName(_ signer: String?, keyID: String, role name: String, from delegator: String = "targets") throws(RepositoryError) {
        try modifyRole(delegator) { (parent) throws(RepositoryError) in
            guard var d = parent.signed.delegations, var list = d.roles, let i = list.firstIndex(where: { ByteKey($0.name) == ByteKey(name) }) else {
                throw RepositoryError.unknownRole(name)
            }
            var names = list[i].unknown[Repository.signerNamesField]?.objectValue ?? JSONObject()
            for m in names where m.value.stringValue == keyID { names[m.key] = nil }
            if let signer { names[signer] = .string(keyID) }
            list[i].unknown[Repository.signerNamesField] = .object(names)
            d.roles = list
            parent.signed.delegations = d
        }
        markDirty(delegator)
    }

    /// The key ID recorded for signer `signer` of delegated role `role`.
    public func signerKeyID(named signer: String, role name: String) -> String? {
        delegatedRole(name)?.unknown[Repository.signerNamesField]?[signer]?.stringValue
    }

    private func addKeys(_ keys: [PublicKey], to d: inout Delegations) throws(RepositoryError) -> [String] {
        var ids: [String] = []
        for k in keys {
            let key = try Repository.tufKey(k)
            let id = try Repository.keyID(key)
            if !d.keys.contains(where: { $0.0 == id }) { d.keys.append((id, key)) }
            if !ids.contains(id) { ids.append(id) }
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
        beginRootChange()
        for k in keys {
            let key = try Repository.tufKey(k)
            let id = try Repository.keyID(key)
            if !root.signed.keys.contains(where: { $0.0 == id }) { root.signed.keys.append((id, key)) }
            if !ids.contains(id) { ids.append(id) }
        }
        guard threshold >= 1, threshold <= ids.count else {
            throw RepositoryError.invalidRequest("threshold \(threshold) must be between 1 and the \(ids.count) distinct keys given")
        }
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
            r.signed.header.setExpiry(clock() + expiries.lifetime(of: name))
            roles[ByteKey(name)] = r
            markDirty(name)
        }
    }

    /// Roles whose expiry is within `window` seconds of now.
    public func expiringRoles(within window: Int64) -> [String] {
        let limit = clock() + window
        var out: [String] = []
        if root.signed.header.expiresAt <= limit { out.append("root") }
        if let s = snapshot, s.signed.header.expiresAt <= limit { out.append("snapshot") }
        if let t = timestamp, t.signed.header.expiresAt <= limit { out.append("timestamp") }
        for (name, r) in roles where r.signed.header.expiresAt <= limit { out.append(name.string) }
        return out
    }

    // MARK: Publishing

    /// Signs every changed role with the matching keys among `signers`, re-signs snapshot and timestamp,
    /// checks the result, and writes it (timestamp last). If a threshold is not met, writes the signed
    /// roles to `staged/` instead and returns `.staged`.
    /// - Throws: `RepositoryError` for failures; nothing under `metadata/` changes then.
    @discardableResult
    public func publish(signers: [PrivateKey]) throws(RepositoryError) -> PublishOutcome {
        let now = clock()
        let signerMap = try keyMap(signers)
        var shortfalls: [SignatureShortfall] = []
        var files: [(String, [UInt8])] = []

        if rootChanged {
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
            r.signed.header.setExpiry(now + expiries.lifetime(of: name))
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
        if !shortfalls.isEmpty {
            try stage(files, shortfalls)
            return .staged(shortfalls)
        }
        try finishPublish(files: files, signerMap: signerMap, now: now)
        return .published(files.map(\.0) + ["\(snapshot?.signed.header.version ?? 0).snapshot.json", "timestamp.json"])
    }

    private func finishPublish(files: [(String, [UInt8])], signerMap: [String: PrivateKey], now: Int64) throws(RepositoryError) {
        // Snapshot: every targets role with version, length and SHA-256 of the bytes being published.
        var snap = snapshot ?? Metadata(signed: Snapshot(header: Header(version: 1, expiresAt: now + expiries.snapshot), meta: []))
        var written: [String: [UInt8]] = [:]
        for (name, bytes) in files { written[name] = bytes }
        for name in dirtyRoles {
            guard let r = roles[ByteKey(name)] else { continue }
            let file = "\(r.signed.header.version).\(PercentEncoding.encode(name)).json"
            guard let bytes = written[file] else { continue }
            snap.signed.setMeta(MetaFile(version: r.signed.header.version, length: Int64(bytes.count),
                                         hashes: [("sha256", (try? SHA256.hash(bytes).hex) ?? "")]), forRole: name)
        }
        if snapshot != nil { snap.signed.header.version += 1 }
        snap.signed.header.setExpiry(now + expiries.snapshot)
        let (snapKeys, snapRole) = try keysAndRole(for: "snapshot")
        snap.signatures = []
        for id in snapRole.keyIDs { if let k = signerMap[id] { try sign(&snap, k, id) } }
        let snapHave = countValidSignatures(message: try canonical(snap), signatures: snap.signatures, role: snapRole, keys: snapKeys)
        let snapBytes = try encode(snap)

        var ts = timestamp ?? Metadata(signed: Timestamp(header: Header(version: 1, expiresAt: now + expiries.timestamp), snapshotMeta: MetaFile(version: 1)))
        if timestamp != nil { ts.signed.header.version += 1 }
        ts.signed.header.setExpiry(now + expiries.timestamp)
        ts.signed.snapshotMeta = MetaFile(version: snap.signed.header.version, length: Int64(snapBytes.count),
                                          hashes: [("sha256", (try? SHA256.hash(snapBytes).hex) ?? "")])
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

        // Write: targets content, root, targets roles, snapshot, then timestamp (the switch-over).
        do {
            try AtomicFile.makeDirectory(metadataDir)
            for (path, content) in pendingTargetFiles {
                guard let digest = try? SHA256.hash(content).hex else { continue }
                let slash = path.lastIndex(of: "/")
                let dir = slash.map { String(path[..<$0]) } ?? ""
                let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
                let outDir = dir.isEmpty ? targetsDir : targetsDir + "/" + dir
                try AtomicFile.makeDirectory(outDir)
                try AtomicFile.write(content, to: outDir + "/" + digest + "." + base, durable: durableWrites)
            }
            for (name, bytes) in files { try AtomicFile.write(bytes, to: metadataDir + "/" + name, durable: durableWrites) }
            try AtomicFile.write(snapBytes, to: metadataDir + "/\(snap.signed.header.version).snapshot.json", durable: durableWrites)
            try AtomicFile.write(tsBytes, to: metadataDir + "/timestamp.json", durable: durableWrites)
        } catch { throw RepositoryError.tuf(error) }
        try? FileManager.default.removeItem(atPath: stagedDir)
        snapshot = snap
        timestamp = ts
        publishedRoot = root
        rootChanged = false
        dirtyRoles = []
        pendingTargetFiles = []
    }

    private func versionPublished(_ name: String) -> Bool {
        guard let meta = snapshot?.signed.meta(forRole: name), let r = roles[ByteKey(name)] else { return false }
        return meta.version >= r.signed.header.version
    }

    private func checkRoot(_ shortfalls: inout [SignatureShortfall]) throws(RepositoryError) {
        let message = try canonical(root)
        guard let newRole = root.signed.roles["root"] else { return }
        let have = countValidSignatures(message: message, signatures: root.signatures, role: newRole, keys: root.signed.keyMap)
        if have < newRole.threshold {
            shortfalls.append(SignatureShortfall(role: "root (version \(root.signed.header.version) keys)", have: have, need: newRole.threshold,
                                                 missingKeyIDs: newRole.keyIDs))
        }
        if let old = publishedRoot, old.signed.header.version < root.signed.header.version, let oldRole = old.signed.roles["root"] {
            let haveOld = countValidSignatures(message: message, signatures: root.signatures, role: oldRole, keys: old.signed.keyMap)
            if haveOld < oldRole.threshold {
                shortfalls.append(SignatureShortfall(role: "root (version \(old.signed.header.version) keys)", have: haveOld, need: oldRole.threshold,
                                                     missingKeyIDs: oldRole.keyIDs))
            }
        }
    }

    /// Keys and role definition that verify role `name`.
    func keysAndRole(for name: String) throws(RepositoryError) -> ([ByteKey: Key], RoleKeys) {
        if Root.topLevelRoles.contains(name), let r = root.signed.roles[name] { return (root.signed.keyMap, r) }
        for (_, parent) in roles {
            if let d = parent.signed.delegations, let r = d.roleKeys(for: name) { return (d.keyMap, r) }
        }
        throw RepositoryError.unknownRole(name)
    }

    private func keyMap(_ signers: [PrivateKey]) throws(RepositoryError) -> [String: PrivateKey] {
        var m: [String: PrivateKey] = [:]
        for k in signers { m[try Repository.keyID(try Repository.tufKey(k.publicKey))] = k }
        return m
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

    // MARK: Staging and co-signing

    private func stage(_ files: [(String, [UInt8])], _ shortfalls: [SignatureShortfall]) throws(RepositoryError) {
        do {
            try? FileManager.default.removeItem(atPath: stagedDir)
            try AtomicFile.makeDirectory(stagedDir + "/metadata")
            for (name, bytes) in files { try AtomicFile.write(bytes, to: stagedDir + "/metadata/" + name, durable: durableWrites) }
            for (path, content) in pendingTargetFiles {
                try AtomicFile.makeDirectory(stagedDir + "/targets")
                try AtomicFile.write(content, to: stagedDir + "/targets/" + PercentEncoding.encode(path))
            }
        } catch { throw RepositoryError.tuf(error) }
    }

    /// Loads the change staged in `staged/`, adds signatures from `signers`, and publishes it if every
    /// threshold is then met (snapshot and timestamp keys must be among `signers` for that); otherwise
    /// writes the new signatures back to `staged/`.
    /// - Throws: `RepositoryError` (`.invalidRequest` when nothing is staged).
    @discardableResult
    public func signStaged(signers: [PrivateKey]) throws(RepositoryError) -> PublishOutcome {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: stagedDir + "/metadata").sorted() } catch {
            throw RepositoryError.invalidRequest("nothing is staged in \(stagedDir)")
        }
        let signerMap = try keyMap(signers)
        var stagedRoot: Metadata<Root>?
        var stagedRoles: [(String, Metadata<Targets>)] = []
        do {
            for name in names {
                guard let bytes = try AtomicFile.read(stagedDir + "/metadata/" + name, limit: Repository.readLimit) else { continue }
                if name.hasSuffix(".root.json") {
                    stagedRoot = try Metadata<Root>(bytes: bytes, file: name)
                } else {
                    // N.<encoded role>.json
                    let body = name.dropLast(5)
                    guard let dot = body.firstIndex(of: ".") else { continue }
                    let role = String(body[body.index(after: dot)...]).removingPercentEncoding ?? ""
                    stagedRoles.append((role, try Metadata<Targets>(bytes: bytes, file: name, lazy: false)))
                }
            }
        } catch { throw RepositoryError.tuf(error) }
        // Merge into the in-memory state, keeping existing signatures and adding ours.
        if var r = stagedRoot {
            if root.signed.header.version < r.signed.header.version { publishedRoot = root }
            var allowed = Set(r.signed.roles["root"]?.keyIDs ?? [])
            allowed.formUnion(publishedRoot?.signed.roles["root"]?.keyIDs ?? [])
            for id in allowed.sorted() { if let k = signerMap[id] { try sign(&r, k, id) } }
            root = r
            rootChanged = true
        }
        // Load every staged role first: a staged delegator may change the keys of a staged delegate.
        for (name, m) in stagedRoles { roles[ByteKey(name)] = m }
        for (name, var m) in stagedRoles {
            let (_, role) = try keysAndRole(for: name)
            for id in role.keyIDs { if let k = signerMap[id] { try sign(&m, k, id) } }
            roles[ByteKey(name)] = m
            markDirty(name)
        }
        var shortfalls: [SignatureShortfall] = []
        var files: [(String, [UInt8])] = []
        if rootChanged {
            try checkRoot(&shortfalls)
            files.append(("\(root.signed.header.version).root.json", try encode(root)))
        }
        for (name, _) in stagedRoles {
            guard let m = roles[ByteKey(name)] else { continue }
            let (keys, role) = try keysAndRole(for: name)
            let have = countValidSignatures(message: try canonical(m), signatures: m.signatures, role: role, keys: keys)
            if have < role.threshold {
                shortfalls.append(SignatureShortfall(role: name, have: have, need: role.threshold, missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
            }
            files.append(("\(m.signed.header.version).\(PercentEncoding.encode(name)).json", try encode(m)))
        }
        // Publishing also needs the snapshot and timestamp keys; without them the signatures added here wait.
        for online in ["snapshot", "timestamp"] {
            let (_, role) = try keysAndRole(for: online)
            let available = role.keyIDs.filter { signerMap[$0] != nil }.count
            if available < role.threshold {
                shortfalls.append(SignatureShortfall(role: online, have: available, need: role.threshold, missingKeyIDs: role.keyIDs.filter { signerMap[$0] == nil }))
            }
        }
        if !shortfalls.isEmpty {
            try stage(files, shortfalls)
            return .staged(shortfalls)
        }
        // Staged target contents are published with the change.
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: stagedDir + "/targets") {
            for encoded in contents {
                if let path = encoded.removingPercentEncoding, let bytes = try? AtomicFile.read(stagedDir + "/targets/" + encoded, limit: Int.max) {
                    pendingTargetFiles.append((path, bytes))
                }
            }
        }
        try finishPublish(files: files, signerMap: signerMap, now: clock())
        return .published(files.map(\.0) + ["\(snapshot?.signed.header.version ?? 0).snapshot.json", "timestamp.json"])
    }

    // MARK: Which keys are needed

    /// Key IDs a publish of the pending change may sign with; `root` holds those that sign root.
    public struct SigningKeyIDs: Sendable {
        public var root: Set<String> = []
        public var all: Set<String> = []
    }

    /// The keys `publish` would use for the pending change.
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

    /// The keys that may sign the change staged in `staged/` (plus snapshot and timestamp keys to publish it).
    /// - Throws: `RepositoryError.invalidRequest` when nothing is staged.
    public func stagedSigningKeyIDs() throws(RepositoryError) -> SigningKeyIDs {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: stagedDir + "/metadata") } catch {
            throw RepositoryError.invalidRequest("nothing is staged in \(stagedDir)")
        }
        var ids = SigningKeyIDs()
        ids.root.formUnion(root.signed.roles["root"]?.keyIDs ?? [])
        for role in root.signed.roles.values { ids.all.formUnion(role.keyIDs) }
        for parent in roles.values { for r in parent.signed.delegations?.roles ?? [] { ids.all.formUnion(r.keyIDs) } }
        for name in names {
            guard let bytes = try? AtomicFile.read(stagedDir + "/metadata/" + name, limit: Repository.readLimit) else { continue }
            if name.hasSuffix(".root.json"), let r = try? Metadata<Root>(bytes: bytes, file: name) {
                ids.root.formUnion(r.signed.roles["root"]?.keyIDs ?? [])
                for role in r.signed.roles.values { ids.all.formUnion(role.keyIDs) }
            } else if let t = try? Metadata<Targets>(bytes: bytes, file: name) {
                for r in t.signed.delegations?.roles ?? [] { ids.all.formUnion(r.keyIDs) }
                ids.all.formUnion(t.signed.delegations?.succinctRoles?.keyIDs ?? [])
            }
        }
        ids.all.formUnion(ids.root)
        return ids
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
        add("targets", roles[ByteKey("targets")] ?? Metadata(signed: Targets(header: Header(version: 0, expiresAt: 0))))
        for (name, m) in roles.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) where name.string != "targets" {
            add(name.string, m)
        }
        return out
    }
}
