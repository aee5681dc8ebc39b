import Foundation
import SignetTestSupport
import XCTest

/// `signet key` and `signet tuf` as a user runs them: separate processes, key stores on disk, passphrases
/// from the environment.
final class TUFCommandTests: XCTestCase {
    var work = ""
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        work = try TestProcesses.temporaryDirectory("signet-cli")
        env = ["SIGNET_HOME": work + "/home", "SIGNET_ROOT_PASSPHRASE": "root-pass", "SIGNET_KEY_PASSPHRASE": "key-pass",
               "SIGNET_UNSAFE_TEST_KDF": "1", "DOCKER_CONFIG": work + "/no-docker-config"]
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    @discardableResult
    func signet(_ args: [String], env extra: [String: String] = [:], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let r = try TestProcesses.run(TestProcesses.product("signet"), args, environment: env.merging(extra) { $1 }, currentDirectory: work)
        XCTAssertEqual(r.status, status, "signet \(args.joined(separator: " ")):\n\(r.stdout)\n\(r.stderr)", file: file, line: line)
        return r
    }

    func client(_ repo: String, _ target: String, expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = work + "/client-\(UUID().uuidString)"
        let c = TestProcesses.product("signet-tuf-client")
        var r = try TestProcesses.run(c, ["--metadata-dir", dir, "init", repo + "/metadata/1.root.json"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        r = try TestProcesses.run(c, ["--metadata-dir", dir, "--metadata-url", "file://" + repo + "/metadata/", "--target-name", target,
                                      "--target-base-url", "file://" + repo + "/targets/", "--target-dir", dir + "/t", "download"])
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
    }

    func testInitAddTargetStatusAndClient() throws {
        try signet(["tuf", "init", "repo"])
        try Data("payload".utf8).write(to: URL(fileURLWithPath: work + "/app.tgz"))
        try signet(["tuf", "add-target", "repo", "app.tgz", "--path", "releases/app.tgz"])
        try client(work + "/repo", "releases/app.tgz")
        let status = try signet(["tuf", "status", "repo", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(parsed?.count, 4)
        XCTAssertEqual(parsed?.first { $0["role"] as? String == "targets" }?["version"] as? Int, 2)
        XCTAssertEqual(parsed?.allSatisfy { $0["threshold_met"] as? Bool == true }, true)
        let human = try signet(["tuf", "status", "repo"])
        XCTAssertTrue(human.stderr.contains("warning: timestamp expires"), human.stderr)
        // Keys: listed, exported, 0600 in a 0700 directory.
        let keys = try signet(["key", "list", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(list?.count, 4)
        let attrs = try FileManager.default.attributesOfItem(atPath: work + "/home/keys")
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o700)
        let id = try XCTUnwrap(list?.first?["keyid"] as? String)
        let pem = try signet(["key", "export", String(id.prefix(16))])
        XCTAssertTrue(pem.stdout.hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }

    func testBadInputIsAClearErrorAndChangesNothing() throws {
        try signet(["tuf", "init", "repo"])
        let before = try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted()
        try Data("x".utf8).write(to: URL(fileURLWithPath: work + "/x"))
        try signet(["tuf", "add-target", "repo", "x"])
        let after = try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted()
        var r = try signet(["tuf", "add-target", "repo", "x"], expect: 1)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "y", "--role", "nope"], expect: 1)
        XCTAssertTrue(r.stderr.contains("no targets role named \"nope\""), r.stderr)
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "z"], env: ["SIGNET_KEY_PASSPHRASE": "wrong"], expect: 4)
        XCTAssertTrue(r.stderr.contains("wrong passphrase"), r.stderr)
        r = try signet(["tuf", "delegate", "repo", "team", "--key", "0000000000", "--path", "a/*"], expect: 2)
        XCTAssertTrue(r.stderr.contains("no key \"0000000000\""), r.stderr)
        r = try signet(["tuf", "add-target", "nowhere", "x"], expect: 1)
        XCTAssertTrue(r.stderr.contains("is not a Signet TUF repository"), r.stderr)
        r = try signet(["tuf", "add-target", "repo"], expect: 2)
        XCTAssertTrue(r.stderr.contains("missing FILE"), r.stderr)
        r = try signet(["tuf", "status", "repo", "--bogus"], expect: 2)
        XCTAssertTrue(r.stderr.contains("unknown option --bogus"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted(), after)
        XCTAssertNotEqual(before, after)
        // A corrupted key file is named in the error.
        let keyFile = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: work + "/home/keys").first)
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: work + "/home/keys/" + keyFile))
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "w"], expect: 4)
        XCTAssertTrue(r.stderr.contains(keyFile), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted(), after)
    }

    func testKillDuringPublishLeavesThePreviousStateVerifiable() throws {
        try signet(["tuf", "init", "repo"])
        try Data("one".utf8).write(to: URL(fileURLWithPath: work + "/one"))
        try signet(["tuf", "add-target", "repo", "one"])
        try Data("two".utf8).write(to: URL(fileURLWithPath: work + "/two"))
        for point in ["before-rename:timestamp.json", "before-rename:3.snapshot.json", "before-rename:3.targets.json"] {
            let r = try signet(["tuf", "add-target", "repo", "two"], env: ["SIGNET_FAULT_INJECT": point], expect: 70)
            XCTAssertTrue(r.stdout.isEmpty)
            try client(work + "/repo", "one")
            try client(work + "/repo", "two", expect: 1)
        }
        try signet(["tuf", "add-target", "repo", "two"])
        try client(work + "/repo", "two")
    }

    func testStagedTwoOfThreeRootRotationAcrossTwoKeyStores() throws {
        // Three root keys in store A... holder B has its own store with one of them.
        var keyIDs: [String] = []
        for _ in 0..<3 {
            let r = try signet(["key", "generate", "--root", "--json"])
            keyIDs.append(try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["keyid"] as? String))
        }
        try signet(["tuf", "init", "repo", "--root-key", keyIDs.joined(separator: ","), "--root-threshold", "2"])
        // Move the third key to holder B's store.
        let storeB = work + "/homeB"
        try FileManager.default.createDirectory(atPath: storeB + "/keys", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: work + "/home/keys/\(keyIDs[2]).key", toPath: storeB + "/keys/\(keyIDs[2]).key")
        try FileManager.default.moveItem(atPath: work + "/home/keys/\(keyIDs[1]).key", toPath: storeB + "/keys/\(keyIDs[1]).key")
        // Holder A (one root key left) rotates the timestamp key: needs 2 of 3 root signatures → staged.
        let ts = try signet(["key", "generate", "--json"])
        let tsID = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(ts.stdout.utf8)) as? [String: Any])?["keyid"] as? String)
        let refused = try signet(["tuf", "rotate", "repo", "timestamp", "--key", tsID], expect: 1)
        XCTAssertTrue(refused.stderr.contains("has 1 of the 2 required signatures"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("signet tuf sign"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/repo/metadata/2.root.json"))
        // Holder B signs with its store; snapshot/timestamp keys are needed to publish, so B holds copies of those too.
        for entry in try FileManager.default.contentsOfDirectory(atPath: work + "/home/keys") where entry != "\(keyIDs[0]).key" {
            try FileManager.default.copyItem(atPath: work + "/home/keys/" + entry, toPath: storeB + "/keys/" + entry)
        }
        try signet(["tuf", "sign", "repo"], env: ["SIGNET_HOME": storeB])
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/repo/metadata/2.root.json"))
        try Data("t".utf8).write(to: URL(fileURLWithPath: work + "/t"))
        try signet(["tuf", "add-target", "repo", "t"])
        try client(work + "/repo", "t")
    }
}
