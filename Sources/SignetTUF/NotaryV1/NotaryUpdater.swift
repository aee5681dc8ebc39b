import FoundationEssentials
import Dispatch
import Glibc
import SignetPlatform
import SignetCrypto
import SignetJSON

/// A file a Notary client asks for.
public enum NotaryFile: Sendable, CustomStringConvertible {
    /// The current `ROLE.json` (`root`, `timestamp`, `snapshot`, `targets`, `targets/releases`, …).
    case current(role: String)
    /// `ROLE.<hex sha256>.json`, the file with that checksum (consistent download).
    case byHash(role: String, sha256: [UInt8])
    /// `N.root.json`, a stored root version (for walking a rotation chain).
    case rootVersion(Int64)

    public var description: String {
        switch self {
        case .current(let r): return "\(r).json"
        case .byHash(let r, let h): return "\(r).\(Hex.encode(h)).json"
        case .rootVersion(let v): return "\(v).root.json"
        }
    }

    /// The role the file belongs to.
    public var role: String {
        switch self {
        case .current(let r), .byHash(let r, _): return r
        case .rootVersion: return "root"
        }
    }
}

/// Where Notary metadata comes from: a notary server, or a trust directory on disk.
public protocol NotarySource: Sendable {
    /// The file's bytes (at most `limit`), or nil when the source does not have it.
    /// - Throws: `TUFError.fetch` / `.storage` / `.tooLarge` for failures other than absence.
    func fetch(_ file: NotaryFile, limit: Int) throws(TUFError) -> [UInt8]?
}

/// What a Notary update reports (never needed for correctness).
public enum NotaryEvent: Sendable, CustomStringConvertible {
    case rootRotated(from: Int64, to: Int64)
    case delegationSkipped(role: String, reason: String)
    case expiredAccepted(file: String, version: Int64, expires: String)

    public var description: String {
        switch self {
        case .rootRotated(let a, let b): return "root rotated from version \(a) to \(b)"
        case .delegationSkipped(let r, let why): return "delegation \(r) skipped: \(why)"
        case .expiredAccepted(let f, let v, let x): return "\(f) (version \(v)) expired at \(x); accepted as asked"
        }
    }
}

/// The Notary v1 client workflow (notary 0.7, `client/tufclient.go`), verifying with `NotaryTrustedSet`:
/// the trusted root from the store, the timestamp, the snapshot and the targets roles by the checksums
/// their parents list (and, when that fails, the current root, walking `N.root.json` when a rotation
/// cannot be verified in one step, and everything again), each bounded before a byte is parsed (a stored
/// copy that matches its parent's hashes is used instead of fetching it again). Accepted files are saved
/// to the store by role name; the caller makes the store transactional.
public final class NotaryUpdater {
    public let gun: String
    let source: any NotarySource
    let store: any MetadataStore
    let clock: @Sendable () -> Int64
    let unsafeAllowExpired: Bool
    let events: (NotaryEvent) -> Void
    /// The trusted set after the last successful refresh.
    public private(set) var trusted: NotaryTrustedSet?

    /// Byte limits (notary's own: 1 MiB timestamp, 100 MiB for the rest).
    public static let rootLimit = 1 << 20
    public static let timestampLimit = 1 << 20

    public init(gun: String, source: any NotarySource, store: any MetadataStore, clock: @escaping @Sendable () -> Int64,
                unsafeAllowExpired: Bool = false, events: @escaping (NotaryEvent) -> Void = { _ in }) {
        self.gun = gun
        self.source = source
        self.store = store
        self.clock = clock
        self.unsafeAllowExpired = unsafeAllowExpired
        self.events = events
    }

    /// The version of the copy of `role` in `store`, if any (a floor for rollback checks).
    static func storedVersion(_ role: String, in store: any MetadataStore) -> Int64? {
        guard let bytes = try? store.load(role: role, limit: NotaryCodec.maxFileBytes),
              let value = try? JSONParser.parse(bytes), case .integer(let v)? = value["signed"]?["version"] else { return nil }
        return v
    }

