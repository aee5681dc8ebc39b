import FoundationEssentials
import Dispatch
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetHTTP
import SignetJSON

/// Limits and switches of an `Updater`.
public struct UpdaterConfig: Sendable {
    /// Most root versions accepted in one refresh (TUF 1.0.34 §5.3.3 "Y").
    public var maxRootRotations = 256
    /// Most targets roles visited in one lookup.
    public var maxDelegations = 32
    /// Byte limit for a root file.
    public var rootMaxLength = 512_000
    /// Byte limit for the timestamp.
    public var timestampMaxLength = 16_384
    /// Byte limit for the snapshot when the timestamp gives no length.
    public var snapshotMaxLength = 2_000_000
    /// Byte limit for a targets role when the snapshot gives no length.
    public var targetsMaxLength = 5_000_000
    /// With consistent snapshots, download targets as `DIR/HASH.NAME`.
    public var prefixTargetsWithHash = true
    /// How expired metadata is treated: refused (clients), or accepted for renewal.
    public var expiredMetadata: ExpiredMetadata = .refuse

    /// Seconds every transfer may take besides its bytes at `minimumRate` (see ``deadline(forBytes:)``).
    public var transferAllowance: Double = 10
    /// The slowest rate, in bytes per second, a transfer is given time for: a server that drips bytes
    /// is cut off when the transfer's deadline passes, however long it keeps the connection alive.
    public var minimumRate: Int64 = 64 << 10

    /// Default limits.
    public init() {}

    /// The deadline of a transfer of up to `bytes` bytes: `transferAllowance` plus those bytes at
    /// `minimumRate`.
    public func deadline(forBytes bytes: Int64) -> TransferDeadline {
        TransferDeadline(secondsFromNow: transferAllowance + Double(max(0, bytes)) / Double(max(1, minimumRate)))
    }
}

/// Whether an update may accept metadata whose expiry has passed (see `ExpiryPolicy`).
public enum ExpiredMetadata: Sendable {
    /// Refuse it (every client).
    case refuse
    /// Accept it when this machine's store already trusted that role at the same or a lower version
    /// (publishers renewing metadata).
    case allowIfSeen
    /// Accept any expired but otherwise valid metadata (recovery only; removes freeze protection).
    case unsafeAllowAny
    /// Accept a timestamp up to `seconds` after it expired, nothing else (exported copies at sites that
    /// cannot renew; a policy's `exportValidityDays`).
    case timestampGrace(seconds: Int64)
}

/// Steps an updater reports (for logs and diagnostics; never needed for correctness).
public enum UpdaterEvent: Sendable, CustomStringConvertible {
    case fetching(url: String)
    case notFound(url: String)
    case accepted(file: String, version: Int64)
    case unchanged(file: String, version: Int64)
    case localRejected(file: String, reason: String)
    case localAccepted(file: String, version: Int64)
    case discarded(file: String, reason: String)
    case targetCached(path: String)
    case targetStored(path: String, file: String)

    public var description: String {
        switch self {
        case .fetching(let u): return "fetching \(u)"
        case .notFound(let u): return "not found: \(u)"
        case .accepted(let f, let v): return "accepted \(f) version \(v)"
        case .unchanged(let f, let v): return "\(f) unchanged at version \(v)"
        case .localRejected(let f, let r): return "stored \(f) not usable: \(r)"
        case .localAccepted(let f, let v): return "stored \(f) version \(v) is current"
        case .discarded(let f, let r): return "discarded stored \(f): \(r)"
        case .targetCached(let p): return "target \(p) already stored and verified"
        case .targetStored(let p, let f): return "target \(p) verified and stored as \(f)"
        }
    }
}

/// The TUF client workflow (TUF 1.0.34 §5): refresh metadata, look up targets, download them verified.
///
/// The updater decides what to fetch and when; `TrustedMetadataSet` decides what is trusted. The
/// transport, store, clock and event sink are injected.
public final class Updater {
    /// Metadata base URL, ending in `/`.
    public let metadataBaseURL: String
    /// Configuration.
    public let config: UpdaterConfig
    private let transport: any Transport
    private let store: any MetadataStore
    private let clock: @Sendable () -> Int64
    private let events: (UpdaterEvent) -> Void
    /// The trusted metadata after the last successful refresh (or only the root before). A refresh that
    /// fails leaves it as it was.
    public private(set) var trusted: TrustedMetadataSet
    private var refreshed = false
    /// The exact bytes of every file the last refresh and lookups accepted: root versions by version
    /// (from the stored root on), and the other roles by name.
    private var acceptedRoots: [Int64: [UInt8]] = [:]
    private var acceptedFiles: [String: [UInt8]] = [:]

