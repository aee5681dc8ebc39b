import Foundation
import SignetCrypto
import SignetTestSupport
import XCTest

/// Repositories written by python-tuf's Metadata API, served by a loopback HTTP server, read by the
/// `signet-tuf-client` executable through its command-line protocol. The generator verifies every
/// scenario's expectations with python-tuf's own client first.
final class InteropTests: XCTestCase {
    struct Scenario: Decodable {
        struct Download: Decodable { let path: String; let sha256: String?; let expect: String }
        let name: String
        let root: String
        let metadata: String
        let targets: String
        let refresh: String
        let downloads: [Download]
    }

    func testPythonTUFRepositoriesThroughTheCommandLineProtocol() throws {
        let work = try TestProcesses.temporaryDirectory("signet-interop")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let generator = TestProcesses.packageRoot.appendingPathComponent("Tests/Interop/gen_python_tuf_repos.py").path
        let gen = try TestProcesses.run(TestProcesses.python, [generator, work + "/repos"])
        XCTAssertEqual(gen.status, 0, "generator failed (is python-tuf installed? run scripts/test):\n\(gen.stderr)")
        guard gen.status == 0 else { return }
        let manifest = try JSONDecoder().decode([Scenario].self, from: Data(contentsOf: URL(fileURLWithPath: work + "/repos/manifest.json")))
        XCTAssertGreaterThanOrEqual(manifest.count, 8)
        let server = try LoopbackFileServer(directory: work + "/repos")
        let client = TestProcesses.product("signet-tuf-client")
        var downloadsChecked = 0
        for s in manifest {
            let dir = work + "/client-\(s.name)"
            let meta = ["--metadata-dir", dir + "/metadata"]
            let metaURL = server.baseURL + "/" + s.metadata
            let targetURL = server.baseURL + "/" + s.targets
            let initResult = try TestProcesses.run(client, meta + ["init", work + "/repos/" + s.root])
            XCTAssertEqual(initResult.status, 0, "\(s.name): init: \(initResult.stderr)")
            let refresh = try TestProcesses.run(client, meta + ["--metadata-url", metaURL, "refresh"])
            XCTAssertEqual(refresh.status, s.refresh == "ok" ? 0 : 1, "\(s.name): refresh:\n\(refresh.stderr)")
            if s.refresh == "ok" {
                for name in ["root.json", "timestamp.json", "snapshot.json", "targets.json"] {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/metadata/" + name), "\(s.name): \(name) not stored")
                }
            }
            for d in s.downloads {
                let out = dir + "/targets"
                let r = try TestProcesses.run(client, meta + ["--metadata-url", metaURL, "--target-name", d.path,
                                                              "--target-base-url", targetURL, "--target-dir", out, "download"])
                XCTAssertEqual(r.status, d.expect == "ok" ? 0 : 1, "\(s.name): download \(d.path):\n\(r.stderr)")
                let files = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
                XCTAssertFalse(files.contains { $0.hasPrefix(".download-") }, "\(s.name): temporary file left behind")
                guard d.expect == "ok", r.status == 0 else { continue }
                let stored = out + "/" + (d.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "")
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: stored)))
                XCTAssertEqual(try SHA256.hash(bytes).hex, d.sha256, "\(s.name): \(d.path) content")
                downloadsChecked += 1
            }
        }
        XCTAssertGreaterThan(downloadsChecked, 10)
    }

    func testCommandLineErrorsExitWithOne() throws {
        let client = TestProcesses.product("signet-tuf-client")
        let dir = try TestProcesses.temporaryDirectory("signet-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for args in [[String](), ["--metadata-dir", dir], ["--metadata-dir", dir, "bogus"], ["--metadata-dir", dir, "init"],
                     ["--metadata-dir", dir, "init", dir + "/missing.json"], ["--metadata-dir", dir, "--metadata-url", "http://127.0.0.1:9/", "refresh"],
                     ["--bogus-option"]] {
            let r = try TestProcesses.run(client, args)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args): no message")
        }
        try Data("{\"signed\":{}}".utf8).write(to: URL(fileURLWithPath: dir + "/bad-root.json"))
        let r = try TestProcesses.run(client, ["--metadata-dir", dir + "/m", "init", dir + "/bad-root.json"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("invalid metadata"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m/root.json"))
    }
}
