import Foundation
import SignetHTTP
import XCTest

/// A running instance of `scripts/http-test-server.py`. The server exits on its own when this
/// process goes away (it watches its stdin), and `stop()` ends it earlier.
final class TestServer: @unchecked Sendable {
    let host: String
    let port: Int
    let scheme: String
    /// PEM file of the CA that signed the server certificate (TLS servers only).
    let caFile: String?
    private let process: Process
    private let input: Pipe

    /// `scheme://host:port`.
    var base: String { "\(scheme)://\(host):\(port)" }

    /// Starts a server bound to `host` (`port` 0 picks a free one) and waits for its port.
    init(host: String = "127.0.0.1", port: Int = 0, tls: Bool = false) throws {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()   // SignetHTTPTests
            .deletingLastPathComponent()   // Tests
            .deletingLastPathComponent()   // package root
            .appendingPathComponent("scripts/http-test-server.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--host", host, "--port", String(port)] + (tls ? ["--tls"] : [])
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()

        let wanted = tls ? 2 : 1
        var text = ""
        while text.filter({ $0 == "\n" }).count < wanted {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= wanted, let bound = Int(lines[0]) else {
            process.terminate()
            throw TestServerError.startFailed("python3 \(script.path) --host \(host) --port \(port) printed \(text.debugDescription)")
        }
        self.host = host
        self.port = bound
        self.scheme = tls ? "https" : "http"
        self.caFile = tls ? lines[1] : nil
        self.process = process
        self.input = input
    }

    func url(_ path: String) -> String { base + path }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}

enum TestServerError: Error {
    case startFailed(String)
}

/// The servers every test uses, started once per test process.
final class TestServers: Sendable {
    /// Main server on 127.0.0.1.
    let main: TestServer
    /// Same host as `main`, different port.
    let otherPort: TestServer
    /// Different host (127.0.0.2, the whole of 127/8 is loopback on Linux), same port as `main`
    /// when that port is free there.
    let otherHost: TestServer
    /// HTTPS server on 127.0.0.1 with a certificate from a test CA (names 127.0.0.1, localhost).
    let tls: TestServer
    /// The same HTTPS server on 127.0.0.2, an address its certificate does not name.
    let tlsWrongName: TestServer

    init() throws {
        // Loopback traffic must not go through a proxy configured in the environment.
        setenv("no_proxy", "127.0.0.1,127.0.0.2,localhost", 1)
        setenv("NO_PROXY", "127.0.0.1,127.0.0.2,localhost", 1)
        main = try TestServer()
        otherPort = try TestServer()
        if let samePort = try? TestServer(host: "127.0.0.2", port: main.port) {
            otherHost = samePort
        } else {
            otherHost = try TestServer(host: "127.0.0.2")
        }
        tls = try TestServer(tls: true)
        tlsWrongName = try TestServer(host: "127.0.0.2", tls: true)
    }
}

let sharedServers: Result<TestServers, any Error> = Result { try TestServers() }

// MARK: - Helpers shared by the test files

/// Byte `i` of every test-server body.
func patternByte(_ index: Int) -> UInt8 { UInt8(index % 251) }

func patternBytes(offset: Int = 0, count: Int) -> [UInt8] {
    (0..<count).map { patternByte(offset + $0) }
}

/// Index of the first byte that differs from the pattern, or nil if all match.
func firstPatternMismatch(_ bytes: [UInt8], offset: Int = 0) -> Int? {
    var expected = offset % 251
    for (index, byte) in bytes.enumerated() {
        if byte != UInt8(expected) { return index }
        expected = expected == 250 ? 0 : expected + 1
    }
    return nil
}

/// Runs `expression`, which must throw an `HTTPError` accepted by `check`.
func assertHTTPError<T>(_ expression: () throws -> T,
                        file: StaticString = #filePath, line: UInt = #line,
                        _ check: (HTTPError) -> Bool) {
    do {
        let value = try expression()
        XCTFail("expected an HTTPError, got \(value)", file: file, line: line)
    } catch let error as HTTPError {
        XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected an HTTPError, got \(error)", file: file, line: line)
    }
}

/// Decodes a JSON document returned by the test server.
func json(_ bytes: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes))
}

/// A header list as the test server reports it: `[[name, value], ...]`.
func headerPairs(_ value: Any?) -> [(String, String)] {
    guard let list = value as? [[String]] else { return [] }
    return list.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
}

/// Percent-encodes a URL for use as a query value.
func queryEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
}

/// A value from `/proc/self/status` in KiB (e.g. "VmRSS"), or nil if unavailable.
func procStatusKiB(_ field: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let digits = line.dropFirst(field.count + 1).filter { $0.isNumber }
        return Int(digits)
    }
    return nil
}
