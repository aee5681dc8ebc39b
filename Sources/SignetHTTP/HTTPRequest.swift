import FoundationEssentials
import Glibc
import SignetPlatform
/// One HTTP request: method, absolute URL, ordered headers and an optional body.
///
/// Values are plain data; building one never fails and never touches the network. A `Transport`
/// validates the URL and the headers when it sends the request and throws `HTTPError` if they are
/// unusable.
public struct HTTPRequest: Sendable {
    /// The HTTP methods Signet uses.
    public enum Method: String, Sendable {
        /// `GET`: fetch a resource.
        case get = "GET"
        /// `HEAD`: fetch only the response head (status and headers); no body is read.
        case head = "HEAD"
        /// `PUT`: upload a resource.
        case put = "PUT"
        /// `POST`: submit data (e.g. start an upload session).
        case post = "POST"
        /// `PATCH`: partial upload.
        case patch = "PATCH"
        /// `DELETE`: remove a resource.
        case delete = "DELETE"
    }

    /// The request method.
    public var method: Method
    /// Absolute URL: `http://` or `https://` for `CurlTransport`, `file://` for `FileTransport`.
    public var url: String
    /// Request headers in the order they are sent. Names are compared case-insensitively; a
    /// name or value containing CR, LF or NUL makes the transport throw `.invalidRequest`.
    public var headers: [(String, String)]
    /// The request body, or `nil` for none. `PUT`, `POST` and `PATCH` without a body are sent
    /// with `Content-Length: 0`.
    public var body: HTTPBody?
    /// When the whole exchange (connecting, sending, receiving) must have ended; past it the transfer
    /// stops with `.deadlineExceeded`, however slowly bytes keep arriving. `nil`: no deadline.
    public var deadline: TransferDeadline?

    /// Creates a request. Does not throw; the transport validates the request when sending it.
    public init(method: Method = .get, url: String, headers: [(String, String)] = [], body: HTTPBody? = nil,
                deadline: TransferDeadline? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
    }
}

/// A point on the monotonic clock by which a transfer must end.
public struct TransferDeadline: Sendable, Comparable {
    /// Monotonic nanoseconds.
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// `seconds` from now (at most a year).
    public init(secondsFromNow seconds: Double) {
        let clamped = max(0, min(seconds.isFinite ? seconds : 0, 365 * 86400))
        nanoseconds = TransferDeadline.now() + UInt64(clamped * 1e9)
    }

    /// Monotonic nanoseconds now.
    public static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    public var hasPassed: Bool { TransferDeadline.now() >= nanoseconds }

    /// Seconds left (0 once passed).
    public var secondsLeft: Double {
        let n = TransferDeadline.now()
        return n >= nanoseconds ? 0 : Double(nanoseconds - n) / 1e9
    }

    public static func < (a: TransferDeadline, b: TransferDeadline) -> Bool { a.nanoseconds < b.nanoseconds }
}

/// A process-wide request to stop every transfer (SIGINT/SIGTERM): transports check it at least once a
/// second while a transfer runs, and stop with `.interrupted`. A short critical section (for example
/// publishing the signature of a tag just pushed) can hold the stop off until it ends.
public enum TransferInterruption {
    private static let state = InterruptionState()

    /// Asks every running and later transfer to stop.
    public static func request() { state.set() }

    /// Whether a stop was asked for and no critical section holds it off.
    public static var isRequested: Bool { state.isRequested }

    /// Whether a stop was asked for, held off or not.
    public static var wasRequested: Bool { state.wasRequested }

    /// Whether a critical section is running.
    public static var isHeldOff: Bool { state.isHeldOff }

    /// Runs `body` with stops held off (transfers inside it still have their deadlines).
    public static func holdingOff<T>(_ body: () throws -> T) rethrows -> T {
        state.enter()
        defer { state.leave() }
        return try body()
    }
}

private final class InterruptionState: @unchecked Sendable {
    private let lock = Lock()
    private var value = false
    private var held = 0
    func set() { lock.withLock { value = true } }
    var isRequested: Bool { lock.withLock { value && held == 0 } }
    var wasRequested: Bool { lock.withLock { value } }
    var isHeldOff: Bool { lock.withLock { held > 0 } }
    func enter() { lock.withLock { held += 1 } }
    func leave() { lock.withLock { held -= 1 } }
}

/// A request body.
public enum HTTPBody: Sendable {
    /// Bytes held in memory.
    case bytes([UInt8])
    /// `length` bytes of the file at `path` starting at byte `offset`, streamed from disk while
    /// sending (never loaded whole). The transport throws `.io` if the file cannot be opened or
    /// is shorter than `offset + length`.
    case file(path: String, offset: Int64, length: Int64)

    /// Number of bytes this body sends (`Content-Length`).
    public var length: Int64 {
        switch self {
        case .bytes(let bytes): return Int64(bytes.count)
        case .file(_, _, let length): return length
        }
    }
}
