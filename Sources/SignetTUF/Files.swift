import Foundation

/// Percent-encoding of untrusted names before they become URLs or file names.
public enum PercentEncoding {
    /// Encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), and `/` when
    /// `keepSlash` is set.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        for b in text.utf8 {
            let unreserved = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
                || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e || (keepSlash && b == 0x2f)
            if unreserved {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A file name for an untrusted name: fully percent-encoded, never `.`/`..`/empty, at most 255 bytes.
    /// - Returns: nil when no safe name exists.
    public static func fileName(for name: String, suffix: String = "") -> String? {
        let encoded = encode(name) + suffix
        guard !encoded.isEmpty, encoded != ".", encoded != "..", encoded.utf8.count <= 255 else { return nil }
        return encoded
    }
}

/// Atomic, durable file writes: a temporary file in the same directory, fsync, rename, fsync of the directory.
public enum AtomicFile {
    /// Writes `bytes` to `path` so that readers see either the old or the new content, never a mix.
    /// `durable: false` skips the fsyncs, for scratch directories that are thrown away after use.
    /// - Throws: `TUFError.storage` naming the path and the system error.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(TUFError) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TUFError.storage(path: path, detail: "cannot create temporary file: \(errnoText())") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        var written = 0
        let writeError: String? = bytes.withUnsafeBytes { buf -> String? in
            while written < buf.count {
                guard let base = buf.baseAddress else { return nil }
                let n = Glibc.write(fd, base + written, buf.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errnoText()
                }
                written += n
            }
            return nil
        }
        if let writeError {
            close(fd)
            throw TUFError.storage(path: path, detail: "write failed: \(writeError)")
        }
        if fchmod(fd, mode) != 0 || (durable && fsync(fd) != 0) {
            let e = errnoText()
            close(fd)
            throw TUFError.storage(path: path, detail: "fsync failed: \(e)")
        }
        close(fd)
        try AtomicFile.faultPoint("before-rename", path: path)
        guard rename(tmp, path) == 0 else { throw TUFError.storage(path: path, detail: "rename failed: \(errnoText())") }
        ok = true
        if durable { syncDirectory(dir) }
    }

    /// Reads a file of at most `limit` bytes; nil when it does not exist.
    /// - Throws: `TUFError.storage` for other errors, `.tooLarge` above the limit.
    public static func read(_ path: String, limit: Int) throws(TUFError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw TUFError.storage(path: path, detail: "cannot open: \(errnoText())")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TUFError.storage(path: path, detail: "read failed: \(errnoText())")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw TUFError.tooLarge(file: path, limit: Int64(limit)) }
        }
        return out
    }

    /// Removes a file if present.
    /// - Throws: `TUFError.storage` on failure other than absence.
    public static func remove(_ path: String) throws(TUFError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw TUFError.storage(path: path, detail: "cannot remove: \(errnoText())")
        }
    }

    /// Creates a directory (and parents) with `mode` if missing.
    /// - Throws: `TUFError.storage`.
    public static func makeDirectory(_ path: String, mode: Int = 0o755) throws(TUFError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: mode])
        } catch {
            throw TUFError.storage(path: path, detail: "cannot create directory: \(error.localizedDescription)")
        }
    }

    static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Test hook: when `SIGNET_FAULT_INJECT` is `POINT` or `POINT:FILENAME` for this point (and file),
    /// the process exits abruptly here (status 70), to prove that an interrupted write leaves the
    /// previous state intact.
    static func faultPoint(_ name: String, path: String) throws(TUFError) {
        guard let spec = ProcessInfo.processInfo.environment["SIGNET_FAULT_INJECT"] else { return }
        let file = URL(fileURLWithPath: path).lastPathComponent
        guard spec == name || spec == "\(name):\(file)" else { return }
        _exit(70)
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
