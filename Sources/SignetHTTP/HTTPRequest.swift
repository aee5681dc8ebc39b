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

    /// Creates a request. Does not throw; the transport validates the request when sending it.
    public init(method: Method = .get, url: String, headers: [(String, String)] = [], body: HTTPBody? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
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
