import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A private scratch directory: created by `mkdtemp(3)` (unpredictable name, mode 0700) under
/// `$TMPDIR` (or /tmp), removed with everything in it by `remove()` or when released.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory's path.
    public let path: String
    private var removed = false

    /// Creates the directory.
    /// - Throws: `FileError.io`.
    public init(prefix: String = "signet") throws(FileError) {
        var base = Environment.value("TMPDIR") ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/" + prefix + ".XXXXXXXX").utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let p = buffer.baseAddress, mkdtemp(p) != nil else { return nil }
            return String(cString: p)
        }
        guard let made else { throw .io(path: base, detail: "cannot create a private temporary directory: \(errnoText())") }
        path = made
    }

    /// Removes the directory and its content (idempotent).
    public func remove() {
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}