    /// Creates an updater from the root in `store` (role "root"), which must exist.
    /// - Throws: `TUFError.storage` when no root is stored; parse/signature errors of the stored root.
    public init(metadataBaseURL: String, transport: any Transport, store: any MetadataStore,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                config: UpdaterConfig = UpdaterConfig(), events: @escaping (UpdaterEvent) -> Void = { _ in }) throws(TUFError) {
        self.metadataBaseURL = metadataBaseURL.hasSuffix("/") ? metadataBaseURL : metadataBaseURL + "/"
        self.transport = transport
        self.store = store
        self.clock = clock
        self.config = config
        self.events = events
        guard let rootBytes = try store.load(role: "root", limit: config.rootMaxLength) else {
            throw TUFError.storage(path: "root.json", detail: "no trusted root stored; initialise with a root obtained out of band")
        }
        trusted = try TrustedMetadataSet(rootBytes: rootBytes, referenceTime: clock())
    }

    // MARK: Refresh

    /// Moves the trusted set's reference time forward to `time` when nothing the refresh decided would
    /// change (`TrustedMetadataSet.advanceReferenceTime(to:)`); false when it would.
    public func advanceReferenceTime(to time: Int64) -> Bool {
        trusted.advanceReferenceTime(to: time)
    }

    /// Runs the client workflow: root chain, timestamp, snapshot, top-level targets.
    /// - Throws: `TUFError` for any verification or fetch failure; the stored metadata then still holds
    ///   the last verified state.
    public func refresh() throws(TUFError) {
        guard let rootBytes = try store.load(role: "root", limit: config.rootMaxLength) else {
            throw TUFError.storage(path: "root.json", detail: "no trusted root stored")
        }
        // §5.1: one reference time for the whole update.
        var set = try TrustedMetadataSet(rootBytes: rootBytes, referenceTime: clock(), expiryPolicy: expiryPolicy())
        let previous = (acceptedRoots, acceptedFiles)
        acceptedRoots = [set.root.signed.header.version: rootBytes]
        acceptedFiles = [:]
        do {
            try refresh(&set)
        } catch {
            // The previous trusted state stays visible, whole.
            (acceptedRoots, acceptedFiles) = previous
            throw error
        }
        trusted = set
        refreshed = true
    }

    private func expiryPolicy() -> ExpiryPolicy {
        switch config.expiredMetadata {
        case .refuse: return .enforce
        case .unsafeAllowAny: return .unsafeAllowAnyExpired
        case .timestampGrace(let seconds): return .timestampGrace(seconds: seconds)
        case .allowIfSeen:
            let store = self.store
            let config = self.config
            return .allowExpiredSeen(seenVersion: { role in
                let limit = role == "timestamp" ? config.timestampMaxLength : (role == "snapshot" ? config.snapshotMaxLength : Int.max)
                guard let bytes = try? store.load(role: role, limit: limit),
                      let value = try? JSONParser.parse(bytes), case .integer(let v)? = value["signed"]?["version"] else { return nil }
                return v
            })
        }
    }

    private func refresh(_ set: inout TrustedMetadataSet) throws(TUFError) {
        let startRoot = set.root.signed
        try loadRoot(&set)
        // §5.3.11: after a timestamp or snapshot key rotation, forget the stored timestamp and snapshot
        // so that a fast-forward attack on their versions can be recovered from.
        if set.root.signed.roleChanged("timestamp", from: startRoot) || set.root.signed.roleChanged("snapshot", from: startRoot) {
            try store.remove(role: "timestamp")
            try store.remove(role: "snapshot")
            events(.discarded(file: "timestamp.json, snapshot.json", reason: "timestamp or snapshot keys changed in root"))
        }
        try loadTimestamp(&set)
        try loadSnapshot(&set)
        _ = try loadTargets(&set, ref: .topLevelTargets, delegatorRef: nil)
    }

