// Transport-independent request rules: header validation and what survives a redirect.

/// Header names (lowercased) that carry credentials or are bound to one origin. They are removed
/// when a redirect changes the scheme, host or port, and never restored later in the chain.
let originBoundHeaderNames: Set<String> = ["authorization", "proxy-authorization", "cookie", "host"]

/// Statuses whose `Location` a transport follows (for GET and HEAD only).
/// RFC 9110 §15.4: 301/302/303 change a GET/HEAD into the same GET/HEAD, 307/308 keep the method.
func isFollowableRedirect(_ status: Int) -> Bool {
    status == 301 || status == 302 || status == 303 || status == 307 || status == 308
}

/// The headers to send on a redirected request: unchanged when the origin stays the same,
/// otherwise without the origin-bound headers (`Authorization`, `Proxy-Authorization`,
/// `Cookie`, `Host`).
func headersForRedirect(_ headers: [(String, String)], sameOrigin: Bool) -> [(String, String)] {
    if sameOrigin { return headers }
    return headers.filter { !originBoundHeaderNames.contains(HTTPHeaders.lowercasedASCII($0.0)) }
}

/// Why `headers` cannot be sent, or `nil` if they can. Names must be RFC 9110 tokens; values
/// must not contain CR, LF or NUL (which would let a value inject extra header lines).
/// Transfer-Encoding is chosen by the transport and is refused; a Content-Length is accepted
/// only if it equals `bodyLength` (0 when there is no body). Messages name the header, never
/// its value.
func headerProblem(_ headers: [(String, String)], bodyLength: Int64) -> String? {
    for (name, value) in headers {
        if name.isEmpty || !name.utf8.allSatisfy(isTokenByte) {
            return "header name \"\(printablePrefix(name.utf8, maxCharacters: 64))\" is not a valid HTTP token"
        }
        if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
            return "value of header \(name) contains CR, LF or NUL"
        }
        switch HTTPHeaders.lowercasedASCII(name) {
        case "transfer-encoding":
            return "header Transfer-Encoding is set by the transport and must not be supplied"
        case "content-length":
            let trimmed = value.trimmingASCIIWhitespace()
            if trimmed != String(bodyLength) {
                return "header Content-Length does not match the body length \(bodyLength)"
            }
        default:
            break
        }
    }
    return nil
}

/// RFC 9110 §5.6.2 `tchar`.
private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

extension String {
    /// The string without leading and trailing spaces and horizontal tabs.
    func trimmingASCIIWhitespace() -> String {
        var bytes = Substring(self).utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
