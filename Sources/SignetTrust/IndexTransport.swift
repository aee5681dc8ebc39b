import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetHTTP
import SignetOCI
import SignetTUF

/// Serves TUF metadata file names (`<base>NAME`) from the blobs a trust index lists, so the ordinary
/// TUF `Updater` runs unchanged against a registry. Blob bytes are checked against the index's digest
/// and bounded by the smaller of the caller's limit and the listed size; the TUF client then verifies
/// everything that matters.
final class IndexTransport: Transport, @unchecked Sendable {
    static let base = "oci-tuf://metadata/"
    let client: RegistryClient
    let repository: String
    let index: TrustIndex
    /// Bytes already held locally for a listed file (its index name and descriptor), or nil: served
    /// without a request only when they have the listed size and hash to the listed digest (identical
    /// digests mean identical bytes).
    let local: @Sendable (String, Descriptor) -> [UInt8]?

    /// With local bytes by digest.
    convenience init(client: RegistryClient, repository: String, index: TrustIndex, local: [Digest: [UInt8]] = [:]) {
        self.init(client: client, repository: repository, index: index, lookup: { _, d in local[d.digest] })
    }

    /// With a lookup of local bytes by index name (read only for the files the client asks for).
    init(client: RegistryClient, repository: String, index: TrustIndex, lookup: @escaping @Sendable (String, Descriptor) -> [UInt8]?) {
        self.client = client
        self.repository = repository
        self.index = index
        self.local = lookup
    }

