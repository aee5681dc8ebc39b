#if canImport(Glibc)
import Glibc
#endif

/// Errors of the file helpers every Signet module shares. Each names the path and what went wrong.
public enum FileError: Error, Sendable, CustomStringConvertible {
    /// More bytes than the caller's limit.
    case tooLarge(path: String, limit: Int64)
    /// A system call failed.
    case io(path: String, detail: String)
    /// A name that cannot become a file name safely (empty, `.`, `..`, too long, or with a separator).
    case unsafeName(String)

    public var description: String {
        switch self {
        case .tooLarge(let path, let limit): return "\(path): larger than the limit of \(limit) bytes"
        case .io(let path, let detail): return "\(path): \(detail)"
        case .unsafeName(let name): return "\"\(name)\" cannot be used as a file name"
        }
    }

    /// The path the error is about.
    public var path: String {
        switch self {
        case .tooLarge(let p, _), .io(let p, _): return p
        case .unsafeName(let n): return n
        }
    }

    /// The text of the error without its path.
    public var detail: String {
        switch self {
        case .tooLarge(_, let limit): return "larger than the limit of \(limit) bytes"
        case .io(_, let d): return d
        case .unsafeName: return "not a safe file name"
        }
    }
}

/// The text of the current `errno`.
public func errnoText() -> String { String(cString: strerror(errno)) }
