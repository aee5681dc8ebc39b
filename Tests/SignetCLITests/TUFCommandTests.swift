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
        XCTAssertEqual(parsed?.allSatisfy { $0["thresholdMet"] as? Bool == true }, true)
        let human = try signet(["tuf", "status", "repo"])
        XCTAssertTrue(human.stderr.contains("warning: timestamp expires"), human.stderr)
        // Keys: listed, exported, 0600 in a 0700 directory.
        let keys = try signet(["key", "list", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(list?.count, 4)
        let attrs = try FileManager.default.attributesOfItem(atPath: work + "/home/keys")
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o700)
        let id = try XCTUnwrap(list?.first?["keyID"] as? String)
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
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "y", "--role", "nope"], expect: 2)
        XCTAssertTrue(r.stderr.contains("no targets role named \"nope\""), r.stderr)
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "z"], env: ["SIGNET_KEY_PASSPHRASE": "wrong"], expect: 4)
        XCTAssertTrue(r.stderr.contains("wrong passphrase"), r.stderr)
        r = try signet(["tuf", "delegate", "repo", "team", "--key", "0000000000", "--path", "a/*"], expect: 2)
        XCTAssertTrue(r.stderr.contains("no key \"0000000000\""), r.stderr)
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "../escape"], expect: 2)
        XCTAssertTrue(r.stderr.contains("must be relative"), r.stderr)
        r = try signet(["tuf", "add-target", "nowhere", "x"], expect: 1)
        XCTAssertTrue(r.stderr.contains("is not a Signet TUF repository"), r.stderr)
        // An init that fails on a later role leaves none of the keys it made for the earlier ones.
        let keysBefore = try signet(["key", "list", "--json"]).stdout
        r = try signet(["tuf", "init", "repo2", "--targets-key", "0000000000"], expect: 2)
        XCTAssertTrue(r.stderr.contains("no key \"0000000000\""), r.stderr)
        XCTAssertEqual(try signet(["key", "list", "--json"]).stdout, keysBefore, "no key left behind")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/repo2/metadata"))
        r = try signet(["tuf", "add-target", "repo"], expect: 2)
        XCTAssertTrue(r.stderr.contains("missing FILE"), r.stderr)
        r = try signet(["tuf", "status", "repo", "--bogus"], expect: 2)
        XCTAssertTrue(r.stderr.contains("unknown option --bogus"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted(), after)
        XCTAssertNotEqual(before, after)
        // A corrupted key file is named in the error: the targets key, which add-target must unlock (the
        // directory also holds the other roles' keys and the store salt, in no particular order).
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/repo/metadata/1.root.json"))) as? [String: Any]
        let roles = (root?["signed"] as? [String: Any])?["roles"] as? [String: Any]
        let targetsKeyID = try XCTUnwrap(((roles?["targets"] as? [String: Any])?["keyids"] as? [String])?.first)
        let keyFile = targetsKeyID + ".key"
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/home/keys/" + keyFile))
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: work + "/home/keys/" + keyFile))
        r = try signet(["tuf", "add-target", "repo", "x", "--path", "w"], expect: 4)
        XCTAssertTrue(r.stderr.contains(keyFile), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/repo/metadata").sorted(), after)
    }

    func testFilesChangedInTheDirectoryAreRefusedNotResigned() throws {
        try signet(["tuf", "init", "repo"])
        try Data("one".utf8).write(to: URL(fileURLWithPath: work + "/one"))
        try signet(["tuf", "add-target", "repo", "one"])
        // Someone with write access to the directory (and no key) adds a target to targets.json by hand.
        let targetsFile = work + "/repo/metadata/2.targets.json"
        var text = try String(contentsOfFile: targetsFile, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"targets\":{", with: "\"targets\":{\"evil\":{\"hashes\":{\"sha256\":\"\(String(repeating: "ab", count: 32))\"},\"length\":4},")
        try Data(text.utf8).write(to: URL(fileURLWithPath: targetsFile))
        try Data("two".utf8).write(to: URL(fileURLWithPath: work + "/two"))
        // Another key holder's machine, which verifies the directory from the root it trusts, refuses it.
        let other = ["SIGNET_HOME": work + "/home2"]
        try FileManager.default.createDirectory(atPath: work + "/home2/keys", withIntermediateDirectories: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: work + "/home/keys") {
            try FileManager.default.copyItem(atPath: work + "/home/keys/" + entry, toPath: work + "/home2/keys/" + entry)
        }
        let r = try signet(["tuf", "add-target", "repo", "two", "--root", "repo/metadata/1.root.json"], env: other, expect: 1)
        XCTAssertTrue(r.stderr.contains("2.targets.json"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/repo/metadata/3.targets.json"))
        // The machine that published builds on what it verified, never on the changed file.
        try signet(["tuf", "add-target", "repo", "two"])
        let published = try String(contentsOfFile: work + "/repo/metadata/3.targets.json", encoding: .utf8)
        XCTAssertFalse(published.contains("evil"), published)
        try client(work + "/repo", "two")
        try client(work + "/repo", "evil", expect: 1)
    }

    /// Someone deletes the directory's metadata: `tuf init` there does not silently replace this
    /// machine's pin (its root and rollback floors); `--start-over` does, and says what it means.
    func testInitOverALostRepositoryNeedsStartOver() throws {
        try signet(["tuf", "init", "repo"])
        try Data("one".utf8).write(to: URL(fileURLWithPath: work + "/one"))
        try signet(["tuf", "add-target", "repo", "one"])
        let pinnedBefore = try FileManager.default.subpathsOfDirectory(atPath: work + "/home/tuf").filter { $0.hasSuffix("root.json") }
        let rootBefore = try Data(contentsOf: URL(fileURLWithPath: work + "/home/tuf/" + XCTUnwrap(pinnedBefore.first)))
        try FileManager.default.removeItem(atPath: work + "/repo/metadata")
        let refused = try signet(["tuf", "init", "repo"], expect: 2)
        XCTAssertTrue(refused.stderr.contains("pinned a root for it earlier") && refused.stderr.contains("--start-over"), refused.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work + "/home/tuf/" + XCTUnwrap(pinnedBefore.first))), rootBefore, "the pin is unchanged")
        try signet(["tuf", "init", "repo", "--start-over"])
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: work + "/home/tuf/" + XCTUnwrap(pinnedBefore.first))), rootBefore)
        try signet(["tuf", "add-target", "repo", "one"])
        try client(work + "/repo", "one")
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
            keyIDs.append(try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["keyID"] as? String))
        }
        try signet(["tuf", "init", "repo", "--root-key", keyIDs.joined(separator: ","), "--root-threshold", "2"])
        // Move the third key to holder B's store.
        let storeB = work + "/homeB"
        try FileManager.default.createDirectory(atPath: storeB + "/keys", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: work + "/home/keys/\(keyIDs[2]).key", toPath: storeB + "/keys/\(keyIDs[2]).key")
        try FileManager.default.moveItem(atPath: work + "/home/keys/\(keyIDs[1]).key", toPath: storeB + "/keys/\(keyIDs[1]).key")
        // Holder A (one root key left) rotates the timestamp key: needs 2 of 3 root signatures → staged.
        let ts = try signet(["key", "generate", "--json"])
        let tsID = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(ts.stdout.utf8)) as? [String: Any])?["keyID"] as? String)
        let refused = try signet(["tuf", "rotate", "repo", "timestamp", "--key", tsID], expect: 1)
        XCTAssertTrue(refused.stderr.contains("has 1 of the 2 required signatures"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("signet tuf sign"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/repo/metadata/2.root.json"))
        // Holder B signs with its store; snapshot/timestamp keys are needed to publish, so B holds copies of those too.
        for entry in try FileManager.default.contentsOfDirectory(atPath: work + "/home/keys") where entry != "\(keyIDs[0]).key" {
            try FileManager.default.copyItem(atPath: work + "/home/keys/" + entry, toPath: storeB + "/keys/" + entry)
        }
        // B has never seen this repository: it must say which root it trusts; then it is shown the
        // change and, without confirmation, nothing is signed.
        let unpinned = try signet(["tuf", "sign", "repo"], env: ["SIGNET_HOME": storeB], expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("no trusted root is pinned"), unpinned.stderr)
        let unconfirmed = try signet(["tuf", "sign", "repo", "--root", "repo/metadata/1.root.json"], env: ["SIGNET_HOME": storeB], expect: 1)
        XCTAssertTrue(unconfirmed.stderr.contains("changes root") || unconfirmed.stderr.contains("timestamp"), unconfirmed.stderr)
        XCTAssertTrue(unconfirmed.stderr.contains("+ key \(tsID.prefix(16)) for timestamp"), unconfirmed.stderr)
        XCTAssertTrue(unconfirmed.stderr.contains("not confirmed"), unconfirmed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/repo/metadata/2.root.json"))
        let review = try signet(["tuf", "staged", "repo", "--json"], env: ["SIGNET_HOME": storeB])
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(review.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["changesRoot"] as? Bool, true)
        try signet(["tuf", "sign", "repo", "--yes"], env: ["SIGNET_HOME": storeB])
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/repo/metadata/2.root.json"))
        try Data("t".utf8).write(to: URL(fileURLWithPath: work + "/t"))
        try signet(["tuf", "add-target", "repo", "t"])
        try client(work + "/repo", "t")
    }
}
