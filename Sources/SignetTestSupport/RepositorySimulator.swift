import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetFiles
import SignetTUF

/// An in-memory TUF repository that is also a `Transport`, for unit tests and fault injection.
///
/// Metadata lives at `http://repo.test/metadata/…`, targets at `http://repo.test/targets/…`. Keys are
/// Ed25519 from fixed seeds so runs are reproducible. Every request is logged; any URL can be
/// overridden with other bytes or made to fail.
public final class RepositorySimulator: Transport, @unchecked Sendable {
    public static let metadataURL = "http://repo.test/metadata/"
    public static let targetsURL = "http://repo.test/targets/"
    /// A fixed "now": 2026-01-01T00:00:00Z.
    public static let now: Int64 = 1_767_225_600
    /// Default expiry: 2030-01-01T00:00:00Z.
    public static let farFuture: Int64 = 1_893_456_000

    private let lock = NSLock()
    public var root: Metadata<Root>
    public var timestamp: Metadata<Timestamp>
    public var snapshot: Metadata<Snapshot>
    /// Targets roles by name (top-level is "targets").
    public var targets: [String: Metadata<Targets>] = [:]
    /// Signing keys by role name.
    public var signers: [String: [(String, PrivateKey)]] = [:]
    /// Every published root, by version.
    public private(set) var signedRoots: [[UInt8]] = []
    /// Published role files by served name (e.g. "3.snapshot.json").
    public var files: [String: [UInt8]] = [:]
    /// Target contents by path.
    public var targetContents: [String: [UInt8]] = [:]
    /// Replacement responses by full URL.
    public var overrides: [String: [UInt8]] = [:]
    /// URLs that answer 404.
    public var missing: Set<String> = []
    /// Every URL requested, in order.
    public private(set) var requests: [String] = []
    /// Whether the hashes/length of snapshot and targets are listed in the parents.
    public var computeMetaHashes = true
    /// Serve pretty-printed (non-canonical) JSON, as most writers do.
    public var prettyPrint = true
    private var seed: UInt8 = 1

    public init(consistentSnapshot: Bool = true) throws {
        let header = Header(version: 1, expiresAt: Self.farFuture)
        root = Metadata(signed: Root(header: header, consistentSnapshot: consistentSnapshot, keys: [], roles: [:]))
        timestamp = Metadata(signed: Timestamp(header: header, snapshotMeta: MetaFile(version: 1)))
        snapshot = Metadata(signed: Snapshot(header: header, meta: [("targets.json", MetaFile(version: 1))]))
        targets["targets"] = Metadata(signed: Targets(header: header))
        for role in Root.topLevelRoles {
            let (id, key) = try newKey()
            root.signed.keys.append((id, try Key(publicKey: key.publicKey)))
            root.signed.roles[role] = RoleKeys(keyIDs: [id], threshold: 1)
            signers[role] = [(id, key)]
        }
        try publishRoot()
        try publish()
    }

    /// A new Ed25519 key from the next fixed seed, with its TUF key ID.
    public func newKey() throws -> (String, PrivateKey) {
        var s = [UInt8](repeating: seed, count: 32)
        seed &+= 1
        let key = PrivateKey.ed25519(try Ed25519PrivateKey(seed: SecretBytes(consuming: &s)))
        return (try Key(publicKey: key.publicKey).keyID(), key)
    }

    func serialize<R>(_ m: Metadata<R>) throws -> [UInt8] {
        prettyPrint ? JSONWriter.encode(m.json, pretty: true) : try m.encoded()
    }

    /// Signs and publishes the current root as the next version (call after bumping the version).
    /// `extraSigners` cross-sign (e.g. the previous root's keys during a rotation).
    public func publishRoot(extraSigners: [(String, PrivateKey)] = []) throws {
        root.signatures = []
        for (id, key) in (signers["root"] ?? []) + extraSigners { try root.sign(with: key, keyID: id) }
        signedRoots.append(try serialize(root))
    }

    /// Bumps and re-signs the given targets roles, then snapshot and timestamp, and serves them.
    public func publish(roles: [String] = ["targets"]) throws {
        for name in roles {
            guard var t = targets[name] else { continue }
            if files["\(t.signed.header.version).\(name).json"] != nil { t.signed.header.version += 1 }
            t.signatures = []
            for (id, key) in signers[name] ?? [] { try t.sign(with: key, keyID: id) }
            targets[name] = t
            let bytes = try serialize(t)
            files["\(t.signed.header.version).\(PercentEncodingForTests.encode(name)).json"] = bytes
            files["\(PercentEncodingForTests.encode(name)).json"] = bytes
            snapshot.signed.setMeta(meta(version: t.signed.header.version, bytes: bytes), forRole: name)
        }
        try publishSnapshotAndTimestamp()
    }

