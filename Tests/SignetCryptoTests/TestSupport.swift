import Foundation
import XCTest
@testable import SignetCrypto

/// Helpers shared by the crypto tests.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func vectors(_ name: String) throws -> [String: Any] {
        let url = root.appendingPathComponent("TestVectors/wycheproof/\(name)")
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NSError(domain: "fixtures", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) is not a JSON object"])
        }
        return object
    }

    static func hex(_ s: String) -> [UInt8] {
        guard let bytes = Hex.decode(s) else { preconditionFailure("bad hex in fixture: \(s.prefix(20))") }
        return bytes
    }

    /// Runs `openssl` with arguments, returning stdout; fails the test on a non-zero exit.
    @discardableResult
    static func openssl(_ args: [String], stdin: Data? = nil) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["openssl"] + args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(stdin) }
        try inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "openssl", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: String(decoding: errData, as: UTF8.self)])
        }
        return data
    }

    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("signet-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Result of running one Wycheproof file.
struct VectorTally {
    var checked = 0
    var failures: [String] = []
    mutating func record(tcId: Int, expected: String, got: Bool, comment: String) {
        checked += 1
        let ok = expected == "valid" ? got : (expected == "invalid" ? !got : true)
        if !ok { failures.append("tcId \(tcId) (\(comment)): expected \(expected), got \(got ? "valid" : "invalid")") }
    }
}
