import Foundation
import SignetHTTP
import SignetJSON
import SignetTestSupport
import XCTest

/// Errors of the test harness itself (a helper that did not start, a missing tool).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Paths of the package and its built products.
enum Paths {
    /// The package root (where Package.swift is).
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // SignetOCITests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent().path

    /// A script in `scripts/`.
    static func script(_ name: String) -> String { packageRoot + "/scripts/" + name }

    /// The built `signet` executable (next to the test bundle).
    static var signet: String {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("signet").path
    }

    /// A fresh temporary directory, removed by the caller (or left in /tmp on failure).
    static func temporaryDirectory(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The outcome of running a program to completion.
struct ProcessOutput {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `executable` with `arguments`, feeding `input` on standard input (the shared test runner).
func runProgram(_ executable: String, _ arguments: [String], input: String? = nil,
                environment: [String: String] = [:]) throws -> ProcessOutput {
    let r = try TestProcesses.run(executable, arguments, environment: environment, input: input)
    return ProcessOutput(status: r.status, stdout: r.stdout, stderr: r.stderr)
}

/// Runs the `signet` CLI.
func signet(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> ProcessOutput {
    var env = environment
    if env["DOCKER_CONFIG"] == nil { env["DOCKER_CONFIG"] = "/nonexistent-signet-test-docker-config" }
    return try runProgram(Paths.signet, arguments, input: input, environment: env)
}

/// A long-running helper that prints its start-up information on standard output and exits when
/// its standard input closes (so it never outlives the test process).
final class Helper: @unchecked Sendable {
    private let process: Process
    private let input: Pipe
    /// The lines printed during start-up.
    let lines: [String]

    /// Starts `executable` and reads standard output until `isReady` accepts the lines so far.
    init(_ executable: String, _ arguments: [String], timeout: Double = 30,
         isReady: ([String]) -> Bool) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        var lines: [String] = []
        while Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            lines = text.split(separator: "\n").map(String.init)
            if isReady(lines) { break }
        }
        guard isReady(lines) else {
            process.terminate()
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) did not start; it printed: \(text)")
        }
        self.process = process
        self.input = input
        self.lines = lines
    }

    /// Closes the helper's standard input and waits for it to exit.
    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Plain HTTP calls to control endpoints of the test servers.
enum Control {
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { preconditionFailure("libcurl unavailable: \(error)") }
    }()

    static func get(_ url: String) throws -> JSONValue {
        try JSONParser.parse(try transport.get(url, maxBodyBytes: 16 << 20))
    }

    static func post(_ url: String, _ body: JSONValue) throws {
        let response = try transport.send(HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")],
                                                      body: .bytes(JSONWriter.encode(body, pretty: false))),
                                          maxBodyBytes: 1 << 20)
        guard response.status == 200 else { throw HarnessError("POST \(url) answered \(response.status)") }
    }
}
