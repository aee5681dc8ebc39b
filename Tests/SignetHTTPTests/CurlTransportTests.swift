import Foundation
import SignetHTTP
import XCTest

final class CurlTransportTests: XCTestCase {
    private var servers: TestServers!
    private var transport: CurlTransport!

    override func setUpWithError() throws {
        servers = try sharedServers.get()
        transport = try CurlTransport()
    }

    private var main: TestServer { servers.main }

    // MARK: - Plain reads

    func testSendReturnsBodyHeadersAndFinalURL() throws {
        let url = main.url("/bytes/100000")
        let response = try transport.send(HTTPRequest(url: url), maxBodyBytes: 1 << 20)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body.count, 100_000)
        XCTAssertNil(firstPatternMismatch(response.body))
        XCTAssertEqual(response.head.headers["content-length"], "100000")
        XCTAssertEqual(response.head.headers["CONTENT-TYPE"], "application/octet-stream")
        XCTAssertEqual(response.head.finalURL, url)
    }

    func testGetConvenienceReturnsBody() throws {
        let body = try transport.get(main.url("/bytes/4097"), maxBodyBytes: 4097)
        XCTAssertEqual(body, patternBytes(count: 4097))
    }

    func testChunkedAndCloseDelimitedBodiesWithinTheCap() throws {
        for path in ["/chunked/300000", "/close/300000"] {
            let body = try transport.get(main.url(path), maxBodyBytes: 300_000)
            XCTAssertEqual(body.count, 300_000, path)
            XCTAssertNil(firstPatternMismatch(body), path)
        }
    }

    func testHeadReadsNoBody() throws {
        let response = try transport.send(HTTPRequest(method: .head, url: main.url("/bytes/12345")), maxBodyBytes: 10)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(response.head.headers["Content-Length"], "12345")
        let head = try transport.stream(HTTPRequest(method: .head, url: main.url("/bytes/12345")), maxBodyBytes: 10) { _ in
            XCTFail("a HEAD response has no body to stream")
        }
        XCTAssertEqual(head.status, 200)
    }

    func testRequestHeadersAreSentInOrderWithDefaultUserAgent() throws {
        let headers = [("X-First", "1"), ("X-Second", "two words"), ("X-Empty", ""), ("Accept", "application/json")]
        let body = try transport.get(main.url("/echo-headers"), headers: headers, maxBodyBytes: 1 << 16)
        let received = headerPairs(try json(body))
        let names = received.map { $0.0.lowercased() }
        XCTAssertEqual(received.first { $0.0 == "X-Second" }?.1, "two words")
        XCTAssertEqual(received.first { $0.0 == "X-Empty" }?.1, "")
        XCTAssertEqual(received.first { $0.0 == "Accept" }?.1, "application/json")
        XCTAssertEqual(received.first { $0.0 == "User-Agent" }?.1, "signet/0.1")
        if let first = names.firstIndex(of: "x-first"), let second = names.firstIndex(of: "x-second") {
            XCTAssertLessThan(first, second)
        } else {
            XCTFail("custom headers missing: \(received)")
        }
        XCTAssertFalse(names.contains("accept-encoding"), "bodies must arrive as stored, not re-encoded")
    }

    // MARK: - Size caps

    func testSendFailsWhenContentLengthExceedsTheCap() {
        assertHTTPError({ try transport.send(HTTPRequest(url: main.url("/bytes/2000")), maxBodyBytes: 1999) }) {
            if case .declaredTooLarge(_, 2000, 1999) = $0 { return true }
            return false
        }
    }

    func testSendAcceptsABodyExactlyAtTheCap() throws {
        XCTAssertEqual(try transport.send(HTTPRequest(url: main.url("/bytes/2000")), maxBodyBytes: 2000).body.count, 2000)
    }

    func testSendCapsBodiesWithoutContentLength() {
        for path in ["/chunked/300000", "/close/300000"] {
            assertHTTPError({ try transport.send(HTTPRequest(url: main.url(path)), maxBodyBytes: 299_999) }) {
                if case .tooLarge(_, 299_999) = $0 { return true }
                return false
            }
        }
    }

    func testContentLengthBelowTheCapDoesNotHideALargerChunkedBody() {
        // The server claims "Content-Length: 10" but sends a 3 MB chunked body.
        let url = main.url("/lie-chunked/3000000")
        assertHTTPError({ try transport.send(HTTPRequest(url: url), maxBodyBytes: 1 << 20) }) {
            if case .tooLarge(_, 1 << 20) = $0 { return true }
            return false
        }
        var received = 0
        assertHTTPError({
            try transport.stream(HTTPRequest(url: url), maxBodyBytes: 1 << 20) { received += $0.count }
        }) {
            if case .tooLarge = $0 { return true }
            return false
        }
        XCTAssertLessThanOrEqual(received, 1 << 20)
    }

    func testBytesBeyondAShortContentLengthAreNeverRead() throws {
        // "Content-Length: 10" followed by 500000 bytes: only the framed 10 bytes are the body.
        let body = try transport.get(main.url("/lie-short/500000"), maxBodyBytes: 1 << 20)
        XCTAssertEqual(body, patternBytes(count: 10))
        // The connection carrying the extra bytes is not reused for the next response.
        XCTAssertEqual(try transport.get(main.url("/bytes/7"), maxBodyBytes: 7), patternBytes(count: 7))
    }

    func testStreamFailsEarlyOnALargeContentLength() {
        var received = 0
        assertHTTPError({
            try transport.stream(HTTPRequest(url: main.url("/bytes/5000000")), maxBodyBytes: 1000) { received += $0.count }
        }) {
            if case .declaredTooLarge(_, 5_000_000, 1000) = $0 { return true }
            return false
        }
        XCTAssertEqual(received, 0, "nothing is delivered when Content-Length already exceeds the cap")
    }

    func testStreamStopsOnceTheCapIsPassedWithoutContentLength() {
        var received = 0
        assertHTTPError({
            try transport.stream(HTTPRequest(url: main.url("/chunked/3000000")), maxBodyBytes: 1_000_000) { received += $0.count }
        }) {
            if case .tooLarge(_, 1_000_000) = $0 { return true }
            return false
        }
        XCTAssertLessThanOrEqual(received, 1_000_000)
    }

    func testStreamDeliversEveryByteInBoundedChunks() throws {
        let options = CurlTransportOptions(receiveBufferSize: 256 * 1024)
        let transport = try CurlTransport(options: options)
        var collected: [UInt8] = []
        var largest = 0
        let head = try transport.stream(HTTPRequest(url: main.url("/bytes/3145728")), maxBodyBytes: 3_145_728) { chunk in
            largest = max(largest, chunk.count)
            collected.append(contentsOf: chunk)
        }
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(collected.count, 3_145_728)
        XCTAssertNil(firstPatternMismatch(collected))
        XCTAssertLessThanOrEqual(largest, 256 * 1024)
    }

    func testStreamDeliversChunksAsTheyArrive() throws {
        // 10 chunks of 20000 bytes, 30 ms apart: the first must reach the sink long before the end.
        let start = Date()
        var firstChunkAt: TimeInterval?
        var received = 0
        _ = try transport.stream(HTTPRequest(url: main.url("/slow/200000?chunk=20000&delay=30")), maxBodyBytes: 200_000) { chunk in
            if firstChunkAt == nil { firstChunkAt = Date().timeIntervalSince(start) }
            received += chunk.count
        }
        let total = Date().timeIntervalSince(start)
        XCTAssertEqual(received, 200_000)
        XCTAssertGreaterThan(total, 0.25)
        XCTAssertLessThan(try XCTUnwrap(firstChunkAt), total - 0.15, "the body was buffered before reaching the sink")
    }

    func testSinkErrorIsReportedWithTheOriginalError() {
        struct Refused: Error, Equatable { let code: Int }
        assertHTTPError({
            try transport.stream(HTTPRequest(url: main.url("/bytes/100000")), maxBodyBytes: 1 << 20) { _ in
                throw Refused(code: 7)
            }
        }) {
            if case .sinkFailed(_, let underlying) = $0 { return (underlying as? Refused) == Refused(code: 7) }
            return false
        }
    }

    // MARK: - Statuses and failures

    func testNotFound() throws {
        let url = main.url("/status/404")
        let response = try transport.send(HTTPRequest(url: url), maxBodyBytes: 1024)
        XCTAssertEqual(response.status, 404, "send returns non-2xx responses")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "status 404 body\n")
        assertHTTPError({ try transport.get(url, maxBodyBytes: 1024) }) {
            if case .notFound(let failing) = $0 { return failing == url }
            return false
        }
        assertHTTPError({ try transport.stream(HTTPRequest(url: url), maxBodyBytes: 1024) { _ in XCTFail("no body for 404") } }) {
            if case .notFound = $0 { return true }
            return false
        }
    }

    func testServerErrorBecomesStatusWithABodyPrefix() {
        let url = main.url("/status/500")
        assertHTTPError({ try transport.get(url, maxBodyBytes: 1024) }) {
            if case .status(500, url, "status 500 body") = $0 { return true }
            return false
        }
        // A large error body is read only partially and reported as a short printable prefix.
        assertHTTPError({
            try transport.stream(HTTPRequest(url: main.url("/status/503?size=300000")), maxBodyBytes: 1 << 30) { _ in
                XCTFail("error bodies are not streamed")
            }
        }) {
            if case .status(503, _, let body) = $0 { return body.hasPrefix("status 503 body status 503") && body.count <= 1024 }
            return false
        }
    }

    func testConnectionRefused() {
        assertHTTPError({ try transport.get("http://127.0.0.1:1/", maxBodyBytes: 10) }) {
            if case .connection(let url, let detail) = $0 { return url == "http://127.0.0.1:1/" && !detail.isEmpty }
            return false
        }
    }

    func testConnectionResetByPeer() {
        assertHTTPError({ try transport.get(main.url("/reset"), maxBodyBytes: 10) }) {
            if case .connection = $0 { return true }
            return false
        }
    }

    func testLowSpeedTimeout() throws {
        let transport = try CurlTransport(options: CurlTransportOptions(lowSpeedLimit: 100, lowSpeedTime: 1))
        let start = Date()
        assertHTTPError({ try transport.get(main.url("/stall"), maxBodyBytes: 10_000) }) {
            if case .timeout = $0 { return true }
            return false
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 8)
    }

    func testUnsupportedOrMalformedURLs() {
        for url in ["ftp://127.0.0.1/x", "file:///etc/hosts", "not a url", "http://", "/relative/path", "gopher://127.0.0.1/"] {
            assertHTTPError({ try transport.get(url, maxBodyBytes: 10) }) {
                if case .invalidURL(url) = $0 { return true }
                return false
            }
        }
    }

    func testHeaderInjectionIsRejectedBeforeSending() throws {
        let id = UUID().uuidString
        let url = main.url("/record?id=\(id)")
        for headers in [[("X-Token", "a\r\nX-Injected: 1")], [("Bad Name", "x")], [("X-Nul", "a\u{0}b")],
                        [("Transfer-Encoding", "chunked")]] {
            assertHTTPError({ try transport.get(url, headers: headers, maxBodyBytes: 1024) }) {
                if case .invalidRequest(_, let detail) = $0 { return !detail.contains("X-Injected") }
                return false
            }
        }
        let recorded = try transport.send(HTTPRequest(url: main.url("/recorded?id=\(id)")), maxBodyBytes: 1 << 16)
        XCTAssertEqual(recorded.status, 404, "nothing reached the server")
    }

    // MARK: - Redirects

    private func recordedRequests(on server: TestServer, id: String) throws -> [[String: Any]] {
        let body = try transport.get(server.url("/recorded?id=\(id)"), maxBodyBytes: 1 << 20)
        return (try json(body) as? [[String: Any]]) ?? []
    }

    private let credentials = [("Authorization", "Bearer s3cret-token"), ("Cookie", "session=abc"), ("X-Custom", "kept")]

    func testSameOriginRedirectKeepsAuthorization() throws {
        let id = UUID().uuidString
        let target = "/record?id=\(id)"
        let response = try transport.send(
            HTTPRequest(url: main.url("/redirect?to=\(queryEncoded(target))"), headers: credentials), maxBodyBytes: 1 << 16)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.head.finalURL, main.url(target))
        let recorded = try recordedRequests(on: main, id: id)
        XCTAssertEqual(recorded.count, 1)
        let headers = HTTPHeaders(headerPairs(recorded.first?["headers"]))
        XCTAssertEqual(headers["authorization"], "Bearer s3cret-token")
        XCTAssertEqual(headers["cookie"], "session=abc")
        XCTAssertEqual(headers["x-custom"], "kept")
    }

    private func assertCrossOriginRedirectDropsCredentials(to server: TestServer, file: StaticString = #filePath, line: UInt = #line) throws {
        let id = UUID().uuidString
        let target = server.url("/record?id=\(id)")
        let response = try transport.send(
            HTTPRequest(url: main.url("/redirect?to=\(queryEncoded(target))"), headers: credentials), maxBodyBytes: 1 << 16)
        XCTAssertEqual(response.status, 200, file: file, line: line)
        XCTAssertEqual(response.head.finalURL, target, file: file, line: line)
        let recorded = try recordedRequests(on: server, id: id)
        XCTAssertEqual(recorded.count, 1, file: file, line: line)
        let headers = HTTPHeaders(headerPairs(recorded.first?["headers"]))
        XCTAssertNil(headers["authorization"], "Authorization leaked to \(target)", file: file, line: line)
        XCTAssertNil(headers["cookie"], "Cookie leaked to \(target)", file: file, line: line)
        XCTAssertEqual(headers["x-custom"], "kept", file: file, line: line)
    }

    func testRedirectToAnotherPortDropsAuthorization() throws {
        XCTAssertEqual(servers.otherPort.host, main.host)
        XCTAssertNotEqual(servers.otherPort.port, main.port)
        try assertCrossOriginRedirectDropsCredentials(to: servers.otherPort)
    }

    func testRedirectToAnotherHostDropsAuthorization() throws {
        XCTAssertNotEqual(servers.otherHost.host, main.host)
        try assertCrossOriginRedirectDropsCredentials(to: servers.otherHost)
    }

    func testCredentialsStayDroppedWhenARedirectChainReturnsToTheOrigin() throws {
        let id = UUID().uuidString
        let back = main.url("/record?id=\(id)")
        let away = servers.otherPort.url("/redirect?to=\(queryEncoded(back))")
        _ = try transport.send(HTTPRequest(url: main.url("/redirect?to=\(queryEncoded(away))"), headers: credentials),
                               maxBodyBytes: 1 << 16)
        let headers = HTTPHeaders(headerPairs(try recordedRequests(on: main, id: id).first?["headers"]))
        XCTAssertEqual(headers["x-custom"], "kept")
        XCTAssertNil(headers["authorization"])
    }

    func testURLCredentialsDoNotFollowACrossOriginRedirect() throws {
        let sameID = UUID().uuidString, otherID = UUID().uuidString
        let withCredentials = "http://alice:wonderland@\(main.host):\(main.port)"
        _ = try transport.send(HTTPRequest(url: withCredentials + "/redirect?to=\(queryEncoded("/record?id=\(sameID)"))"),
                               maxBodyBytes: 1 << 16)
        let kept = HTTPHeaders(headerPairs(try recordedRequests(on: main, id: sameID).first?["headers"]))
        XCTAssertEqual(kept["Authorization"], "Basic YWxpY2U6d29uZGVybGFuZA==", "same origin keeps URL credentials")

        let target = servers.otherHost.url("/record?id=\(otherID)")
        _ = try transport.send(HTTPRequest(url: withCredentials + "/redirect?to=\(queryEncoded(target))"), maxBodyBytes: 1 << 16)
        let dropped = HTTPHeaders(headerPairs(try recordedRequests(on: servers.otherHost, id: otherID).first?["headers"]))
        XCTAssertEqual(dropped["Host"], "\(servers.otherHost.host):\(servers.otherHost.port)")
        XCTAssertNil(dropped["Authorization"])
    }

    func testRedirectLimit() throws {
        let transport = try CurlTransport(options: CurlTransportOptions(maxRedirects: 3))
        XCTAssertEqual(try transport.get(main.url("/chain/3"), maxBodyBytes: 100), Array("done".utf8))
        assertHTTPError({ try transport.get(main.url("/chain/4"), maxBodyBytes: 100) }) {
            if case .tooManyRedirects(_, 3) = $0 { return true }
            return false
        }
        // Default limit: 5.
        XCTAssertEqual(try self.transport.get(main.url("/chain/5"), maxBodyBytes: 100), Array("done".utf8))
        assertHTTPError({ try self.transport.get(main.url("/chain/6"), maxBodyBytes: 100) }) {
            if case .tooManyRedirects(_, 5) = $0 { return true }
            return false
        }
    }

    func testRedirectsKeepGetAndHead() throws {
        for (method, code) in [(HTTPRequest.Method.head, 303), (.head, 301), (.get, 307), (.get, 308), (.get, 303)] {
            let id = UUID().uuidString
            let url = main.url("/redirect?code=\(code)&to=\(queryEncoded("/record?id=\(id)"))")
            let response = try transport.send(HTTPRequest(method: method, url: url), maxBodyBytes: 1 << 16)
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(try recordedRequests(on: main, id: id).first?["method"] as? String, method.rawValue, "\(method) \(code)")
        }
    }

    func testLargeRedirectBodyIsSkipped() throws {
        let url = main.url("/redirect?size=1200000&to=\(queryEncoded("/bytes/5"))")
        XCTAssertEqual(try transport.get(url, maxBodyBytes: 5), patternBytes(count: 5))
    }

    func testUploadsAreNotRedirected() throws {
        let url = main.url("/redirect?code=307&to=\(queryEncoded("/upload"))")
        let response = try transport.send(HTTPRequest(method: .put, url: url, body: .bytes([1, 2, 3])), maxBodyBytes: 1 << 16)
        XCTAssertEqual(response.status, 307)
        XCTAssertEqual(response.head.headers["Location"], "/upload")
    }

    func testRedirectToAnUnsupportedSchemeIsRefused() {
        let url = main.url("/redirect?to=\(queryEncoded("file:///etc/passwd"))")
        assertHTTPError({ try transport.get(url, maxBodyBytes: 1 << 16) }) {
            if case .invalidURL("file:///etc/passwd") = $0 { return true }
            return false
        }
    }

    // MARK: - Uploads

    private func patternDigest(offset: Int, length: Int) throws -> String {
        String(decoding: try transport.get(main.url("/pattern-sha256?offset=\(offset)&length=\(length)"), maxBodyBytes: 100), as: UTF8.self)
    }

    func testUploadBytesWithEachMethod() throws {
        let bytes = patternBytes(offset: 5, count: 300_000)
        let expected = try patternDigest(offset: 5, length: 300_000)
        for method in [HTTPRequest.Method.put, .post, .patch] {
            let response = try transport.send(
                HTTPRequest(method: method, url: main.url("/upload"), headers: [("Content-Type", "application/octet-stream")],
                            body: .bytes(bytes)), maxBodyBytes: 1 << 16)
            XCTAssertEqual(response.status, 200)
            let report = try XCTUnwrap(try json(response.body) as? [String: Any])
            XCTAssertEqual(report["method"] as? String, method.rawValue)
            XCTAssertEqual(report["length"] as? Int, 300_000)
            XCTAssertEqual(report["sha256"] as? String, expected)
            let headers = HTTPHeaders(headerPairs(report["headers"]))
            XCTAssertEqual(headers["Content-Length"], "300000")
            XCTAssertNil(headers["Expect"], "no Expect: 100-continue round trip")
            XCTAssertNil(headers["Transfer-Encoding"])
        }
    }

    func testUploadFileRangeIsStreamedFromDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("signet-upload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(patternBytes(count: 3_000_000))))
        let expected = try patternDigest(offset: 1000, length: 2_500_000)
        let response = try transport.send(
            HTTPRequest(method: .put, url: main.url("/upload"), body: .file(path: path, offset: 1000, length: 2_500_000)),
            maxBodyBytes: 1 << 16)
        let report = try XCTUnwrap(try json(response.body) as? [String: Any])
        XCTAssertEqual(report["length"] as? Int, 2_500_000)
        XCTAssertEqual(report["sha256"] as? String, expected)
        XCTAssertNil(HTTPHeaders(headerPairs(report["headers"]))["Expect"])

        assertHTTPError({
            try transport.send(HTTPRequest(method: .put, url: main.url("/upload"),
                                           body: .file(path: path, offset: 1000, length: 3_000_000)), maxBodyBytes: 1 << 16)
        }) {
            if case .io(_, let detail) = $0 { return detail.contains("3001000") }
            return false
        }
        assertHTTPError({
            try transport.send(HTTPRequest(method: .put, url: main.url("/upload"),
                                           body: .file(path: path + ".missing", offset: 0, length: 1)), maxBodyBytes: 1 << 16)
        }) {
            if case .io = $0 { return true }
            return false
        }
    }

    func testBodilessPostSendsZeroContentLength() throws {
        let response = try transport.send(HTTPRequest(method: .post, url: main.url("/upload")), maxBodyBytes: 1 << 16)
        let report = try XCTUnwrap(try json(response.body) as? [String: Any])
        XCTAssertEqual(report["method"] as? String, "POST")
        XCTAssertEqual(report["length"] as? Int, 0)
        XCTAssertEqual(HTTPHeaders(headerPairs(report["headers"]))["Content-Length"], "0")
    }

    func testDeleteWithoutBody() throws {
        let id = UUID().uuidString
        let response = try transport.send(HTTPRequest(method: .delete, url: main.url("/record?id=\(id)")), maxBodyBytes: 1 << 16)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(try recordedRequests(on: main, id: id).first?["method"] as? String, "DELETE")
    }

    // MARK: - Connections, threads, TLS

    func testSequentialRequestsReuseTheConnection() throws {
        let first = try XCTUnwrap(try json(try transport.get(main.url("/conn"), maxBodyBytes: 1024)) as? [String: Any])
        let second = try XCTUnwrap(try json(try transport.get(main.url("/conn"), maxBodyBytes: 1024)) as? [String: Any])
        XCTAssertEqual(first["port"] as? Int, second["port"] as? Int)
    }

    func testConcurrentRequestsFromManyThreads() {
        let transport = self.transport!
        let base = main.base
        let failures = NSLock()
        nonisolated(unsafe) var problems: [String] = []
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            let size = 1000 + index * 997
            do {
                let body = try transport.get(base + "/bytes/\(size)", maxBodyBytes: size)
                if body.count != size || firstPatternMismatch(body) != nil {
                    failures.withLock { problems.append("request \(index): wrong body") }
                }
            } catch {
                failures.withLock { problems.append("request \(index): \(error)") }
            }
        }
        XCTAssertEqual(problems, [])
    }

    func testTLSIsVerifiedAndTheCAFileIsUsed() throws {
        let tls = servers.tls
        assertHTTPError({ try transport.get(tls.url("/bytes/10"), maxBodyBytes: 10) }) {
            if case .tls = $0 { return true }
            return false
        }
        let trusting = try CurlTransport(options: CurlTransportOptions(caFile: tls.caFile))
        XCTAssertEqual(try trusting.get(tls.url("/bytes/10"), maxBodyBytes: 10), patternBytes(count: 10))
        // Host-name verification: a valid chain for another name is refused.
        assertHTTPError({ try trusting.get(servers.tlsWrongName.url("/bytes/10"), maxBodyBytes: 10) }) {
            if case .tls = $0 { return true }
            return false
        }
    }

    func testUnreadableCAFileIsRejected() {
        assertHTTPError({ try CurlTransport(options: CurlTransportOptions(caFile: "/nonexistent/ca.pem")) }) {
            if case .io("/nonexistent/ca.pem", _) = $0 { return true }
            return false
        }
    }

    // MARK: - Back-pressure

    func testSlowSinkKeepsMemoryFlat() throws {
        let size: Int64 = 256 << 20
        // Reset the peak-RSS counter if the kernel allows it, so VmHWM measures this test only.
        let peakReset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let baseline = try XCTUnwrap(procStatusKiB("VmRSS"))
        var received: Int64 = 0
        var chunks = 0
        var highest = baseline
        let start = Date()
        let head = try transport.stream(HTTPRequest(url: main.url("/bytes/\(size)")), maxBodyBytes: size) { chunk in
            received += Int64(chunk.count)
            chunks += 1
            // A consumer slower than the loopback producer: 2 ms per 512 KiB is ~250 MB/s.
            if chunks % 32 == 0 { usleep(2000) }
            if chunks % 16 == 0, let now = procStatusKiB("VmRSS") { highest = max(highest, now) }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(received, size)
        let growthMiB = Double(highest - baseline) / 1024
        XCTAssertLessThan(growthMiB, 48, "resident memory grew by \(growthMiB) MiB while streaming \(size >> 20) MiB")
        if peakReset, let peak = procStatusKiB("VmHWM") {
            XCTAssertLessThan(Double(peak - baseline) / 1024, 48, "peak resident memory grew by \(Double(peak - baseline) / 1024) MiB")
        }
        XCTAssertLessThan(elapsed, 10)
        print("streamed \(size >> 20) MiB in \(chunks) chunks, \(String(format: "%.2f", elapsed)) s, RSS growth \(String(format: "%.1f", growthMiB)) MiB")
    }
}
