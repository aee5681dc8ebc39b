import Foundation
import SignetHTTP
import XCTest

final class FileTransportTests: XCTestCase {
    private var directory: URL!
    private let transport = FileTransport()

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("signet-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return "file://" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path)
    }

    func testReadsAFile() throws {
        let url = write("data bin", patternBytes(count: 5000))
        let response = try transport.send(HTTPRequest(url: url), maxBodyBytes: 5000)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, patternBytes(count: 5000))
        XCTAssertEqual(response.head.headers["Content-Length"], "5000")
        XCTAssertEqual(response.head.finalURL, url)
        XCTAssertEqual(try transport.get(url, maxBodyBytes: 5000), patternBytes(count: 5000))
    }

    func testHeadReportsLengthWithoutBody() throws {
        let url = write("head", patternBytes(count: 777))
        let response = try transport.send(HTTPRequest(method: .head, url: url), maxBodyBytes: 1)
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(response.head.headers["content-length"], "777")
    }

    func testMissingFileIsNotFound() {
        let url = "file://" + directory.appendingPathComponent("missing.json").path
        assertHTTPError({ try transport.get(url, maxBodyBytes: 10) }) {
            if case .notFound(url) = $0 { return true }
            return false
        }
        assertHTTPError({ try transport.stream(HTTPRequest(url: url), maxBodyBytes: 10) { _ in } }) {
            if case .notFound = $0 { return true }
            return false
        }
        assertHTTPError({ try transport.get(url + "/below", maxBodyBytes: 10) }) {
            if case .notFound = $0 { return true }
            return false
        }
    }

    func testCapIsEnforced() throws {
        let url = write("big", patternBytes(count: 10_001))
        assertHTTPError({ try transport.send(HTTPRequest(url: url), maxBodyBytes: 10_000) }) {
            if case .tooLarge(_, 10_000) = $0 { return true }
            return false
        }
        var received = 0
        assertHTTPError({ try transport.stream(HTTPRequest(url: url), maxBodyBytes: 10_000) { received += $0.count } }) {
            if case .tooLarge(_, 10_000) = $0 { return true }
            return false
        }
        XCTAssertEqual(received, 0)
        XCTAssertEqual(try transport.send(HTTPRequest(url: url), maxBodyBytes: 10_001).body.count, 10_001)
    }

    func testStreamsInChunksOfAtMostOneMiB() throws {
        let size = (5 << 20) / 2
        let url = write("stream", patternBytes(count: size))
        var collected: [UInt8] = []
        var chunkSizes: [Int] = []
        let head = try transport.stream(HTTPRequest(url: url), maxBodyBytes: Int64(size)) { chunk in
            chunkSizes.append(chunk.count)
            collected.append(contentsOf: chunk)
        }
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(collected.count, size)
        XCTAssertNil(firstPatternMismatch(collected))
        XCTAssertEqual(chunkSizes.count, 3)
        XCTAssertTrue(chunkSizes.allSatisfy { $0 <= 1 << 20 })
    }

    func testSinkErrorIsKept() {
        struct Stop: Error {}
        let url = write("sink", [1, 2, 3])
        assertHTTPError({ try transport.stream(HTTPRequest(url: url), maxBodyBytes: 10) { _ in throw Stop() } }) {
            if case .sinkFailed(_, let underlying) = $0 { return underlying is Stop }
            return false
        }
    }

    func testRejectsOtherSchemesMethodsAndDirectories() {
        for url in ["http://127.0.0.1/x", "file://example.com/etc/hosts", "file:relative", "file:///a?query"] {
            assertHTTPError({ try transport.get(url, maxBodyBytes: 10) }) {
                if case .invalidURL(url) = $0 { return true }
                return false
            }
        }
        let url = write("upload", [1])
        assertHTTPError({ try transport.send(HTTPRequest(method: .put, url: url, body: .bytes([1])), maxBodyBytes: 10) }) {
            if case .invalidRequest = $0 { return true }
            return false
        }
        assertHTTPError({ try transport.get("file://" + directory.path, maxBodyBytes: 10) }) {
            if case .io = $0 { return true }
            return false
        }
    }

    func testLocalhostHostIsAccepted() throws {
        let path = directory.appendingPathComponent("local").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([9, 8, 7])))
        XCTAssertEqual(try transport.get("file://localhost" + path, maxBodyBytes: 3), [9, 8, 7])
    }
}