    private func loadRoot(_ set: inout TrustedMetadataSet) throws(TUFError) {
        // A trusted root this close to the largest version (only a hostile one) has no successor to look for.
        guard set.root.signed.header.version < Int64.max - Int64(config.maxRootRotations) - 1 else { return }
        let first = set.root.signed.header.version + 1
        for version in first..<(first + Int64(config.maxRootRotations)) {
            let name = "\(version).root.json"
            guard let bytes = try fetchMetadata(name, limit: config.rootMaxLength, optional: true) else { return }
            try set.updateRoot(bytes)
            try store.save(role: "root", bytes: bytes)
            acceptedRoots[version] = bytes
            events(.accepted(file: name, version: version))
        }
    }

    private func loadTimestamp(_ set: inout TrustedMetadataSet) throws(TUFError) {
        if let local = try? store.load(role: "timestamp", limit: config.timestampMaxLength) {
            do {
                try set.updateTimestamp(local)
                acceptedFiles["timestamp"] = local
                events(.localAccepted(file: "timestamp.json", version: set.timestamp?.signed.header.version ?? 0))
            } catch {
                events(.localRejected(file: "timestamp.json", reason: error.description))
            }
        }
        guard let bytes = try fetchMetadata("timestamp.json", limit: config.timestampMaxLength, optional: false) else { return }
        switch try set.updateTimestamp(bytes) {
        case .updated:
            try store.save(role: "timestamp", bytes: bytes)
            acceptedFiles["timestamp"] = bytes
            events(.accepted(file: "timestamp.json", version: set.timestamp?.signed.header.version ?? 0))
        case .unchanged:
            events(.unchanged(file: "timestamp.json", version: set.timestamp?.signed.header.version ?? 0))
        }
    }

    private func loadSnapshot(_ set: inout TrustedMetadataSet) throws(TUFError) {
        if let local = try? store.load(role: "snapshot", limit: config.snapshotMaxLength) {
            do {
                try set.updateSnapshot(local, trusted: true)
                acceptedFiles["snapshot"] = local
                events(.localAccepted(file: "snapshot.json", version: set.snapshot?.signed.header.version ?? 0))
                return
            } catch {
                events(.localRejected(file: "snapshot.json", reason: error.description))
            }
        }
        guard let meta = set.timestamp?.signed.snapshotMeta else { throw TUFError.misuse("no timestamp") }
        let limit = meta.length.map { Int(clamping: $0) } ?? config.snapshotMaxLength
        let name = set.root.signed.consistentSnapshot ? "\(meta.version).snapshot.json" : "snapshot.json"
        guard let bytes = try fetchMetadata(name, limit: limit, optional: false) else { return }
        try set.updateSnapshot(bytes)
        try store.save(role: "snapshot", bytes: bytes)
        acceptedFiles["snapshot"] = bytes
        events(.accepted(file: name, version: meta.version))
    }

    private func loadTargets(_ set: inout TrustedMetadataSet, ref: RoleRef, delegatorRef: RoleRef?) throws(TUFError) -> Metadata<Targets> {
        if let cached = set.targetsRoles[ref] { return cached }
        let role = ref.name.string
        guard let meta = set.snapshot?.signed.meta(forRole: role) else { throw TUFError.missingFromSnapshot(role: role) }
        let limit = meta.length.map { Int(clamping: $0) } ?? config.targetsMaxLength
        if let local = try? store.load(role: role, limit: limit) {
            do {
                let m = try set.updateTargets(local, ref: ref, delegatorRef: delegatorRef)
                acceptedFiles[role] = local
                events(.localAccepted(file: "\(role).json", version: m.signed.header.version))
                return m
            } catch {
                events(.localRejected(file: "\(role).json", reason: error.description))
            }
        }
        let encoded = PercentEncoding.encode(role)
        let name = set.root.signed.consistentSnapshot ? "\(meta.version).\(encoded).json" : "\(encoded).json"
        let bytes: [UInt8], digests: [Digest], pending: (any PendingMetadataSave)?
        if let length = meta.length, length >= Updater.pipelinedLength {
            (bytes, digests, pending) = try fetchPipelined(name, role: role, limit: limit, length: length, hashes: meta.hashes ?? [])
        } else {
            guard let b = try fetchMetadata(name, limit: limit, optional: false) else { throw TUFError.misuse("unreachable") }
            (bytes, digests, pending) = (b, [], nil)
        }
        // A large file is written to the store's temporary file on another thread while it is checked
        // (the checks keep both cores busy only part of the time); it is committed once it verified.
        let writing = pending.map { PendingWrite(bytes, to: $0) }
        let m: Metadata<Targets>
        do { m = try set.updateTargets(bytes, ref: ref, delegatorRef: delegatorRef, computedDigests: digests) } catch {
            writing?.discard()
            throw error
        }
        if let writing { try writing.commit() } else { try store.save(role: role, bytes: bytes) }
        acceptedFiles[role] = bytes
        events(.accepted(file: "\(role).json", version: m.signed.header.version))
        return m
    }