    /// Re-signs snapshot (new version) and timestamp (new version) without touching targets.
    public func publishSnapshotAndTimestamp() throws {
        if files["\(snapshot.signed.header.version).snapshot.json"] != nil { snapshot.signed.header.version += 1 }
        snapshot.signatures = []
        for (id, key) in signers["snapshot"] ?? [] { try snapshot.sign(with: key, keyID: id) }
        let snapBytes = try serialize(snapshot)
        files["\(snapshot.signed.header.version).snapshot.json"] = snapBytes
        files["snapshot.json"] = snapBytes
        try publishTimestamp(snapshotBytes: snapBytes)
    }

    /// Re-signs the timestamp as a new version pointing at the current snapshot.
    public func publishTimestamp(snapshotBytes: [UInt8]? = nil) throws {
        let snapBytes = snapshotBytes ?? files["snapshot.json"] ?? []
        if files["timestamp.json"] != nil { timestamp.signed.header.version += 1 }
        timestamp.signed.snapshotMeta = meta(version: snapshot.signed.header.version, bytes: snapBytes)
        timestamp.signatures = []
        for (id, key) in signers["timestamp"] ?? [] { try timestamp.sign(with: key, keyID: id) }
        files["timestamp.json"] = try serialize(timestamp)
    }

    func meta(version: Int64, bytes: [UInt8]) -> MetaFile {
        guard computeMetaHashes, let d = try? SHA256.hash(bytes) else { return MetaFile(version: version) }
        return MetaFile(version: version, length: Int64(bytes.count), hashes: [("sha256", d.hex)])
    }

    /// Adds a target to a targets role (not yet published).
    public func addTarget(_ path: String, _ content: [UInt8], role: String = "targets") throws {
        let t = try TargetFile(path: path, bytes: content)
        targets[role]?.signed.setTarget(t)
        targetContents[path] = content
    }

    /// Adds a delegation from `delegator` to a new role with its own key; returns the key.
    @discardableResult
    public func delegate(from delegator: String, to role: DelegatedRole, keys count: Int = 1) throws -> [(String, PrivateKey)] {
        var newKeys: [(String, PrivateKey)] = []
        var role = role
        role.keyIDs = []
        for _ in 0..<count {
            let (id, key) = try newKey()
            newKeys.append((id, key))
            role.keyIDs.append(id)
        }
        var d = targets[delegator]?.signed.delegations ?? Delegations(keys: [], roles: [])
        for (id, key) in newKeys { d.keys.append((id, try Key(publicKey: key.publicKey))) }
        d.roles = (d.roles ?? []) + [role]
        targets[delegator]?.signed.delegations = d
        targets[role.name] = Metadata(signed: Targets(header: Header(version: 1, expiresAt: Self.farFuture)))
        signers[role.name] = newKeys
        return newKeys
    }

    // MARK: Transport

    public func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let url = request.url
        let body: [UInt8]? = lock.withLock {
            requests.append(url)
            if missing.contains(url) { return nil }
            if let o = overrides[url] { return o }
            if url.hasPrefix(Self.metadataURL) {
                let name = String(url.dropFirst(Self.metadataURL.count))
                if name.hasSuffix(".root.json"), let v = Int(name.dropLast(10)), v >= 1, v <= signedRoots.count {
                    return signedRoots[v - 1]
                }
                return files[name]
            }
            if url.hasPrefix(Self.targetsURL) {
                let name = String(url.dropFirst(Self.targetsURL.count)).removingPercentEncoding ?? ""
                for (path, content) in targetContents {
                    let digest = (try? SHA256.hash(content).hex) ?? ""
                    let slash = path.lastIndex(of: "/")
                    let dir = slash.map { String(path[...$0]) } ?? ""
                    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
                    if name == path || name == dir + digest + "." + base { return content }
                }
            }
            return nil
        }
        let head = HTTPResponseHead(status: body == nil ? 404 : 200, headers: HTTPHeaders(), finalURL: url)
        guard let body else { return HTTPResponse(head: head, body: []) }
        if body.count > maxBodyBytes { throw HTTPError.tooLarge(url: url, limit: Int64(maxBodyBytes)) }
        return HTTPResponse(head: head, body: body)
    }

    public func stream(_ request: HTTPRequest, maxBodyBytes: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let response = try send(request, maxBodyBytes: Int.max)
        if response.status == 404 { throw HTTPError.notFound(url: request.url) }
        var offset = 0
        while offset < response.body.count {
            let end = min(response.body.count, offset + 4096)
            if Int64(end) > maxBodyBytes { throw HTTPError.tooLarge(url: request.url, limit: maxBodyBytes) }
            do {
                try response.body[offset..<end].withUnsafeBytes { try sink($0) }
            } catch {
                throw HTTPError.sinkFailed(url: request.url, underlying: error)
            }
            offset = end
        }
        return response.head
    }

    /// Clears the request log.
    public func clearRequests() { lock.withLock { requests.removeAll() } }
}

/// Percent-encoding identical to the client's, for building served names.
public enum PercentEncodingForTests {
    public static func encode(_ s: String) -> String { PercentEncoding.encode(s) }
}
