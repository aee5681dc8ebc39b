import FoundationEssentials
import SignetPlatform
#if canImport(Glibc)
import Glibc
#endif

/// A file being written that becomes visible under its final name only when complete: bytes go to a
/// temporary file in the destination's directory (`NAME.RANDOM.partial`, created with `O_EXCL`), and
/// `commit` flushes it, renames it into place and flushes the directory. Until then readers see the
/// old file or none; a failed or abandoned writer removes its temporary file. This is the one atomic
/// writer of the package: `AtomicFile.write` and every streaming download use it.
///
/// Used by one thread at a time.
public final class AtomicFileWriter: @unchecked Sendable {
    /// The temporary file's path.
    public let temporaryPath: String
    private var descriptor: Int32
    private let durable: Bool
    /// Bytes written so far.
    public private(set) var written: Int64 = 0
    private var flushedUpTo: Int64 = 0
    /// Set by `flush` (nothing written after it: `write` clears it).
    private var flushed = false
    /// A durable file starts writing back every this many bytes, so the final `fsync` waits only for
    /// the tail and the disk works while a download continues.
    static let writeBackStep: Int64 = 8 << 20

    /// Suffix of temporary files (so that leftovers of a killed process can be recognised).
    public static let temporarySuffix = ".partial"

    /// Creates a temporary file `NAME.RANDOM.partial` in `directory`.
    /// - Parameter durable: whether `commit` fsyncs the file and the directory (turn off only for
    ///   scratch files that are thrown away, or when the caller accepts losing them on power loss).
    /// - Throws: `FileError.io`.
    /// - Parameter locked: hold an exclusive `flock` on the file while it is written, so that another
    ///   process can tell a live temporary file from one left by a killed process (`isAbandoned`). The
    ///   file gets its `.partial` name only once locked.
    public init(directory: String, name: String, mode: mode_t = 0o644, durable: Bool = true, locked: Bool = false) throws(FileError) {
        var random = [UInt8](repeating: 0, count: 8)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        let hex = random.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        temporaryPath = directory + "/" + name + "." + hex + AtomicFileWriter.temporarySuffix
        self.durable = durable
        let creationPath = locked ? directory + "/" + name + "." + hex + AtomicFileWriter.lockingSuffix : temporaryPath
        descriptor = open(creationPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .io(path: creationPath, detail: "cannot create temporary file: \(errnoText())") }
        // The mode is applied even under a restrictive umask.
        _ = fchmod(descriptor, mode)
        if locked {
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, rename(creationPath, temporaryPath) == 0 else {
                let detail = errnoText()
                close(descriptor)
                descriptor = -1
                unlink(creationPath)
                throw .io(path: creationPath, detail: "cannot lock the temporary file: \(detail)")
            }
        }
    }

    /// Suffix of a locked temporary file while it is being created (a moment before it is locked).
    public static let lockingSuffix = ".locking"

    /// Whether the temporary file at `path` (a `.partial` file created with `locked`) was abandoned:
    /// no process holds its lock any more. A file that cannot be opened is not reported.
    public static func isAbandoned(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(fd, LOCK_UN)
        return true
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Appends bytes.
    /// - Throws: `FileError.io`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard descriptor >= 0 else { throw .io(path: temporaryPath, detail: "write after the file was closed") }
        guard var base = bytes.baseAddress else { return }
        flushed = false
        var remaining = bytes.count
        while remaining > 0 {
            let count = Glibc.write(descriptor, base, remaining)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: temporaryPath, detail: "write failed: \(errnoText())")
            }
            remaining -= count
            base += count
            written += Int64(count)
        }
        if durable && written - flushedUpTo >= AtomicFileWriter.writeBackStep {
            // Linux: start writing this range back now (does not wait); fsync later waits for it.
            _ = startWriteBack?(descriptor, flushedUpTo, written - flushedUpTo, 2)   // SYNC_FILE_RANGE_WRITE
            flushedUpTo = written
        }
    }

    /// Appends bytes.
    /// - Throws: `FileError.io`.
    public func write(_ bytes: [UInt8]) throws(FileError) {
        let result: Result<Void, FileError> = bytes.withUnsafeBytes { buffer in
            do throws(FileError) { try write(buffer); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Empties the file (before a retried download).
    /// - Throws: `FileError.io`.
    public func reset() throws(FileError) {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw .io(path: temporaryPath, detail: "cannot truncate: \(errnoText())")
        }
        written = 0
        flushedUpTo = 0
        flushed = false
    }

    /// Flushes what was written to the disk now (durable writers), so that `commit` has only the rename
    /// left; for several files committed together (`AtomicFile.writeAll`). On failure the temporary
    /// file is removed.
    /// - Throws: `FileError.io` naming `path`, the file this one will replace.
    public func flush(for path: String) throws(FileError) {
        guard descriptor >= 0 else { throw .io(path: path, detail: "the temporary file was already closed") }
        guard durable, !flushed else { return }
        if fsync(descriptor) != 0 {
            let detail = errnoText()
            discard()
            throw .io(path: path, detail: "fsync failed: \(detail)")
        }
        flushed = true
    }

    /// Flushes and renames the file to `path` (which must be on the same file system), then flushes the
    /// directory (unless `syncingDirectory` is false: the caller then flushes it, once for several
    /// files, as `AtomicFile.writeAll` does). On failure the temporary file is removed.
    /// - Throws: `FileError.io`.
    public func commit(to path: String, syncingDirectory: Bool = true) throws(FileError) {
        try flush(for: path)
        close(descriptor)
        descriptor = -1
        TestHooks.faultPoint("before-rename", path: path)
        guard rename(temporaryPath, path) == 0 else {
            let detail = errnoText()
            unlink(temporaryPath)
            throw .io(path: path, detail: "cannot move the new file into place: \(detail)")
        }
        if durable && syncingDirectory { AtomicFile.syncDirectory(AtomicFile.directory(of: path)) }
    }

    /// Closes and deletes the temporary file.
    public func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(temporaryPath)
    }
}