    /// Targets roles the snapshot lists at this length or more are fetched with `fetchPipelined`.
    static let pipelinedLength: Int64 = 1 << 20

    /// Fetches a large targets role (`name`, at most `limit` bytes): while it arrives, a second thread
    /// computes the supported digests the snapshot lists. Once it is in, the store's temporary file for
    /// the role is started (`MetadataStore.beginSave`: nothing is visible until it is committed, once the
    /// bytes verified; created only now, so that a process killed during the download leaves none).
    private func fetchPipelined(_ name: String, role: String, limit: Int, length: Int64,
                                hashes: [(String, String)]) throws(TUFError) -> ([UInt8], [Digest], (any PendingMetadataSave)?) {
        let algorithms = hashes.compactMap { DigestAlgorithm(rawValue: $0.0) }
        // Without a hashing thread (OpenSSL gave no context), the plain fetch; the checks then hash.
        guard let pipeline = try? PipelinedDigest(algorithms) else {
            guard let b = try fetchMetadata(name, limit: limit, optional: false) else { throw TUFError.misuse("unreachable") }
            return (b, [], nil)
        }
        let url = metadataBaseURL + name
        events(.fetching(url: url))
        // Room for the listed length up front (never more than 64 MiB on the snapshot's word alone:
        // beyond that the buffer grows with the bytes that actually arrive).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(clamping: min(length, Int64(limit), 64 << 20)))
        // The advice covers the reserved capacity (the allocation), not only the elements so far.
        let capacity = bytes.capacity
        bytes.withUnsafeMutableBufferPointer { buffer in
            if let start = buffer.baseAddress { adviseHugePages(start, count: capacity) }
        }
        do {
            _ = try transport.stream(HTTPRequest(url: url, deadline: config.deadline(forBytes: Int64(limit))), maxBodyBytes: Int64(limit)) { chunk in
                bytes.append(contentsOf: chunk)
                try pipeline.update(chunk)
            }
        } catch {
            _ = try? pipeline.finalize()
            switch error {
            case .tooLarge(_, let l), .declaredTooLarge(_, _, let l): throw TUFError.tooLarge(file: name, limit: l)
            default: throw TUFError.fetch(file: name, error)
            }
        }
        // (A pipeline without a consumer cannot fail; if it did, the checks would hash the bytes again.)
        let digests = (try? pipeline.finalize()) ?? []
        // A store that cannot write ahead gets `save` after the checks, as for small files.
        return (bytes, digests, try? store.beginSave(role: role))
    }

    /// Fetches `name` under the metadata URL, reading at most `limit` bytes. With `optional`, a 404/403
    /// gives nil.
    private func fetchMetadata(_ name: String, limit: Int, optional: Bool) throws(TUFError) -> [UInt8]? {
        let url = metadataBaseURL + name
        events(.fetching(url: url))
        do {
            return try transport.get(url, maxBodyBytes: limit, deadline: config.deadline(forBytes: Int64(limit)))
        } catch {
            switch error {
            case .notFound where optional, .status(code: 403, url: _, body: _) where optional:
                events(.notFound(url: url))
                return nil
            case .tooLarge(_, let l), .declaredTooLarge(_, _, let l): throw TUFError.tooLarge(file: name, limit: l)
            default: throw TUFError.fetch(file: name, error)
            }
        }
    }

    // MARK: Targets

