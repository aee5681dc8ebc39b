import SignetFiles
#if canImport(Glibc)
import Glibc
#endif

extension TUFError {
    /// A file error as a TUF error: too-large stays too-large, everything else is a storage error.
    public static func file(_ e: FileError) -> TUFError {
        if case .tooLarge(let path, let limit) = e { return .tooLarge(file: path, limit: limit) }
        return .storage(path: e.path, detail: e.detail)
    }
}

/// The shared file helpers (`SignetFiles`) with `TUFError` as their error type.
enum TUFFiles {
    static func read(_ path: String, limit: Int) throws(TUFError) -> [UInt8]? {
        do throws(FileError) { return try AtomicFile.read(path, limit: limit) } catch { throw .file(error) }
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(TUFError) {
        do throws(FileError) { try AtomicFile.write(bytes, to: path, mode: mode, durable: durable) } catch { throw .file(error) }
    }

    static func writeAll(_ files: [(path: String, bytes: [UInt8])]) throws(TUFError) {
        do throws(FileError) { try AtomicFile.writeAll(files) } catch { throw .file(error) }
    }

    static func remove(_ path: String) throws(TUFError) {
        do throws(FileError) { try AtomicFile.remove(path) } catch { throw .file(error) }
    }

    static func makeDirectory(_ path: String, mode: Int = 0o755) throws(TUFError) {
        do throws(FileError) { try AtomicFile.makeDirectory(path, mode: mode) } catch { throw .file(error) }
    }
}
