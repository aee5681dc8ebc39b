import Foundation
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
        case .byHash(let r, let h): return "\(r).\(h.map { String(format: "%02x", $0) }.joined()).json"
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
    case expiredAccepted(file: String)

    public var description: String {
        switch self {
        case .rootRotated(let a, let b): return "root rotated from version \(a) to \(b)"
        case .delegationSkipped(let r, let why): return "delegation \(r) skipped: \(why)"
        case .expiredAccepted(let f): return "\(f) has expired; accepted as asked"
        }
    }
}

/// The Notary v1 client workflow (notary 0.7, `client/tufclient.go`), verifying with `NotaryTrustedSet`:
/// the trusted root from the store, then the current root (walking `N.root.json` when a rotation cannot
/// be verified in one step), the timestamp, the snapshot and the targets roles by the checksums their
/// parents list, each bounded before a byte is parsed. Accepted files are saved to the store by role
/// name; the caller makes the store transactional.
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

    /// The version of the stored copy of `role`, if any (a floor for rollback checks).
    func storedVersion(_ role: String) -> Int64? {
        guard let bytes = try? store.load(role: role, limit: NotaryCodec.maxFileBytes),
              let value = try? JSONParser.parse(bytes), case .integer(let v)? = value["signed"]?["version"] else { return nil }
        return v
    }

    /// Runs the workflow. The trusted root must be in the store (role "root").
    /// - Throws: `TUFError` naming the file that did not verify.
    public func refresh() throws(TUFError) {
        guard let pinned = try store.load(role: "root", limit: NotaryUpdater.rootLimit) else {
            throw TUFError.storage(path: "root.json", detail: "no trusted root stored")
        }
        var set = try NotaryTrustedSet(trustedRoot: pinned, gun: gun, referenceTime: clock(), unsafeAllowExpired: unsafeAllowExpired)
        try updateRoot(&set)
        try set.checkRoot()
        if set.rootBytes != pinned { try store.save(role: "root", bytes: set.rootBytes) }

        guard let ts = try source.fetch(.current(role: "timestamp"), limit: NotaryUpdater.timestampLimit) else {
            throw TUFError.fetch(file: "timestamp.json", .notFound(url: "timestamp.json"))
        }
        try set.updateTimestamp(ts, floor: storedVersion("timestamp"))
        try store.save(role: "timestamp", bytes: ts)

        guard let snapMeta = set.timestamp?.snapshot, let snapHash = snapMeta.sha256 else { throw TUFError.misuse("no snapshot meta") }
        let snap = try fetch(.byHash(role: "snapshot", sha256: snapHash), limit: snapMeta.length)
        try set.updateSnapshot(snap, floor: storedVersion("snapshot"))
        try store.save(role: "snapshot", bytes: snap)

        // Targets, then delegations in pre-order, children in listed order; roles the snapshot does not
        // list are skipped (they have no metadata yet).
        var stack = ["targets"]
        var visited: Set<String> = []
        while let role = stack.popLast() {
            guard visited.insert(role).inserted, let meta = set.snapshot?.meta[role], let hash = meta.sha256 else { continue }
            let bytes = try fetch(.byHash(role: role, sha256: hash), limit: meta.length)
            switch try set.updateTargets(role: role, bytes: bytes, floor: storedVersion(role)) {
            case .accepted(let t):
                try store.save(role: role, bytes: bytes)
                stack.append(contentsOf: t.delegations.map(\.name).reversed())
            case .skipped(let why):
                events(.delegationSkipped(role: role, reason: why))
            }
        }
        for f in set.expiredAccepted { events(.expiredAccepted(file: f)) }
        trusted = set
    }

    private func fetch(_ file: NotaryFile, limit: Int64) throws(TUFError) -> [UInt8] {
        let cap = Int(clamping: min(limit, Int64(NotaryCodec.maxFileBytes)))
        guard let bytes = try source.fetch(file, limit: cap) else { throw TUFError.fetch(file: file.description, .notFound(url: file.description)) }
        return bytes
    }

    /// Follows root rotations: the current `root.json`, verified in one step when the trusted root's keys
    /// signed it, or by walking the stored versions in between.
    private func updateRoot(_ set: inout NotaryTrustedSet) throws(TUFError) {
        guard let remote = try source.fetch(.current(role: "root"), limit: NotaryUpdater.rootLimit) else { return }
        let trustedVersion = set.root.envelope.version
        let offered = try NotaryRoot(bytes: remote, file: "root.json")
        let version = offered.envelope.version
        if version < trustedVersion { throw TUFError.rollback(file: "root.json", trusted: trustedVersion, received: version) }
        if version == trustedVersion { return }
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
    }
}