    /// Runs the workflow. The trusted root must be in the store (role "root").
    ///
    /// As notary's client does, the timestamp, snapshot and targets are first verified with the trusted
    /// root; only when that fails (the snapshot names another root, keys changed, the trusted root
    /// expired) is `root.json` fetched, the rotation verified, and everything verified again from the new
    /// root. Nothing the first attempt accepted is kept when it fails.
    /// - Throws: `TUFError` naming the file that did not verify.
    public func refresh() throws(TUFError) {
        guard let pinned = try store.load(role: "root", limit: NotaryUpdater.rootLimit) else {
            throw TUFError.storage(path: "root.json", detail: "no trusted root stored")
        }
        // The timestamp does not depend on the root: fetch it while the trusted root is parsed and checked
        // (certificates and keys, the slow part). It is verified like any other; the fetch always ends
        // before this returns, so the source is never used from two threads at once.
        let timestamp = BackgroundFetch { [source] () throws(TUFError) -> [UInt8]? in
            try source.fetch(.current(role: "timestamp"), limit: NotaryUpdater.timestampLimit)
        }
        defer { timestamp.wait() }
        let trustedRoot = try NotaryTrustedSet(trustedRoot: pinned, gun: gun, referenceTime: clock(), unsafeAllowExpired: unsafeAllowExpired)
        let firstError: TUFError
        do {
            let attempt = TransactionalMetadataStore(base: store)
            var set = trustedRoot
            try set.checkRoot()
            let notes = try update(&set, store: attempt, timestamp: try timestamp.value())
            try attempt.commit()
            finish(set, notes)
            return
        } catch {
            firstError = error
        }
        // The root may have changed: fetch it; when it is the one already trusted, the first error stands.
        let remote: [UInt8]?
        do { remote = try source.fetch(.current(role: "root"), limit: NotaryUpdater.rootLimit) } catch { throw firstError }
        guard let remote, remote != pinned else { throw firstError }
        var set = trustedRoot
        guard try updateRoot(&set, remote: remote) else { throw firstError }
        try set.checkRoot()
        try store.save(role: "root", bytes: set.rootBytes)
        let notes = try update(&set, store: store)
        finish(set, notes)
    }

    private func finish(_ set: NotaryTrustedSet, _ notes: [NotaryEvent]) {
        notes.forEach(events)
        for e in set.expiredAccepted { events(.expiredAccepted(file: e.file, version: e.version, expires: e.expires)) }
        trusted = set
    }

    /// Timestamp, snapshot and targets roles against the root in `set`, saving what it accepts to `store`.
    /// - Returns: the delegations it skipped, as events.
    /// - Parameter timestamp: the timestamp fetched already, if it was.
    private func update(_ set: inout NotaryTrustedSet, store: any MetadataStore, timestamp: [UInt8]?? = nil) throws(TUFError) -> [NotaryEvent] {
        let fetched: [UInt8]?
        if let timestamp { fetched = timestamp } else { fetched = try source.fetch(.current(role: "timestamp"), limit: NotaryUpdater.timestampLimit) }
        guard let ts = fetched else {
            throw TUFError.fetch(file: "timestamp.json", .notFound(url: "timestamp.json"))
        }
        try set.updateTimestamp(ts, floor: NotaryUpdater.storedVersion("timestamp", in: store))
        try store.save(role: "timestamp", bytes: ts)

        guard let snapMeta = set.timestamp?.snapshot else { throw TUFError.misuse("no snapshot meta") }
        let snap = try fetch(role: "snapshot", meta: snapMeta, store: store)
        try set.updateSnapshot(snap, floor: NotaryUpdater.storedVersion("snapshot", in: store))
        try store.save(role: "snapshot", bytes: snap)

        // Targets, then delegations in pre-order, children in listed order; roles the snapshot does not
        // list are skipped (they have no metadata yet).
        var notes: [NotaryEvent] = []
        var stack = ["targets"]
        var visited: Set<String> = []
        while let role = stack.popLast() {
            guard visited.insert(role).inserted, let meta = set.snapshot?.meta[role], meta.sha256 != nil else { continue }
            let bytes = try fetch(role: role, meta: meta, store: store)
            switch try set.updateTargets(role: role, bytes: bytes, floor: NotaryUpdater.storedVersion(role, in: store)) {
            case .accepted(let t):
                try store.save(role: role, bytes: bytes)
                stack.append(contentsOf: t.delegations.map(\.name).reversed())
            case .skipped(let why):
                notes.append(.delegationSkipped(role: role, reason: why))
            }
        }
        return notes
    }