    /// Finds the trusted description of `path`: a pre-order depth-first search of the delegation graph
    /// (TUF 1.0.34 §5.6.7), refreshing first if needed.
    /// - Throws: `TUFError.targetNotFound`, or any error of loading a role on the way.
    public func lookup(_ path: String) throws(TUFError) -> TargetFile {
        if !refreshed { try refresh() }
        var set = trusted
        defer { trusted = set }
        var stack: [(ref: RoleRef, delegatorRef: RoleRef?)] = [(.topLevelTargets, nil)]
        var visited: Set<ByteKey> = []
        while !stack.isEmpty, visited.count < config.maxDelegations {
            let (ref, delegatorRef) = stack.removeLast()
            // §5.6.7.1: skip roles already visited (cycles).
            if visited.contains(ref.name) { continue }
            let role = try loadTargets(&set, ref: ref, delegatorRef: delegatorRef)
            if let target = try role.signed.target(path) { return target }
            visited.insert(ref.name)
            guard let delegations = role.signed.delegations else { continue }
            // §5.6.7.2: children in order of appearance; a terminating match ends the search after it.
            var children: [(RoleRef, RoleRef?)] = []
            for (name, terminating) in delegations.roles(for: path) {
                children.append((RoleRef(delegator: ref.name.string, name: name), ref))
                if terminating {
                    stack.removeAll()
                    break
                }
            }
            stack.append(contentsOf: children.reversed())
        }
        throw TUFError.targetNotFound(path: path)
    }

    /// Loads and verifies delegated role `name` reached from `delegator`: the top-level targets, or a
    /// delegated role loaded (and so verified) before through this function, refreshing first if needed.
    /// - Throws: `TUFError` when it cannot be loaded or verified, `.misuse` when `delegator` was not loaded.
    public func role(_ name: String, delegator: String = "targets") throws(TUFError) -> Metadata<Targets> {
        if !refreshed { try refresh() }
        var set = trusted
        defer { trusted = set }
        if delegator == "targets" {
            return try loadTargets(&set, ref: RoleRef(delegator: "targets", name: name), delegatorRef: .topLevelTargets)
        }
        let loaded = set.targetsRoles.keys.filter { $0.name == ByteKey(delegator) && $0 != .topLevelTargets }
        guard let parent = loaded.sorted(by: { $0.delegator.bytes.lexicographicallyPrecedes($1.delegator.bytes) }).first else {
            throw TUFError.misuse("load \(delegator) before the roles it delegates to")
        }
        return try loadTargets(&set, ref: RoleRef(delegator: delegator, name: name), delegatorRef: parent)
    }

    /// Everything the repository's trusted state consists of, verified: after a refresh, every targets
    /// role the snapshot lists and a verified role delegates is loaded and verified against its delegator
    /// (signatures, and length, hashes and version against the snapshot), walking the delegation graph
    /// breadth-first from the top-level targets; the root versions below the stored root are taken from
    /// `earlierRoots` and verified as a chain from version 1 that must lead to the stored root.
    ///
    /// This is the only way to obtain a `VerifiedRepository`, which the repository editor requires: a
    /// publisher can only build on state that verified.
    /// - Parameter earlierRoots: the bytes of root version N (for N below the stored root's version),
    ///   from any untrusted source; nil when not available.
    /// - Throws: `TUFError` for any file that does not verify; `.rootChainIncomplete` when an earlier
    ///   root version is missing.
    public func verifiedRepository(earlierRoots: (Int64) throws -> [UInt8]?) throws(TUFError) -> VerifiedRepository {
        if !refreshed { try refresh() }
        var set = trusted
        defer { trusted = set }
        guard let timestampBytes = acceptedFiles["timestamp"], let snapshotBytes = acceptedFiles["snapshot"],
              let snapshot = set.snapshot else { throw TUFError.misuse("refresh did not complete") }
        // Every delegated role reachable from the top-level targets, breadth-first, each verified
        // against the delegator through which it is first reached.
        var roles: [VerifiedRole] = []
        var queue: [(RoleRef, RoleRef?)] = [(.topLevelTargets, nil)]
        var seen: Set<ByteKey> = []
        var head = 0
        let budget = snapshot.signed.meta.count + 1
        while head < queue.count {
            let (ref, delegatorRef) = queue[head]
            head += 1
            guard seen.insert(ref.name).inserted else { continue }
            guard roles.count < budget else { throw TUFError.invalidMetadata(file: "snapshot.json", reason: "more delegated roles than the snapshot lists") }
            let m = try loadTargets(&set, ref: ref, delegatorRef: delegatorRef)
            guard let bytes = acceptedFiles[ref.name.string] else { throw TUFError.misuse("no bytes kept for \(ref.name.string)") }
            roles.append(VerifiedRole(name: ref.name.string, delegator: delegatorRef?.name.string, bytes: bytes, metadata: m))
            guard let d = m.signed.delegations else { continue }
            for r in d.roles ?? [] where !seen.contains(ByteKey(r.name)) {
                queue.append((RoleRef(delegator: ref.name.string, name: r.name), ref))
            }
            if let bins = d.succinctRoles {
                // Every bin must be in the snapshot: more bins than it lists (up to 2^32) are refused
                // before any is queued.
                guard bins.binCount < budget else {
                    throw TUFError.invalidMetadata(file: "snapshot.json", reason: "\(ref.name.string) delegates \(bins.binCount) hash bins; the snapshot lists \(budget - 1) files")
                }
                for n in 0..<bins.binCount {
                    let name = bins.binName(n)
                    if !seen.contains(ByteKey(name)) { queue.append((RoleRef(delegator: ref.name.string, name: name), ref)) }
                }
            }
        }
        let chain = try verifiedRootChain(earlierRoots: earlierRoots)
        return VerifiedRepository(rootChain: chain, timestamp: timestampBytes, snapshot: snapshotBytes, roles: roles, trusted: set)
    }

