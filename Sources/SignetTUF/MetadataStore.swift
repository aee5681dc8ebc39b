import FoundationEssentials
import Glibc
import SignetPlatform
import SignetFiles

/// Where an updater keeps the trusted metadata between runs: the exact bytes received, by role name.
public protocol MetadataStore: Sendable {
    /// The stored bytes for `role` (e.g. "root", "targets/releases"), or nil; at most `limit` bytes.
    func load(role: String, limit: Int) throws(TUFError) -> [UInt8]?
    /// Stores `bytes` for `role` atomically.
    func save(role: String, bytes: [UInt8]) throws(TUFError)
    /// Forgets `role`.
    func remove(role: String) throws(TUFError)
    /// Starts writing a file for `role` whose bytes are still being received and checked: nothing is
    /// visible under the role's name until `commit()`. Nil when the store does not write ahead (the
    /// caller then calls `save` once the bytes verified).
    func beginSave(role: String) throws(TUFError) -> (any PendingMetadataSave)?
    /// Stores several roles, each atomically, in order (a store may make them durable together).
    func saveAll(_ files: [(role: String, bytes: [UInt8])]) throws(TUFError)
}

extension MetadataStore {
    public func beginSave(role: String) throws(TUFError) -> (any PendingMetadataSave)? { nil }

    public func saveAll(_ files: [(role: String, bytes: [UInt8])]) throws(TUFError) {
        for (role, bytes) in files { try save(role: role, bytes: bytes) }
    }
}

/// A role's file being written ahead of verification (`MetadataStore.beginSave`).
public protocol PendingMetadataSave: AnyObject, Sendable {
    /// Appends bytes (one thread at a time).
    func write(_ bytes: UnsafeRawBufferPointer) throws(TUFError)
    /// Makes what was written the stored file of the role (call only once the bytes verified).
    func commit() throws(TUFError)
    /// Deletes what was written; the stored file of the role stays as it was.
    func discard()
}

/// Stores each role as `DIR/<percent-encoded role>.json` (so `root.json`, `timestamp.json`, …),
/// written atomically.
public struct DirectoryMetadataStore: MetadataStore {
    /// The directory.
    public let directory: String

    /// Uses `directory`, creating it if needed.
    /// - Throws: `TUFError.storage`.
    public init(directory: String) throws(TUFError) {
        self.directory = directory
        try TUFFiles.makeDirectory(directory)
    }

    /// The file path for `role`.
    /// - Throws: `TUFError.invalidMetadata` for a role name with no safe file name.
    public func path(role: String) throws(TUFError) -> String {
        guard let name = PercentEncoding.fileName(for: role, suffix: ".json") else {
            throw TUFError.invalidMetadata(file: role, reason: "role name cannot be stored as a file name")
        }
        return directory + "/" + name
    }

    public func load(role: String, limit: Int) throws(TUFError) -> [UInt8]? {
        try TUFFiles.read(try path(role: role), limit: limit)
    }

    public func save(role: String, bytes: [UInt8]) throws(TUFError) {
        try TUFFiles.write(bytes, to: try path(role: role))
    }

    /// Each file flushed before its rename, the directory flushed once after the last one.
    public func saveAll(_ files: [(role: String, bytes: [UInt8])]) throws(TUFError) {
        var paths: [(path: String, bytes: [UInt8])] = []
        for (role, bytes) in files { paths.append((try path(role: role), bytes)) }
        try TUFFiles.writeAll(paths)
    }

    public func remove(role: String) throws(TUFError) {
        try TUFFiles.remove(try path(role: role))
    }

    /// A temporary file beside the role's file (as `save` writes), renamed into place by `commit()`.
    public func beginSave(role: String) throws(TUFError) -> (any PendingMetadataSave)? {
        let path = try path(role: role)
        do throws(FileError) {
            return DirectoryPendingSave(writer: try AtomicFileWriter(directory: directory, name: "." + AtomicFile.name(of: path)), path: path)
        } catch { throw .file(error) }
    }
}

/// `DirectoryMetadataStore.beginSave`: an `AtomicFileWriter` and the path it commits to.
final class DirectoryPendingSave: PendingMetadataSave, @unchecked Sendable {
    private let writer: AtomicFileWriter
    private let path: String