/// Linux `sync_file_range(2)`, looked up at run time (the C library declares it only with
/// `_GNU_SOURCE`); nil where it does not exist, in which case only the final `fsync` writes back.
private let startWriteBack: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

/// Whole-file helpers: atomic writes (through `AtomicFileWriter`), bounded reads, directories.
public enum AtomicFile {
    /// Writes `bytes` to `path` so that readers see either the old or the new content, never a mix.
    /// `durable: false` skips the fsyncs, for scratch directories that are thrown away after use.
    /// - Throws: `FileError.io` naming the path and the system error.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(FileError) {
        let writer = try AtomicFileWriter(directory: directory(of: path), name: "." + name(of: path), mode: mode, durable: durable)
        do {
            try writer.write(bytes)
            try writer.commit(to: path)
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Writes several files as `write` does, each replaced atomically and flushed before its rename: all
    /// are written to temporary files and flushed first, then renamed in order, and each directory is
    /// flushed once after the last rename. One flush then finds most of the others' data already on
    /// the disk (ext4 commits one journal transaction for the lot), where writing, flushing and
    /// renaming file by file committed one transaction per file. A crash before the end leaves every
    /// file either old or new (which renames survive it is not ordered: a later file may be new and an
    /// earlier one old). When a file cannot be written or flushed, none is replaced; when a rename
    /// fails, the files renamed before it stay replaced (their directories flushed) and the rest are
    /// not.
    /// - Throws: `FileError.io`.
    public static func writeAll(_ files: [(path: String, bytes: [UInt8])], mode: mode_t = 0o644) throws(FileError) {
        var writers: [(writer: AtomicFileWriter, path: String)] = []
        do {
            for (path, bytes) in files {
                let writer = try AtomicFileWriter(directory: directory(of: path), name: "." + name(of: path), mode: mode, durable: true)
                writers.append((writer, path))
                try writer.write(bytes)
            }
            for (writer, path) in writers { try writer.flush(for: path) }
        } catch {
            for (writer, _) in writers { writer.discard() }
            throw error
        }
        var directories: [String] = []
        defer { for d in directories { syncDirectory(d) } }
        for (i, (writer, path)) in writers.enumerated() {
            do { try writer.commit(to: path, syncingDirectory: false) } catch {
                for (rest, _) in writers[(i + 1)...] { rest.discard() }
                throw error
            }
            let dir = directory(of: path)
            if !directories.contains(dir) { directories.append(dir) }
        }
    }

    /// Reads a file of at most `limit` bytes; nil when it does not exist.
    /// - Throws: `FileError.tooLarge` above the limit (without reading further), `.io` for other errors.
    public static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8]? {
        try read(path, limit: limit, regularOnly: false, followingLinks: true)
    }

    /// Reads a file of at most `limit` bytes from a tree that someone else may have written (a pulled
    /// layout, an export, a copied trust directory); nil when it does not exist. Anything but a regular
    /// file (a FIFO, a device, a directory) is refused without waiting on it, and, unless
    /// `followingLinks`, so is a symbolic link as the last path component.
    /// - Throws: `FileError.io` for those and for other errors, `.tooLarge` above the limit.
    public static func readRegularFile(_ path: String, limit: Int, followingLinks: Bool = false) throws(FileError) -> [UInt8]? {
        try read(path, limit: limit, regularOnly: true, followingLinks: followingLinks)
    }