    /// The file `meta` names: the stored copy when it matches the listed length and hashes (the bytes are
    /// the same, and are verified again like fetched ones), otherwise fetched by its SHA-256.
    private func fetch(role: String, meta: NotaryFileMeta, store: any MetadataStore) throws(TUFError) -> [UInt8] {
        let cap = Int(clamping: min(meta.length, Int64(NotaryCodec.maxFileBytes)))
        if let stored = try? store.load(role: role, limit: cap), (try? meta.verify(stored, file: role)) != nil { return stored }
        guard let hash = meta.sha256 else { throw TUFError.noSupportedHash(file: "\(role).json") }
        return try fetch(.byHash(role: role, sha256: hash), limit: meta.length)
    }

    private func fetch(_ file: NotaryFile, limit: Int64) throws(TUFError) -> [UInt8] {
        let cap = Int(clamping: min(limit, Int64(NotaryCodec.maxFileBytes)))
        guard let bytes = try source.fetch(file, limit: cap) else { throw TUFError.fetch(file: file.description, .notFound(url: file.description)) }
        return bytes
    }

    /// Follows a root rotation to `remote` (the current `root.json`): verified in one step when the trusted
    /// root's keys signed it, or by walking the stored versions in between.
    /// - Returns: false when `remote` has the trusted version (nothing to follow).
    private func updateRoot(_ set: inout NotaryTrustedSet, remote: [UInt8]) throws(TUFError) -> Bool {
        let trustedVersion = set.root.envelope.version
        let offered = try NotaryRoot(bytes: remote, file: "root.json")
        let version = offered.envelope.version
        if version < trustedVersion { throw TUFError.rollback(file: "root.json", trusted: trustedVersion, received: version) }
        if version == trustedVersion { return false }
        var direct = set
        do {
            try direct.updateRoot(remote)
            set = direct
        } catch {
            guard case .thresholdNotMet = error else { throw error }
            // Walk the versions in between, each checked against its predecessor.
            for v in (trustedVersion + 1)..<version {
                guard let bytes = try source.fetch(.rootVersion(v), limit: NotaryUpdater.rootLimit) else {
                    throw TUFError.rootChainIncomplete(missingVersion: v)
                }
                try set.updateRoot(bytes, file: "\(v).root.json")
            }
            try set.updateRoot(remote)
        }
        events(.rootRotated(from: trustedVersion, to: version))
        return true
    }
}

/// A fetch run on its own thread, so that it overlaps what the caller does meanwhile.
final class BackgroundFetch: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let lock = Lock()
    private var result: Result<[UInt8]?, TUFError>?

    init(_ work: @escaping @Sendable () throws(TUFError) -> [UInt8]?) {
        startThread(stackSize: 1 << 20) { [self] in
            let r: Result<[UInt8]?, TUFError>
            do throws(TUFError) { r = .success(try work()) } catch { r = .failure(error) }
            lock.withLock { result = r }
            finished.signal()
        }
    }

    /// Waits for the fetch to end.
    func wait() {
        if lock.withLock({ result != nil }) { return }
        finished.wait()
        finished.signal()
    }

    /// The fetched bytes, or the error, once the fetch has ended.
    func value() throws(TUFError) -> [UInt8]? {
        wait()
        guard let r = lock.withLock({ result }) else { throw TUFError.misuse("background fetch ended without a result") }
        return try r.get()
    }
}