    init(writer: AtomicFileWriter, path: String) {
        self.writer = writer
        self.path = path
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(TUFError) {
        do throws(FileError) { try writer.write(bytes) } catch { throw .file(error) }
    }

    func commit() throws(TUFError) {
        do throws(FileError) { try writer.commit(to: path) } catch { throw .file(error) }
    }

    func discard() { writer.discard() }
}

/// A `MetadataStore` in memory (for verifying without touching disk, and for tests).
public final class InMemoryMetadataStore: MetadataStore, @unchecked Sendable {
    private let lock = Lock()
    private var files: [String: [UInt8]] = [:]

    /// A store holding `root` (when given) as the trusted root.
    public init(root: [UInt8]? = nil) {
        if let root { files["root"] = root }
    }

    public func load(role: String, limit: Int) throws(TUFError) -> [UInt8]? {
        let b = lock.withLock { files[role] }
        if let b, b.count > limit { throw TUFError.tooLarge(file: role, limit: Int64(limit)) }
        return b
    }

    public func save(role: String, bytes: [UInt8]) throws(TUFError) { lock.withLock { files[role] = bytes } }

    public func remove(role: String) throws(TUFError) { _ = lock.withLock { files.removeValue(forKey: role) } }

    /// Stored roles.
    public var roles: [String] { lock.withLock { Array(files.keys).sorted() } }

    /// Raw access.
    public subscript(role: String) -> [UInt8]? { lock.withLock { files[role] } }
}

/// A store that keeps every change in memory on top of another store until `commit()`, so that an
/// update that fails half-way leaves the underlying trusted state exactly as it was. After `commit()`,
/// changes go straight to the underlying store.
public final class TransactionalMetadataStore: MetadataStore, @unchecked Sendable {
    private let lock = Lock()
    private let base: any MetadataStore
    private var written: [String: [UInt8]] = [:]
    private var order: [String] = []
    private var removed: Set<String> = []
    private var committed = false

    /// Wraps `base`; `seed` files (for example a root not yet pinned) are visible but not yet written.
    public init(base: any MetadataStore, seed: [String: [UInt8]] = [:]) {
        self.base = base
        for (role, bytes) in seed.sorted(by: { $0.key < $1.key }) {
            written[role] = bytes
            order.append(role)
        }
    }

    public func load(role: String, limit: Int) throws(TUFError) -> [UInt8]? {
        let (pending, isRemoved, done) = lock.withLock { (written[role], removed.contains(role), committed) }
        if !done {
            if let pending {
                if pending.count > limit { throw TUFError.tooLarge(file: role, limit: Int64(limit)) }
                return pending
            }
            if isRemoved { return nil }
        }
        return try base.load(role: role, limit: limit)
    }

    public func save(role: String, bytes: [UInt8]) throws(TUFError) {
        let done = lock.withLock { () -> Bool in
            if committed { return true }
            if written[role] == nil { order.append(role) }
            written[role] = bytes
            removed.remove(role)
            return false
        }
        if done { try base.save(role: role, bytes: bytes) }
    }

    public func remove(role: String) throws(TUFError) {
        let done = lock.withLock { () -> Bool in
            if committed { return true }
            written[role] = nil
            order.removeAll { $0 == role }
            removed.insert(role)
            return false
        }
        if done { try base.remove(role: role) }
    }

    /// Whether anything is waiting to be written.
    public var hasChanges: Bool { lock.withLock { !written.isEmpty || !removed.isEmpty } }

    /// Writes the pending changes to the underlying store (root first, removals before the files that
    /// replace them, files it already holds unchanged skipped), then passes later changes straight through.
    /// - Throws: `TUFError.storage` from the underlying store.
    public func commit() throws(TUFError) {
        let (files, gone) = lock.withLock { () -> ([(String, [UInt8])], [String]) in
            let ordered = order.sorted { ($0 == "root" ? 0 : 1) < ($1 == "root" ? 0 : 1) }
            return (ordered.compactMap { r in written[r].map { (r, $0) } }, removed.sorted())
        }
        for role in gone { try base.remove(role: role) }
        // A file the base already holds byte for byte is not written again (no rewrite, no fsync); the
        // others are written together (root first), so that the base can make them durable at once.
        let changed = files.filter { role, bytes in (try? base.load(role: role, limit: bytes.count)) != .some(bytes) }
        try base.saveAll(changed.map { (role: $0.0, bytes: $0.1) })
        lock.withLock {
            written.removeAll()
            order.removeAll()
            removed.removeAll()
            committed = true
        }
    }
}
