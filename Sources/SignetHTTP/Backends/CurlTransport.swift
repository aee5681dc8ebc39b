import CCurl
import FoundationEssentials
import Glibc
import SignetPlatform

/// The HTTP(S) `Transport`, built on libcurl.
///
/// - Thread-safe: requests may run concurrently from many threads. Each request borrows an easy
///   handle from a small pool guarded by a lock; handles keep their connections open, so
///   sequential requests to the same host reuse connections. DNS results and TLS sessions are
///   shared between the pooled handles.
/// - TLS certificate and host-name verification are always on; only TLS 1.2 and newer.
/// - Only `http` and `https` are allowed, for the request and for every redirect.
/// - Redirects are followed by this class, not by libcurl, and only for GET and HEAD (other
///   methods get the 3xx response back): at most `maxRedirects` hops; 301/302/303/307/308 keep
///   GET/HEAD. When a hop changes scheme, host or port, `Authorization`, `Proxy-Authorization`,
///   `Cookie` and `Host` are dropped for the rest of the chain.
/// - Bodies are bounded while they arrive (never by trusting `Content-Length`, although a
///   `Content-Length` above the limit fails before the body is read). Streaming hands each
///   chunk libcurl receives to the sink synchronously, inside libcurl's write callback: a slow
///   sink slows the download and memory stays flat.
/// - Uploads send `Content-Length` and no `Expect: 100-continue`; file bodies are streamed.
/// - Proxies come from the environment as described on `CurlTransportOptions`.
public final class CurlTransport: Transport, @unchecked Sendable {
    private let options: CurlTransportOptions
    private let lock = Lock()
    private var idle: [CurlEasy] = []
    private static let maxIdleHandles = 8
    /// libcurl and the share, set up by the first request (``library()``), so that creating a
    /// transport never waits for libcurl to be loaded.
    private var loaded: (curl: UnsafePointer<signet_curl>, share: CurlShare?)?

    /// Creates a transport. libcurl is loaded (if nothing loaded it yet) and checked at the first
    /// request, which fails with `.connection` if libcurl cannot be loaded or initialised or is older
    /// than 7.85.0.
    ///
    /// - Throws: `.io` (with the path as URL) if `options.caFile` is set but not readable.
    public init(options: CurlTransportOptions = .init()) throws(HTTPError) {
        if let caFile = options.caFile, access(caFile, R_OK) != 0 {
            throw .io(url: caFile, detail: "CA bundle is not readable: \(String(cString: strerror(errno)))")
        }
        self.options = options
    }

    /// Where Linux distributions keep the system CA bundle (Debian first), for callers that compose a
    /// bundle of their own (`CurlTransportOptions.caBundlePEM`).
    public static let systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    deinit {
        // Free the easy handles before the share they use.
        idle.removeAll()
    }

    /// libcurl, loaded, initialised and recent enough, and this transport's share.
    private func library() throws(HTTPError) -> (curl: UnsafePointer<signet_curl>, share: CurlShare?) {
        if let ready = lock.withLock({ loaded }) { return ready }
        let curl = try CurlTransport.usableLibrary()
        return lock.withLock {
            if let ready = loaded { return ready }
            let ready = (curl: curl, share: CurlShare(curl))
            loaded = ready
            return ready
        }
    }

    /// libcurl's functions once the library is loaded and initialised, if it is 7.85.0 or newer.
    static func usableLibrary() throws(HTTPError) -> UnsafePointer<signet_curl> {
        let curl: UnsafePointer<signet_curl>
        switch curlLibrary {
        case .success(let functions): curl = functions
        case .failure(let why): throw .connection(url: "", detail: why.detail)
        }
        guard let version = runningCurlVersion(), version.number >= minimumCurlVersion else {
            let found = runningCurlVersion()?.text ?? "unknown"
            throw .connection(url: "", detail: "libcurl 7.85.0 or newer is required, found \(found)")
        }
        guard curlGlobalInitSucceeded else {
            throw .connection(url: "", detail: "libcurl global initialisation failed")
        }
        return curl
    }