    private static func read(_ path: String, limit: Int, regularOnly: Bool, followingLinks: Bool) throws(FileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0) | (followingLinks ? 0 : O_NOFOLLOW))
        if fd < 0 {
            if errno == ENOENT { return nil }
            if !followingLinks && errno == ELOOP { throw .io(path: path, detail: "is a symbolic link; only regular files are read here") }
            throw .io(path: path, detail: "cannot open: \(errnoText())")
        }
        defer { close(fd) }
        var info = stat()
        if regularOnly {
            guard fstat(fd, &info) == 0 else { throw .io(path: path, detail: "cannot stat: \(errnoText())") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, detail: "is not a regular file") }
        }
        if regularOnly || fstat(fd, &info) == 0 {
            guard (info.st_mode & S_IFMT) != S_IFDIR else { throw .io(path: path, detail: "is a directory") }
            if (info.st_mode & S_IFMT) == S_IFREG && Int64(info.st_size) > Int64(limit) {
                throw .tooLarge(path: path, limit: Int64(limit))
            }
        }
        var out: [UInt8] = []
        if (info.st_mode & S_IFMT) == S_IFREG { out.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, detail: "read failed: \(errnoText())")
            }
            if n == 0 { break }
            guard out.count + n <= limit else { throw .tooLarge(path: path, limit: Int64(limit)) }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Reads a file that must exist, of at most `limit` bytes.
    /// - Throws: `FileError.io` when it is missing or unreadable, `.tooLarge`.
    public static func readExisting(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
        guard let bytes = try read(path, limit: limit) else { throw .io(path: path, detail: "no such file") }
        return bytes
    }

    /// Removes a file if present.
    /// - Throws: `FileError.io` on failure other than absence.
    public static func remove(_ path: String) throws(FileError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw .io(path: path, detail: "cannot remove: \(errnoText())")
        }
    }

    /// Creates a directory (and parents) with `mode` if missing; an existing non-directory is an error.
    /// - Throws: `FileError.io`.
    public static func makeDirectory(_ path: String, mode: Int = 0o755) throws(FileError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .io(path: path, detail: "exists and is not a directory") }
            return
        }
        // Parents first ("a/b/" is "a/b"; "/" and "." always exist).
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let parent = directory(of: trimmed)
        if parent != trimmed && parent != "." && parent != "/" { try makeDirectory(parent, mode: mode) }
        if mkdir(trimmed, mode_t(mode)) != 0 {
            let code = errno
            if code == EEXIST, stat(trimmed, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
            throw .io(path: path, detail: "cannot create directory: \(String(cString: strerror(code)))")
        }
        // The mode exactly, whatever the umask.
        if chmod(trimmed, mode_t(mode)) != 0 {
            throw .io(path: path, detail: "cannot set the mode of the new directory: \(errnoText())")
        }
    }

    /// Refuses a directory of Signet's own state (its home, its key directory) that another user could
    /// change: one that belongs to another user, or (`link: false`) that is a symbolic link. Nothing is
    /// refused for a directory that does not exist yet (it is made private when created).
    /// - Throws: `FileError.io` naming the directory, its owner and what to do.
    public static func checkOwnDirectory(_ path: String, followingLinks: Bool = true) throws(FileError) {
        var info = stat()
        let found = followingLinks ? stat(path, &info) : lstat(path, &info)
        guard found == 0 else { return }
        if !followingLinks && (info.st_mode & S_IFMT) == S_IFLNK {
            throw .io(path: path, detail: "is a symbolic link; Signet keeps its keys and pins only in a directory of its own")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .io(path: path, detail: "exists and is not a directory") }
        guard info.st_uid == geteuid() else {
            throw .io(path: path, detail: "belongs to user \(info.st_uid), not to this user (\(geteuid())): whoever owns it could replace keys and pinned roots; use a directory of your own (SIGNET_HOME)")
        }
    }

    /// Removes `path` and everything below it.
    /// - Throws: `FileError.io` naming the system's reason when it cannot.
    public static func removeTree(_ path: String) throws(FileError) {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw .io(path: path, detail: "cannot remove: \(systemReason(error))")
        }
    }

    /// The system's reason inside a file-system error thrown by FileManager (its underlying POSIX error,
    /// as `strerror` words it), else the error itself.
    static func systemReason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let posix = cocoa.userInfo["NSUnderlyingError"] as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return "\(error)"
    }

    /// The names in directory `path` (not "." and ".."), in no particular order.
    /// - Throws: `FileError.io` when it cannot be read.
    public static func list(_ path: String) throws(FileError) -> [String] {
        var names: [String] = []
        let code = forEachDirectoryEntry(path) { name, _ in names.append(name) }
        guard code == 0 else { throw .io(path: path, detail: "cannot list: \(String(cString: strerror(code)))") }
        return names
    }

    /// Whether `path` exists (any kind of file).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Flushes a directory's entries to stable storage (after a rename into it).
    public static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// The directory part of `path` ("." for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path`.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