    /// Root versions 1 … N of the trusted root after the last refresh: the stored root and those the
    /// refresh accepted are verified; earlier versions are taken from `earlierRoots` (any source) and
    /// must form a chain from version 1, each signed by its predecessor's and its own threshold, that
    /// leads to the stored root.
    /// - Throws: `TUFError.rootChainIncomplete` when a version is missing; verification errors.
    public func verifiedRootChain(earlierRoots: (Int64) throws -> [UInt8]?) throws(TUFError) -> [[UInt8]] {
        if !refreshed { try refresh() }
        guard let firstKept = acceptedRoots.keys.min(), let stored = acceptedRoots[firstKept] else { throw TUFError.misuse("no root kept") }
        var chain: [[UInt8]] = []
        if firstKept > 1 {
            for v in 1..<firstKept {
                let bytes: [UInt8]?
                do { bytes = try earlierRoots(v) } catch { throw TUFError.storage(path: "\(v).root.json", detail: "\(error)") }
                guard let bytes, bytes.count <= config.rootMaxLength else { throw TUFError.rootChainIncomplete(missingVersion: v) }
                chain.append(bytes)
            }
            _ = try TrustedMetadataSet.verifyRootChain(chain + [stored])
        }
        let final = trusted.root.signed.header.version
        for v in firstKept...final {
            guard let bytes = acceptedRoots[v] else { throw TUFError.rootChainIncomplete(missingVersion: v) }
            chain.append(bytes)
        }
        return chain
    }

    /// The verified bytes of root version `version` if the last refresh verified it (the stored root
    /// and every later version it accepted).
    public func verifiedRoot(version: Int64) -> [UInt8]? { acceptedRoots[version] }

    /// The root versions `verifiedRoot(version:)` holds, in order.
    public var verifiedRootVersions: [Int64] { acceptedRoots.keys.sorted() }

    /// The exact bytes of role `role` ("timestamp", "snapshot", "targets" or a delegated role) as the
    /// last refresh or lookup verified them.
    public func verifiedBytes(role: String) -> [UInt8]? { acceptedFiles[role] }

    /// The local file a target is stored as in `directory`: the percent-encoded path, the same every time.
    /// - Throws: `TUFError.unsafeTargetPath` when the path has no safe file name.
    public static func localPath(for target: String, in directory: String) throws(TUFError) -> String {
        guard !target.isEmpty, let name = PercentEncoding.fileName(for: target) else { throw TUFError.unsafeTargetPath(path: target) }
        return (directory.hasSuffix("/") ? directory : directory + "/") + name
    }