    /// Sends `request` and returns the whole response; see `Transport.send`.
    ///
    /// - Throws: `.tooLarge`, `.tooManyRedirects`, `.timeout`, `.tls`, `.connection`, `.io`,
    ///   `.invalidURL`, `.invalidRequest` (see `HTTPError`). Non-2xx statuses are returned.
    public func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let (head, body) = try perform(request, limit: Int64(max(0, maxBodyBytes)), sink: nil)
        return HTTPResponse(head: head, body: body)
    }

    /// Streams a 2xx body into `sink`; see `Transport.stream`.
    ///
    /// - Throws: `.notFound` (404), `.status` (other non-2xx, with up to 64 KiB of the error body
    ///   read for the message), `.tooLarge`, `.sinkFailed`, and the errors of `send`.
    public func stream(_ request: HTTPRequest, maxBodyBytes: Int64,
                       sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let outcome: Result<HTTPResponseHead, HTTPError> = withoutActuallyEscaping(sink) { escapableSink in
            do throws(HTTPError) {
                let (head, _) = try perform(request, limit: max(0, maxBodyBytes), sink: escapableSink)
                return .success(head)
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    // MARK: - Request flow

    /// Runs the request, following redirects, and returns the final head and (when not
    /// streaming) body.
    private func perform(_ request: HTTPRequest, limit: Int64,
                         sink: ((UnsafeRawBufferPointer) throws -> Void)?) throws(HTTPError) -> (HTTPResponseHead, [UInt8]) {
        let originalURL = request.url
        let lib = try library()   // URLs are parsed with libcurl's own parser: it must be there first
        guard var origin = CurlOrigin(request.url) else { throw .invalidURL(request.url) }
        if let problem = headerProblem(request.headers, bodyLength: request.body?.length ?? 0) {
            throw .invalidRequest(url: originalURL, detail: problem)
        }
        if request.method == .head, request.body != nil {
            throw .invalidRequest(url: originalURL, detail: "a HEAD request cannot carry a body")
        }
        let upload = try makeUpload(for: request)
        let easy = try checkOut(url: originalURL, curl: lib.curl)
        // A handle goes back to the pool only after a clean transfer: after a failure libcurl may keep
        // state (for example its receive buffer) that makes later option changes fail.
        var clean = false
        defer { if clean { checkIn(easy) } }

        let followsRedirects = request.method == .get || request.method == .head
        var currentURL = request.url
        var headers = request.headers
        var currentUpload = upload
        var hops = 0
        while true {
            let exchange = CurlExchange(limit: limit, isHead: request.method == .head,
                                        mayFollowRedirects: followsRedirects, sink: sink, upload: currentUpload, deadline: request.deadline)
            guard exchange.mayContinue() else {
                if case .interrupted? = exchange.stop { throw .interrupted(url: originalURL) }
                throw .deadlineExceeded(url: originalURL, received: 0, seconds: 0)
            }
            try run(exchange, on: easy, share: lib.share, url: currentURL, method: request.method, headers: headers,
                    originalURL: originalURL)

            if exchange.isRedirectToFollow {
                guard hops < options.maxRedirects else {
                    throw .tooManyRedirects(url: originalURL, limit: max(0, options.maxRedirects))
                }
                let location = HTTPHeaders(exchange.headers)["Location"] ?? ""
                // RFC 9110 §10.2.2: Location may be relative to the URL that produced it.
                guard var next = CurlOrigin.resolve(location, against: currentURL), let nextOrigin = CurlOrigin(next) else {
                    throw .invalidURL(location)
                }
                hops += 1
                let sameOrigin = nextOrigin == origin
                headers = headersForRedirect(headers, sameOrigin: sameOrigin)
                if !sameOrigin {
                    guard let withoutCredentials = CurlOrigin.removingCredentials(next) else { throw .invalidURL(location) }
                    next = withoutCredentials
                }
                if exchange.status != 307 && exchange.status != 308 {
                    currentUpload = nil
                }
                currentUpload?.position = 0
                currentURL = next
                origin = nextOrigin
                continue
            }

            let head = HTTPResponseHead(status: exchange.status, headers: HTTPHeaders(exchange.headers), finalURL: currentURL)
            if sink != nil, !(200..<300).contains(exchange.status) {
                if exchange.status == 404 { throw .notFound(url: originalURL) }
                throw .status(code: exchange.status, url: originalURL, body: printablePrefix(exchange.errorBody))
            }
            clean = true
            return (head, exchange.body)
        }
    }

    /// The upload source for the request's body; `PUT`/`POST`/`PATCH` without a body upload zero
    /// bytes so that `Content-Length: 0` is sent.
    private func makeUpload(for request: HTTPRequest) throws(HTTPError) -> CurlUpload? {
        switch request.body {
        case .bytes(let bytes):
            return CurlUpload(bytes: bytes)
        case .file(let path, let offset, let length):
            return try CurlUpload(path: path, offset: offset, length: length, url: request.url)
        case nil:
            switch request.method {
            case .put, .post, .patch: return CurlUpload(bytes: [])
            case .get, .head, .delete: return nil
            }
        }
    }

    /// Configures `easy` for one exchange, performs it, and maps libcurl's result.
    private func run(_ exchange: CurlExchange, on easy: CurlEasy, share: CurlShare?, url: String, method: HTTPRequest.Method,
                     headers: [(String, String)], originalURL: String) throws(HTTPError) {
        let handle = easy.handle, curl = easy.curl
        signet_curl_easy_reset(curl, handle)
        easy.errorBuffer[0] = 0

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { signet_curl_slist_free_all(curl, headerList) }
        for line in headerLines(headers, hasBody: exchange.upload != nil) {
            guard let extended = signet_curl_slist_append(curl, headerList, line) else {
                throw .connection(url: originalURL, detail: "out of memory building the header list")
            }
            headerList = extended
        }

        let exchangePointer = Unmanaged.passUnretained(exchange).toOpaque()
        let setup = OptionSetter(curl: curl, handle: handle, url: originalURL)
        try setup.pointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(easy.errorBuffer))
        if let share { try setup.pointer(CURLOPT_SHARE, share.handle) }
        try setup.string(CURLOPT_URL, url)
        try setup.string(CURLOPT_PROTOCOLS_STR, "http,https")
        try setup.string(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try setup.long(CURLOPT_FOLLOWLOCATION, 0)
        try setup.long(CURLOPT_NOSIGNAL, 1)
        try setup.long(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(options.connectTimeout))
        try setup.long(CURLOPT_LOW_SPEED_LIMIT, max(0, options.lowSpeedLimit))
        try setup.long(CURLOPT_LOW_SPEED_TIME, max(0, options.lowSpeedTime))
        // The receive buffer size is a performance hint; a refusal must not fail the request.
        _ = try? setup.long(CURLOPT_BUFFERSIZE, max(1024, options.receiveBufferSize))
        try setup.long(CURLOPT_SSL_VERIFYPEER, 1)
        try setup.long(CURLOPT_SSL_VERIFYHOST, 2)
        try setup.long(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        if let bundle = options.caBundlePEM {
            // libcurl copies the blob (CURL_BLOB_COPY), so the bytes need not outlive the call.
            let code: CURLcode = bundle.withUnsafeBytes { raw in
                var blob = curl_blob(data: UnsafeMutableRawPointer(mutating: raw.baseAddress), len: raw.count, flags: UInt32(CURL_BLOB_COPY))
                return withUnsafeMutablePointer(to: &blob) { signet_curl_easy_setopt_pointer(setup.curl, setup.handle, CURLOPT_CAINFO_BLOB, UnsafeMutableRawPointer($0)) }
            }
            try setup.check(code, CURLOPT_CAINFO_BLOB)
        } else if let caFile = options.caFile {
            try setup.string(CURLOPT_CAINFO, caFile)
        }
        try setup.string(CURLOPT_USERAGENT, options.userAgent)
        try setup.long(CURLOPT_TCP_KEEPALIVE, 1)
        try setup.long(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try setup.slist(CURLOPT_HTTPHEADER, headerList)
        try setup.writeCallback(CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        try setup.pointer(CURLOPT_HEADERDATA, exchangePointer)
        try setup.writeCallback(CURLOPT_WRITEFUNCTION, curlWriteCallback)
        try setup.pointer(CURLOPT_WRITEDATA, exchangePointer)
        // Deadline and interruption are checked at least once a second, however slowly data arrives.
        try setup.xferinfoCallback(CURLOPT_XFERINFOFUNCTION, curlProgressCallback)
        try setup.pointer(CURLOPT_XFERINFODATA, exchangePointer)
        try setup.long(CURLOPT_NOPROGRESS, 0)

        if let upload = exchange.upload {
            let uploadPointer = Unmanaged.passUnretained(upload).toOpaque()
            try setup.long(CURLOPT_UPLOAD, 1)
            try setup.off(CURLOPT_INFILESIZE_LARGE, upload.length)
            try setup.readCallback(CURLOPT_READFUNCTION, curlReadCallback)
            try setup.pointer(CURLOPT_READDATA, uploadPointer)
            try setup.seekCallback(CURLOPT_SEEKFUNCTION, curlSeekCallback)
            try setup.pointer(CURLOPT_SEEKDATA, uploadPointer)
            // UPLOAD makes libcurl send PUT; other methods only rename the request line.
            if method != .put { try setup.string(CURLOPT_CUSTOMREQUEST, method.rawValue) }
        } else {
            switch method {
            case .head: try setup.long(CURLOPT_NOBODY, 1)
            case .get: try setup.long(CURLOPT_HTTPGET, 1)
            case .delete, .put, .post, .patch: try setup.string(CURLOPT_CUSTOMREQUEST, method.rawValue)
            }
        }

        let code = withExtendedLifetime(exchange) { signet_curl_easy_perform(curl, handle) }
        try interpret(code, exchange: exchange, easy: easy, originalURL: originalURL)
    }

    /// `seconds` as whole milliseconds within 1 ms ... 1 day (non-finite values: the default 15 s).
    private func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return 15_000 }
        return Int(min(max(seconds * 1000, 1), 86_400_000).rounded())
    }

    /// The `Name: value` lines for libcurl: the caller's headers, plus an empty `Expect:` when a
    /// body is sent (so libcurl does not wait for `100 Continue`). A caller's `Content-Length`
    /// is left out: libcurl sends the (equal, validated) length itself.
    private func headerLines(_ headers: [(String, String)], hasBody: Bool) -> [String] {
        var lines: [String] = []
        var sawExpect = false
        for (name, value) in headers {
            let lower = HTTPHeaders.lowercasedASCII(name)
            if lower == "content-length" { continue }
            if lower == "expect" { sawExpect = true }
            // libcurl reads "Name:" as "remove this header"; "Name;" sends it with an empty value.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if hasBody && !sawExpect { lines.append("Expect:") }
        return lines
    }

    /// Turns libcurl's result and the callbacks' stop reason into success or an `HTTPError`.
    private func interpret(_ code: CURLcode, exchange: CurlExchange, easy: CurlEasy, originalURL: String) throws(HTTPError) {
        if let failure = exchange.upload?.failure {
            throw .io(url: originalURL, detail: failure)
        }
        switch exchange.stop {
        case .bodyTooLarge?:
            throw .tooLarge(url: originalURL, limit: exchange.limit)
        case .declaredTooLarge(let declared)?:
            throw .declaredTooLarge(url: originalURL, declared: declared, limit: exchange.limit)
        case .deadlineExceeded?:
            throw .deadlineExceeded(url: originalURL, received: exchange.delivered, seconds: exchange.elapsed)
        case .interrupted?:
            throw .interrupted(url: originalURL)
        case .headersTooLarge?:
            throw .tooLarge(url: originalURL, limit: Int64(CurlExchange.maxHeaderBytes))
        case .sinkFailed(let error)?:
            throw .sinkFailed(url: originalURL, underlying: error)
        case .enoughRead?:
            return
        case nil:
            break
        }
        if code == CURLE_OK {
            if !exchange.headersComplete || exchange.status < 200 {
                throw .connection(url: originalURL, detail: "the server sent no complete HTTP response")
            }
            return
        }
        let detail = easy.message(for: code)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            throw .timeout(url: originalURL, detail: detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
             CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            throw .tls(url: originalURL, detail: detail)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            throw .invalidURL(originalURL)
        case CURLE_READ_ERROR, CURLE_ABORTED_BY_CALLBACK:
            throw .io(url: originalURL, detail: detail)
        default:
            // Refused, reset, DNS, proxy, HTTP/2 framing, malformed replies, early close...
            throw .connection(url: originalURL, detail: detail)
        }
    }

    // MARK: - Handle pool

    private func checkOut(url: String, curl: UnsafePointer<signet_curl>) throws(HTTPError) -> CurlEasy {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        if let reused { return reused }
        guard let created = CurlEasy(curl) else {
            throw .connection(url: url, detail: "libcurl could not create a handle")
        }
        return created
    }

    private func checkIn(_ easy: CurlEasy) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < CurlTransport.maxIdleHandles { idle.append(easy) }
    }
}

/// Typed `curl_easy_setopt` calls that turn a refused option into an error naming it.
private struct OptionSetter {
    let curl: UnsafePointer<signet_curl>
    let handle: UnsafeMutableRawPointer
    let url: String

    func check(_ code: CURLcode, _ option: CURLoption) throws(HTTPError) {
        guard code == CURLE_OK else {
            let text = signet_curl_easy_strerror(curl, code).map { String(cString: $0) } ?? "error \(code.rawValue)"
            throw .connection(url: url, detail: "libcurl refused option \(option.rawValue): \(text)")
        }
    }

    func long(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(signet_curl_easy_setopt_long(curl, handle, option, value), option)
    }

    func off(_ option: CURLoption, _ value: Int64) throws(HTTPError) {
        try check(signet_curl_easy_setopt_off(curl, handle, option, curl_off_t(value)), option)
    }

    func string(_ option: CURLoption, _ value: String) throws(HTTPError) {
        // libcurl copies string options, so the temporary C string may go away afterwards.
        try check(signet_curl_easy_setopt_string(curl, handle, option, value), option)
    }

    func pointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws(HTTPError) {
        try check(signet_curl_easy_setopt_pointer(curl, handle, option, value), option)
    }

    func slist(_ option: CURLoption, _ value: UnsafeMutablePointer<curl_slist>?) throws(HTTPError) {
        try check(signet_curl_easy_setopt_slist(curl, handle, option, value), option)
    }

    func writeCallback(_ option: CURLoption, _ value: curl_write_callback) throws(HTTPError) {
        try check(signet_curl_easy_setopt_write_callback(curl, handle, option, value), option)
    }

    func readCallback(_ option: CURLoption, _ value: curl_read_callback) throws(HTTPError) {
        try check(signet_curl_easy_setopt_read_callback(curl, handle, option, value), option)
    }

    func seekCallback(_ option: CURLoption, _ value: curl_seek_callback) throws(HTTPError) {
        try check(signet_curl_easy_setopt_seek_callback(curl, handle, option, value), option)
    }

    func xferinfoCallback(_ option: CURLoption, _ value: curl_xferinfo_callback) throws(HTTPError) {
        try check(signet_curl_easy_setopt_xferinfo_callback(curl, handle, option, value), option)
    }
}