    func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let name = String(request.url.dropFirst(IndexTransport.base.count))
        guard request.url.hasPrefix(IndexTransport.base), let d = index.files[name] else {
            return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: [])
        }
        guard d.size <= Int64(maxBodyBytes) else { throw HTTPError.tooLarge(url: name, limit: Int64(maxBodyBytes)) }
        if let held = heldBytes(name, d) {
            return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: held)
        }
        // A blob fetched ahead (checked against the same descriptor by the registry client) is used once,
        // and so is its failure: the registry client already retried what can be retried, and fetching
        // again would double the time a slow registry can hold the command.
        let fetched: Result<[UInt8], OCIError>
        if !lock.withLock({ fetching }) {
            throw HTTPError.connection(url: name, detail: "not held here, and this transport does not fetch yet")
        }
        if let ahead = takePrefetched(name) {
            fetched = ahead
        } else {
            do throws(OCIError) { fetched = .success(try fetch(name, d)) } catch { fetched = .failure(error) }
        }
        switch fetched {
        case .success(let body):
            return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: body)
        case .failure(let error):
            if case .notFound = error { return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: []) }
            // Keep the registry client's error: a digest or size mismatch is a verification failure.
            throw HTTPError.sinkFailed(url: name, underlying: error)
        }
    }

    /// The listed blob `name`, checked against its descriptor (digest and exact size) while it arrives.
    private func fetch(_ name: String, _ d: Descriptor) throws(OCIError) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(Int(d.size))
        try client.fetchBlob(repository: repository, descriptor: d, what: "trust metadata \(name)", restart: { body.removeAll() }) { chunk in
            body.append(contentsOf: chunk)
        }
        return body
    }

    // MARK: Fetching ahead

    private let lock = Lock()
    private var prefetched: [String: BackgroundResult<[UInt8]>] = [:]
    /// Whether files not held here are fetched from the registry (see ``allowFetching(_:)``).
    private var fetching = true

    /// Serves held files only (false) or fetches the others too (true, the default). A refresh run
    /// ahead of the registry's answer uses held files only, and is given fetching once it counts.
    func allowFetching(_ allowed: Bool) {
        lock.withLock { fetching = allowed }
    }
    /// Held files already read and checked against their descriptors, by index name.
    private var held: [String: [UInt8]] = [:]

    /// The locally held bytes for listed file `name` when they have its size and hash to its digest;
    /// each file is read and hashed at most once per transport.
    private func heldBytes(_ name: String, _ d: Descriptor) -> [UInt8]? {
        if let known = lock.withLock({ held[name] }) { return known }
        guard let bytes = local(name, d), Int64(bytes.count) == d.size, (try? SHA256.hash(bytes)) == d.digest else { return nil }
        lock.withLock { held[name] = bytes }
        return bytes
    }

    /// Starts fetching, concurrently, the files a client starting from nothing will ask for next: the
    /// timestamp and the newest listed snapshot, top-level targets and `releases`, and, for each of
    /// `targets` (the tags the caller will look up), the hash bin that holds it when the index lists
    /// hash bins. Each is fetched only when it is not held locally and the index lists it at no more than
    /// the client's limit for the role. The TUF client asks for them one after another (each decides
    /// whether the next is needed), so on a cold cache this turns four or five round trips into one. What
    /// arrives is checked against the index's descriptor like any fetch and verified by the client as
    /// usual; a file the client never asks for is never used. ``finish()`` waits for every fetch.
    /// - Returns: the names of the files being fetched.
    @discardableResult
    func prefetchTopLevel(limits config: UpdaterConfig, targets: [String] = []) -> [String] {
        var newest: [String: (version: Int64, name: String)] = [:]
        for name in index.files.keys {
            guard name.hasSuffix(".json"), let dot = name.firstIndex(of: "."), let v = Int64(name[..<dot]) else { continue }
            let role = String(name[name.index(after: dot)...].dropLast(5))
            if newest[role].map({ v > $0.version }) ?? true { newest[role] = (v, name) }
        }
        var names = [("timestamp.json", config.timestampMaxLength)]
        for role in ["snapshot", "targets", "releases"] {
            if let n = newest[role] { names.append((n.name, role == "snapshot" ? config.snapshotMaxLength : config.targetsMaxLength)) }
        }
        if let bins = IndexTransport.hashBins(roles: Set(newest.keys)) {
            for target in Set(targets) {
                if let n = newest[bins.roleName(for: target)] { names.append((n.name, config.targetsMaxLength)) }
            }
        }
        var started: [String] = []
        for (name, limit) in names {
            guard let d = index.files[name], d.size <= Int64(limit), !started.contains(name) else { continue }
            if heldBytes(name, d) != nil { continue }
            let ahead = BackgroundResult { [self] () throws(OCIError) in try fetch(name, d) }
            lock.withLock { prefetched[name] = ahead }
            started.append(name)
        }
        return started
    }

    /// The succinct hash bins (TAP 15) among `roles`, as Signet names them: a listed role `R` and roles
    /// `R-HEX` for every bin number, 2, 4, 8 … of them with suffixes of one length. Only a guess at what
    /// the client will be told (the delegating role, once verified, decides); nil when the roles do
    /// not look like that.
    static func hashBins(roles: Set<String>) -> SuccinctRoles? {
        var children: [String: Int] = [:]
        for role in roles {
            if let dash = role.lastIndex(of: "-"), roles.contains(String(role[..<dash])) { children[String(role[..<dash]), default: 0] += 1 }
        }
        guard children.count == 1, let (prefix, count) = children.first, count >= 2, count & (count - 1) == 0 else { return nil }
        let bins = SuccinctRoles(keyIDs: [], threshold: 1, bitLength: count.trailingZeroBitCount, namePrefix: prefix)
        // As many children as bins, and every bin name among them: the children are exactly the bins.
        guard (0..<bins.binCount).allSatisfy({ roles.contains(bins.binName($0)) }) else { return nil }
        return bins
    }

    /// The result of a fetch started ahead for `name` (waiting for it to end), removed; nil when none.
    private func takePrefetched(_ name: String) -> Result<[UInt8], OCIError>? {
        lock.withLock { prefetched.removeValue(forKey: name) }?.wait()
    }

    /// Waits for every fetch started ahead to end, so that none outlives the refresh that started it;
    /// what arrived stays for the client's later requests (a delegated role is often asked for only when
    /// a tag is looked up).
    func finish() {
        let pending = lock.withLock { Array(prefetched.values) }
        for p in pending { _ = p.wait() }
    }

    func stream(_ request: HTTPRequest, maxBodyBytes: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let r = try send(request, maxBodyBytes: Int(clamping: maxBodyBytes))
        if r.status == 404 { throw HTTPError.notFound(url: request.url) }
        do { try r.body.withUnsafeBytes { try sink($0) } } catch { throw HTTPError.sinkFailed(url: request.url, underlying: error) }
        return r.head
    }
}
