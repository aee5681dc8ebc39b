/// Something that can perform HTTP-like requests: `CurlTransport` (http/https), `FileTransport`
/// (file://) or an in-memory simulator in tests.
///
/// Every read is bounded by a caller-supplied limit; `Content-Length` is never trusted.
public protocol Transport: Sendable {
    /// Sends `request` and returns the response with its whole body, reading at most
    /// `maxBodyBytes + 1` body bytes.
    ///
    /// Non-2xx statuses are returned, not thrown, so callers can read 401 challenges and 404s.
    /// Redirects (GET/HEAD only) are followed up to the transport's limit.
    /// - Throws: `.tooLarge` when the body exceeds `maxBodyBytes` (a `Content-Length` above the
    ///   limit may fail before any body is read); `.tooManyRedirects`, `.timeout`, `.tls`,
    ///   `.connection`, `.io`, `.invalidURL`, `.invalidRequest` as described on `HTTPError`.
    func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse

    /// Streams a 2xx response body into `sink` chunk by chunk and returns the response head.
    ///
    /// `sink` runs synchronously on the calling thread; while it runs no more data is read, so a
    /// slow sink slows the download instead of buffering it. The buffer it receives is valid only
    /// during that call (copy what must be kept). The sink never receives more than
    /// `maxBodyBytes` bytes in total. For a non-2xx final response the body is not passed to the
    /// sink: up to 64 KiB of it is read for the error message.
    /// - Throws: `.notFound` for 404, `.status` for any other non-2xx status, `.tooLarge` once more
    ///   than `maxBodyBytes` arrive, `.sinkFailed` (carrying the sink's error) when the sink
    ///   throws, and the transport errors listed for `send`.
    func stream(_ request: HTTPRequest, maxBodyBytes: Int64,
                sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead
}

extension Transport {
    /// GETs `url` and returns its body, requiring a 2xx status.
    ///
    /// - Throws: `.notFound` for 404, `.status` (with a printable body prefix) for any other
    ///   non-2xx status, `.tooLarge` if the body exceeds `maxBodyBytes`, and the errors of `send`.
    public func get(_ url: String, headers: [(String, String)] = [], maxBodyBytes: Int, deadline: TransferDeadline? = nil) throws(HTTPError) -> [UInt8] {
        let response = try send(HTTPRequest(method: .get, url: url, headers: headers, deadline: deadline), maxBodyBytes: maxBodyBytes)
        switch response.status {
        case 200..<300:
            return response.body
        case 404:
            throw .notFound(url: url)
        default:
            throw .status(code: response.status, url: url, body: printablePrefix(response.body))
        }
    }
}
