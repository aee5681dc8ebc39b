/// Status line and headers of the final response (after any redirects that were followed).
public struct HTTPResponseHead: Sendable {
    /// The HTTP status code, e.g. 200.
    public var status: Int
    /// The headers of the final response only (not of redirects or `100 Continue`).
    public var headers: HTTPHeaders
    /// The URL that produced this response: the request URL, or the last redirect target.
    public var finalURL: String

    /// Creates a response head (used by transports and by in-memory test transports).
    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), finalURL: String) {
        self.status = status
        self.headers = headers
        self.finalURL = finalURL
    }
}

/// A complete response: head plus the body read into memory (bounded by the caller's limit).
public struct HTTPResponse: Sendable {
    /// Status, headers and final URL.
    public var head: HTTPResponseHead
    /// The body bytes (empty for `HEAD` and for bodiless responses).
    public var body: [UInt8]
    /// Shorthand for `head.status`.
    public var status: Int { head.status }

    /// Creates a response (used by transports and by in-memory test transports).
    public init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }
}
