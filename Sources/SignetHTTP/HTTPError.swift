/// Everything that can go wrong while sending a request or reading a response.
///
/// In every case `url` is the URL the caller asked for (not an intermediate redirect target).
/// `description` never contains header values (such as `Authorization`), and URLs in it are
/// shown without user-info and with the query string redacted, since both can carry credentials.
public enum HTTPError: Error, Sendable, CustomStringConvertible {
    /// The server answered 404 (or, for `file://`, the file does not exist).
    case notFound(url: String)
    /// The server answered with a status the caller did not accept; `body` is a short printable
    /// prefix of the error body (at most 1024 characters, control characters replaced).
    case status(code: Int, url: String, body: String)
    /// The response body exceeded the caller's `limit` in bytes. Response headers larger than
    /// the transport's fixed header limit (256 KiB) are reported the same way, with that limit.
    case tooLarge(url: String, limit: Int64)
    /// Connecting took longer than the connect timeout, or the transfer stayed below the
    /// low-speed limit for the low-speed time.
    case timeout(url: String, detail: String)
    /// TLS handshake or certificate verification failed.
    case tls(url: String, detail: String)
    /// The connection could not be made or broke: refused, reset, DNS failure, malformed reply.
    case connection(url: String, detail: String)
    /// A local file could not be read (upload source, `file://` resource).
    case io(url: String, detail: String)
    /// The server redirected more than `limit` times.
    case tooManyRedirects(url: String, limit: Int)
    /// The URL (the request's, or a redirect's `Location`) is malformed or uses a scheme the
    /// transport does not support. The associated value is the offending URL.
    case invalidURL(String)
    /// The request cannot be sent as given: a header containing CR/LF/NUL, a `HEAD` with a
    /// body, a method the transport does not support, a negative body offset or length.
    case invalidRequest(url: String, detail: String)
    /// The caller's body sink threw; `underlying` is the error it threw.
    case sinkFailed(url: String, underlying: any Error)
    /// The request's deadline passed before the exchange ended; `received` body bytes had arrived in
    /// `seconds`.
    case deadlineExceeded(url: String, received: Int64, seconds: Double)
    /// The transfer was stopped because the process was asked to stop (`TransferInterruption`).
    case interrupted(url: String)
    /// The response declared a body (`Content-Length`) larger than the caller's limit; nothing of it
    /// was read.
    case declaredTooLarge(url: String, declared: Int64, limit: Int64)

    /// A one-line human message saying what was expected and what happened.
    public var description: String {
        switch self {
        case .notFound(let url):
            return "not found (HTTP 404): \(redactedURL(url))"
        case .status(let code, let url, let body):
            let suffix = body.isEmpty ? "" : ": \(body)"
            return "unexpected HTTP status \(code) (expected 2xx) from \(redactedURL(url))\(suffix)"
        case .tooLarge(let url, let limit):
            return "response from \(redactedURL(url)) is larger than the limit of \(limit) bytes"
        case .timeout(let url, let detail):
            return "timed out talking to \(redactedURL(url)): \(detail)"
        case .tls(let url, let detail):
            return "TLS failure talking to \(redactedURL(url)): \(detail)"
        case .connection(let url, let detail):
            // No URL: the transport itself could not be set up (libcurl missing or too old).
            if url.isEmpty { return "cannot make HTTP requests: \(detail)" }
            return "connection failure talking to \(redactedURL(url)): \(detail)"
        case .io(let url, let detail):
            return "I/O error for \(redactedURL(url)): \(detail)"
        case .tooManyRedirects(let url, let limit):
            return "more than \(limit) redirects starting at \(redactedURL(url))"
        case .invalidURL(let url):
            return "invalid or unsupported URL: \(redactedURL(url))"
        case .invalidRequest(let url, let detail):
            return "invalid request to \(redactedURL(url)): \(detail)"
        case .sinkFailed(let url, let underlying):
            return "the consumer of the body from \(redactedURL(url)) failed: \(underlying)"
        case .deadlineExceeded(let url, let received, let seconds):
            let rate = seconds > 0 ? Int64(Double(received) / seconds) : 0
            return "gave up on \(redactedURL(url)) after \(Int(seconds.rounded())) s: \(received) bytes received (\(rate) bytes/s), the transfer's deadline passed"
        case .interrupted(let url):
            return "interrupted while talking to \(redactedURL(url))"
        case .declaredTooLarge(let url, let declared, let limit):
            return "\(redactedURL(url)) declared \(declared) bytes (Content-Length), more than the \(limit) expected; nothing was read"
        }
    }
}

/// `url` with user-info replaced by `***` and the query string by `?***`, so that neither
/// passwords nor signed query tokens (pre-signed blob URLs, upload state) reach logs.
/// The fragment is dropped. Works on any string; never throws.
func redactedURL(_ url: String) -> String {
    var text = Substring(url)
    if let hash = text.firstIndex(of: "#") {
        text = text[..<hash]
    }
    var query = ""
    if let question = text.firstIndex(of: "?") {
        text = text[..<question]
        query = "?***"
    }
    guard let schemeEnd = text.firstRange(of: "://") else {
        return String(text) + query
    }
    let authorityStart = schemeEnd.upperBound
    let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
    let authority = text[authorityStart..<authorityEnd]
    guard let at = authority.lastIndex(of: "@") else {
        return String(text) + query
    }
    let host = authority[authority.index(after: at)...]
    let scheme = String(text[..<authorityStart])
    let rest = String(text[authorityEnd...])
    return scheme + "***@" + String(host) + rest + query
}

/// A printable prefix of an error body: at most `maxCharacters` characters, decoded as UTF-8
/// (invalid sequences become U+FFFD), line breaks and tabs turned into spaces, other control
/// characters into `?`, surrounding whitespace trimmed.
func printablePrefix(_ bytes: some Collection<UInt8>, maxCharacters: Int = 1024) -> String {
    let limited = Array(bytes.prefix(maxCharacters * 4))
    var result = ""
    var count = 0
    for scalar in String(decoding: limited, as: UTF8.self).unicodeScalars {
        if count >= maxCharacters { break }
        switch scalar.value {
        case 0x09, 0x0A, 0x0D:
            result.unicodeScalars.append(" ")
        case 0x00..<0x20, 0x7F, 0x80..<0xA0:
            result.unicodeScalars.append("?")
        default:
            result.unicodeScalars.append(scalar)
        }
        count += 1
    }
    while result.hasSuffix(" ") { result.removeLast() }
    while result.hasPrefix(" ") { result.removeFirst() }
    return result
}
