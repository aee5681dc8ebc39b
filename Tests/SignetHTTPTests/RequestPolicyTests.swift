@testable import SignetHTTP
import XCTest

final class RequestPolicyTests: XCTestCase {
    func testHeaderLookupIsCaseInsensitiveAndOrdered() {
        let headers = HTTPHeaders([("WWW-Authenticate", "Bearer a"), ("Content-Type", "x"), ("www-authenticate", "Basic b")])
        XCTAssertEqual(headers["www-AUTHENTICATE"], "Bearer a")
        XCTAssertEqual(headers.values("WWW-Authenticate"), ["Bearer a", "Basic b"])
        XCTAssertNil(headers["Missing"])
        XCTAssertTrue(headers.contains("content-type"))
        XCTAssertEqual(headers.all.count, 3)
        // Only ASCII case folds: the Kelvin sign must not match "k".
        XCTAssertNil(HTTPHeaders([("\u{212A}ey", "v")])["key"])
    }

    func testCrossOriginRedirectDropsCredentialHeaders() {
        let headers = [("Authorization", "Bearer t"), ("accept", "a"), ("COOKIE", "c"), ("Proxy-Authorization", "p"),
                       ("Host", "h"), ("X-Other", "o")]
        XCTAssertEqual(headersForRedirect(headers, sameOrigin: true).count, 6)
        let filtered = headersForRedirect(headers, sameOrigin: false)
        XCTAssertEqual(filtered.map { $0.0 }, ["accept", "X-Other"])
    }

    func testFollowableRedirectStatuses() {
        XCTAssertEqual((300...399).filter(isFollowableRedirect), [301, 302, 303, 307, 308])
    }

    func testHeaderProblems() {
        XCTAssertNil(headerProblem([("Content-Type", "a/b"), ("X-Empty", "")], bodyLength: 0))
        XCTAssertNotNil(headerProblem([("X", "a\nb")], bodyLength: 0))
        XCTAssertNotNil(headerProblem([("X", "a\rb")], bodyLength: 0))
        XCTAssertNotNil(headerProblem([("X Y", "a")], bodyLength: 0))
        XCTAssertNotNil(headerProblem([("", "a")], bodyLength: 0))
        XCTAssertNotNil(headerProblem([("Transfer-Encoding", "chunked")], bodyLength: 0))
        XCTAssertNil(headerProblem([("Content-Length", "12")], bodyLength: 12))
        XCTAssertNotNil(headerProblem([("content-length", "13")], bodyLength: 12))
        let problem = headerProblem([("Authorization", "secret\r\nvalue")], bodyLength: 0) ?? ""
        XCTAssertFalse(problem.contains("secret"), "messages never include header values")
    }

    func testRedactedURLHidesCredentialsAndQuery() {
        XCTAssertEqual(redactedURL("https://user:pw@host.example:8443/v2/x?X-Amz-Signature=abc#frag"),
                       "https://***@host.example:8443/v2/x?***")
        XCTAssertEqual(redactedURL("http://host/path"), "http://host/path")
        XCTAssertEqual(redactedURL("not a url?q=1"), "not a url?***")
        let error = HTTPError.status(code: 401, url: "https://u:hunter2@r.example/v2/?token=t0k", body: "denied")
        XCTAssertFalse(error.description.contains("hunter2"))
        XCTAssertFalse(error.description.contains("t0k"))
        XCTAssertTrue(error.description.contains("401"))
    }

    func testPrintablePrefix() {
        XCTAssertEqual(printablePrefix(Array("  line1\nline2\u{1}\t".utf8)), "line1 line2?")
        XCTAssertEqual(printablePrefix([0xFF, 0x41]), "\u{FFFD}A")
        XCTAssertEqual(printablePrefix(Array(repeating: UInt8(ascii: "a"), count: 5000)).count, 1024)
    }

    func testErrorDescriptionsSayWhatHappened() {
        XCTAssertEqual(HTTPError.tooLarge(url: "http://h/x", limit: 10).description,
                       "response from http://h/x is larger than the limit of 10 bytes")
        XCTAssertEqual(HTTPError.notFound(url: "file:///r/1.root.json").description, "not found (HTTP 404): file:///r/1.root.json")
        XCTAssertEqual(HTTPError.tooManyRedirects(url: "http://h/", limit: 5).description, "more than 5 redirects starting at http://h/")
    }

    func testOriginsUseLibcurlsParser() {
        XCTAssertEqual(CurlOrigin("HTTP://Example.COM/x"), CurlOrigin("http://example.com:80/y?q"))
        XCTAssertEqual(CurlOrigin("https://h/"), CurlOrigin("https://h:443/"))
        XCTAssertNotEqual(CurlOrigin("http://h:443/"), CurlOrigin("https://h/"), "scheme is part of the origin")
        XCTAssertNotEqual(CurlOrigin("http://h/"), CurlOrigin("http://h:8080/"))
        XCTAssertNotEqual(CurlOrigin("http://127.0.0.1/"), CurlOrigin("http://127.0.0.2/"))
        XCTAssertEqual(CurlOrigin("http://user:pw@h/"), CurlOrigin("http://h/"))
        XCTAssertNil(CurlOrigin("ftp://h/"))
        XCTAssertNil(CurlOrigin("/relative"))
        XCTAssertNil(CurlOrigin("file:///etc/passwd"))
    }

    func testRedirectResolution() {
        XCTAssertEqual(CurlOrigin.resolve("/b?x=1", against: "http://h:81/a/c?q"), "http://h:81/b?x=1")
        XCTAssertEqual(CurlOrigin.resolve("d", against: "http://h/a/c"), "http://h/a/d")
        XCTAssertEqual(CurlOrigin.resolve("https://o/p", against: "http://h/a"), "https://o/p")
        let schemeRelative = CurlOrigin.resolve("//other/p", against: "http://u:pw@h/a") ?? ""
        XCTAssertTrue(schemeRelative.hasPrefix("http://"), schemeRelative)
        XCTAssertFalse(schemeRelative.contains("pw"), schemeRelative)
        XCTAssertEqual(CurlOrigin.removingCredentials("http://u:pw@other/p"), "http://other/p")
    }

    func testStatusLineParsing() {
        func parse(_ text: String) -> Int? {
            Array(text.utf8).withUnsafeBufferPointer { CurlExchange.parseStatus($0) }
        }
        XCTAssertEqual(parse("HTTP/1.1 200 OK"), 200)
        XCTAssertEqual(parse("HTTP/2 404"), 404)
        XCTAssertNil(parse("HTTP/1.1 20 OK"))
        XCTAssertNil(parse("HTTP/1.1"))
    }
}