    /// Returns the stored copy of `target` in `directory` if it exists and matches length and hashes.
    public func cachedTarget(_ target: TargetFile, in directory: String) -> String? {
        guard let path = try? Updater.localPath(for: target.path, in: directory),
              let bytes = try? TUFFiles.read(path, limit: Int(clamping: target.length)),
              (try? target.verify(bytes)) != nil else { return nil }
        return path
    }

    /// Downloads `target` from `targetBaseURL`, verifying length and every supported hash while streaming,
    /// and stores it atomically in `directory`. An already stored, matching copy is reused.
    /// - Returns: the stored file's path.
    /// - Throws: `TUFError.noSupportedHash`, `.tooLarge`, `.lengthMismatch`, `.hashMismatch`, `.fetch`, `.storage`.
    @discardableResult
    public func download(_ target: TargetFile, targetBaseURL: String, into directory: String) throws(TUFError) -> String {
        let path = try Updater.localPath(for: target.path, in: directory)
        if let cached = cachedTarget(target, in: directory) {
            events(.targetCached(path: target.path))
            return cached
        }
        let digests = try target.supportedDigests()
        var remote = target.path
        if trusted.root.signed.consistentSnapshot && config.prefixTargetsWithHash, let first = target.hashes.first {
            let slash = remote.lastIndex(of: "/")
            let dir = slash.map { String(remote[...$0]) } ?? ""
            let base = slash.map { String(remote[remote.index(after: $0)...]) } ?? remote
            remote = dir + first.1 + "." + base
        }
        let base = targetBaseURL.hasSuffix("/") ? targetBaseURL : targetBaseURL + "/"
        let url = base + PercentEncoding.encode(remote, keepSlash: true)
        try TUFFiles.makeDirectory(directory)
        let writer: AtomicFileWriter
        do throws(FileError) { writer = try AtomicFileWriter(directory: directory, name: ".download") } catch { throw .file(error) }
        var hashers: [StreamingDigest] = []
        for d in digests {
            guard let h = try? StreamingDigest(d.algorithm) else { throw TUFError.noSupportedHash(file: target.path) }
            hashers.append(h)
        }
        var received: Int64 = 0
        events(.fetching(url: url))
        do {
            _ = try transport.stream(HTTPRequest(url: url, deadline: config.deadline(forBytes: target.length)), maxBodyBytes: target.length) { chunk in
                received += Int64(chunk.count)
                for h in hashers { h.update(chunk) }
                do throws(FileError) { try writer.write(chunk) } catch { throw TUFError.file(error) }
            }
        } catch {
            writer.discard()
            switch error {
            case .tooLarge, .declaredTooLarge: throw TUFError.tooLarge(file: target.path, limit: target.length)
            case .sinkFailed(_, let underlying as TUFError): throw underlying
            default: throw TUFError.fetch(file: target.path, error)
            }
        }
        guard received == target.length else {
            writer.discard()
            throw TUFError.lengthMismatch(file: target.path, expected: target.length, received: received)
        }
        for (h, expected) in zip(hashers, digests) where h.finalize() != expected {
            writer.discard()
            throw TUFError.hashMismatch(file: target.path, algorithm: expected.algorithm.rawValue)
        }
        do throws(FileError) { try writer.commit(to: path) } catch { throw .file(error) }
        events(.targetStored(path: target.path, file: path))
        return path
    }
}

/// Bytes being written to a `PendingMetadataSave` on a thread of their own.
private final class PendingWrite: @unchecked Sendable {
    private let save: any PendingMetadataSave
    private let done = DispatchSemaphore(value: 0)
    private var failure: TUFError?

    init(_ bytes: [UInt8], to save: any PendingMetadataSave) {
        self.save = save
        startThread(stackSize: 1 << 20) { [self] in
            let result: Result<Void, TUFError> = bytes.withUnsafeBytes { b in
                do throws(TUFError) { try save.write(b); return .success(()) } catch { return .failure(error) }
            }
            if case .failure(let e) = result { failure = e }
            done.signal()
        }
    }

    /// Waits for the write, then makes it the stored file.
    func commit() throws(TUFError) {
        done.wait()
        if let failure {
            save.discard()
            throw failure
        }
        try save.commit()
    }

    /// Waits for the write, then deletes it.
    func discard() {
        done.wait()
        save.discard()
    }
}
