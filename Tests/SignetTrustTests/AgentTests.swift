import Foundation
import SignetCrypto
import SignetTestSupport
import XCTest

/// The signing agent, driven through the `signet` executable against a real docker-registry: it signs
/// for the commands that sign, refuses other users, forgets keys, and leaves nothing on disk.
final class AgentTests: TrustTestCase {
    /// Passphrases that open none of the key files: a command that succeeds with them signed through the agent.
    let wrong = ["SIGNET_KEY_PASSPHRASE": "wrong", "SIGNET_ROOT_PASSPHRASE": "wrong", "SIGNET_KDF_STATS": "1"]
    var agents: [Int32] = []

    override func tearDown() {
        for pid in agents { kill(pid, SIGKILL) }
        super.tearDown()
    }

    func startAgent(_ extra: [String] = [], home: String = "owner") throws -> Int32 {
        try signet(["agent", "start"] + extra, home: home)
        let pid = Int32(try XCTUnwrap(try json(try signet(["agent", "list", "--json"], home: home))["pid"] as? Int))
        agents.append(pid)
        return pid
    }

    func heldKeys(home: String = "owner") throws -> [String] {
        let listed = try json(try signet(["agent", "list", "--json"], home: home))
        return ((listed["keys"] as? [[String: Any]]) ?? []).compactMap { $0["keyID"] as? String }
    }

    /// Every signing command succeeds with passphrases that open no key file, and derives no key from a
    /// passphrase: the agent signed. Without the agent the same passphrases fail.
    func testTheAgentSignsForEveryCommandThatSigns() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let bobKey = try exportNewKey(home: "bob")
        let agent = try startAgent(["--timeout", "0"])
        let added = try signet(["agent", "add", "--root", "--json"])
        XCTAssertEqual(try heldKeys().count, 5, added.stdout)  // root, targets, snapshot, timestamp, releases
        func throughAgent(_ args: [String], derivations: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try signet(args, env: wrong, file: file, line: line)
            XCTAssertTrue(r.stderr.contains("argon2id derivations: \(derivations)"), "\(args): \(r.stderr)", file: file, line: line)
        }
        try throughAgent(["push", try image("img2", message: "two"), repo + ":v2"])
        try throughAgent(["revoke", repo + ":v2"])
        try throughAgent(["sign", repo + ":v2"])
        try throughAgent(["signer", "add", repo, "bob", "--key", bobKey])
        try throughAgent(["signer", "remove", repo, "bob"])
        try throughAgent(["timestamp", "renew", repo])
        try throughAgent(["trust", "expiry", repo, "snapshot=20d"])
        try throughAgent(["trust", "renew", repo, "root", "targets"])
        // Rotation encrypts the new key file: that one derivation is the only one.
        try throughAgent(["key", "rotate", repo, "targets"], derivations: 1)
        // The result verifies for a fresh client with the original root.
        XCTAssertTrue(try signet(["verify", repo + ":v2", "--root", rootFile], home: "fresh").stdout.contains("@sha256:"))
        // The process holding the keys has none of libcurl's libraries mapped (it makes no requests).
        let maps = try TestProcesses.run("/bin/cat", ["/proc/\(agent)/maps"]).stdout   // (procfs reports size 0)
        XCTAssertTrue(maps.contains("libsodium"), "not the agent's map")
        XCTAssertFalse(maps.contains("libcurl") || maps.contains("libgnutls") || maps.contains("libldap"), maps)

        // Without the agent, the same passphrases are refused by the key files.
        let refused = try signet(["sign", repo + ":v1"], env: wrong.merging(["SIGNET_NO_AGENT": "1"]) { $1 }, expect: 4)
        XCTAssertTrue(refused.stderr.contains("wrong passphrase"), refused.stderr)
    }

    /// `agent add` without `--root` leaves out root keys: those labelled so, and a key without the label
    /// that pinned trust data names as root (made with `key generate`, then given to `trust init --root-key`).
    func testAKeyPinnedTrustDataNamesAsRootStaysOutOfTheAgent() throws {
        _ = try setUpSignedRepository()
        let unlabelled = try json(try signet(["key", "generate", "--json"], env: ["SIGNET_KEY_PASSPHRASE": "root pass"]))
        let id = try XCTUnwrap(unlabelled["keyID"] as? String)
        try signet(["trust", "init", registry.address + "/team/other", "--root-key", id])
        _ = try startAgent(["--timeout", "0"])
        try signet(["agent", "add"])
        let held = try heldKeys()
        XCTAssertEqual(held.count, 8, "targets, snapshot, timestamp and releases keys of both repositories: \(held)")
        XCTAssertFalse(held.contains(id), "the key named as root of team/other was unlocked into the agent")
        try signet(["agent", "add", id], env: ["SIGNET_KEY_PASSPHRASE": "root pass"])   // named: added (sealed as a plain key)
        XCTAssertTrue(try heldKeys().contains(id))
        // Adding a key the agent holds needs no passphrase.
        let again = try signet(["agent", "add", id], env: ["SIGNET_KEY_PASSPHRASE": "wrong"])
        XCTAssertTrue(again.stdout.contains("added \(id)"), again.stdout)
    }

    /// Another user is refused on its peer credentials even when the socket's permissions let it connect.
    func testTheAgentRefusesOtherUsers() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run a client as another user") }
        _ = try setUpSignedRepository()
        _ = try startAgent(["--timeout", "0"])
        try signet(["agent", "add"])
        let home = work + "/home-owner"
        // Loosen everything on the way to the socket, as a careless setup might.
        chmod(work, 0o755)
        chmod(home, 0o711)
        chmod(home + "/agent.sock", 0o666)
        let probe = """
        import socket, struct, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        body = bytes([1])
        s.sendall(struct.pack('>I', len(body)) + body)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        print(data[5:].decode('utf-8', 'replace'))
        """
        let r = try TestProcesses.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", probe, home + "/agent.sock"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("serves only user 0"), "another user must be refused: \(r.stdout) \(r.stderr)")
        XCTAssertFalse(r.stdout.contains("targets"), r.stdout)
        // The owner is still served.
        XCTAssertEqual(try heldKeys().count, 4)
    }

    /// Keys are forgotten after the idle timeout and on `agent lock`; then commands fall back to the key
    /// files (and refuse passphrases that do not open them).
    func testTheAgentForgetsKeysAfterTheTimeoutAndOnLock() throws {
        _ = try setUpSignedRepository()
        _ = try startAgent(["--timeout", "2s"])
        try signet(["agent", "add"])
        XCTAssertEqual(try heldKeys().count, 4)
        Thread.sleep(forTimeInterval: 3.5)
        XCTAssertEqual(try heldKeys(), [], "forgotten after 2 s without use")
        try signet(["sign", repo + ":v1"], env: wrong, expect: 4)
        try signet(["agent", "add"])
        XCTAssertEqual(try heldKeys().count, 4)
        try signet(["push", try image("img2", message: "two"), repo + ":v2"], env: wrong)
        try signet(["agent", "lock"])
        XCTAssertEqual(try heldKeys(), [])
        try signet(["revoke", repo + ":v2"], env: wrong, expect: 4)
        try signet(["revoke", repo + ":v2"])
        try signet(["agent", "stop"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/home-owner/agent.sock"))
        try signet(["agent", "list"], expect: 4)
    }

    /// SIGTERM (from `kill` or a service manager) ends the agent at once, and it removes its socket.
    /// Six times over: when the agent's own handler lost a start-up race with another one, ending took
    /// 1.5 s about every other time.
    func testSIGTERMEndsTheAgentAtOnceAndRemovesItsSocket() throws {
        for round in 1...6 {
            let pid = try startAgent()
            // Ended: gone, or a zombie waiting for init to collect it.
            func ended() -> Bool {
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return true }
                return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
            }
            let start = Date()
            kill(pid, SIGTERM)
            while !ended() && Date().timeIntervalSince(start) < 5 { usleep(5_000) }
            let took = Date().timeIntervalSince(start)
            XCTAssertTrue(ended(), "round \(round): the agent is still running 5 s after SIGTERM")
            XCTAssertLessThan(took, 0.5, "round \(round): the agent took \(took) s to end")
            XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/home-owner/agent.sock"), "round \(round)")
        }
        try signet(["agent", "list"], expect: 4)
    }

    /// A socket path longer than a Unix socket address holds is named by `agent start` itself (the
    /// detached agent's own output goes nowhere), and `SIGNET_AGENT_SOCKET` elsewhere works, its socket
    /// removed on SIGTERM.
    func testAgentStartNamesATooLongSocketPathAndASocketElsewhereWorks() throws {
        let long = work + "/" + String(repeating: "s", count: 120) + ".sock"
        let failed = try signet(["agent", "start"], env: ["SIGNET_AGENT_SOCKET": long], expect: 4)
        XCTAssertTrue(failed.stderr.contains("longer than the system allows"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("SIGNET_AGENT_SOCKET"), failed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: long))
        let short = work + "/a.sock"
        try signet(["agent", "start"], env: ["SIGNET_AGENT_SOCKET": short])
        let pid = Int32(try XCTUnwrap(try json(try signet(["agent", "list", "--json"], env: ["SIGNET_AGENT_SOCKET": short]))["pid"] as? Int))
        agents.append(pid)
        XCTAssertTrue(FileManager.default.fileExists(atPath: short))
        kill(pid, SIGTERM)
        let start = Date()
        while FileManager.default.fileExists(atPath: short) && Date().timeIntervalSince(start) < 5 { usleep(5_000) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: short), "the socket is still there 5 s after SIGTERM")
    }

    /// A killed agent leaves its socket behind: commands work from the key files, and a new agent takes
    /// the socket over.
    func testAKilledAgentLeavesCommandsWorkingFromKeyFiles() throws {
        _ = try setUpSignedRepository()
        let pid = try startAgent()
        try signet(["agent", "add"])
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/home-owner/agent.sock"), "the killed agent's socket is left behind")
        let pushed = try signet(["push", try image("img2", message: "two"), repo + ":v2"], env: ["SIGNET_KDF_STATS": "1"])
        XCTAssertFalse(pushed.stderr.contains("warning"), pushed.stderr)
        XCTAssertTrue(pushed.stderr.contains("argon2id derivations: 1"), "one passphrase, one derivation: \(pushed.stderr)")
        _ = try startAgent()
        try signet(["agent", "add"])
        try signet(["sign", repo + ":v1"], env: wrong)
    }

    /// No byte of a private key reaches a file: the key store holds it encrypted, and nothing the agent
    /// writes (its log, temporary files, the home directory) contains the key in any encoding.
    func testNoPrivateKeyByteIsWrittenByTheAgent() throws {
        _ = try setUpSignedRepository()
        let keyPEM = work + "/alice.pem"
        let gen = try TestProcesses.run("/usr/bin/openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPEM])
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let der = try TestProcesses.run("/usr/bin/openssl", ["pkey", "-in", keyPEM, "-outform", "DER", "-out", work + "/alice.der"])
        XCTAssertEqual(der.status, 0, der.stderr)
        let pkcs8 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/alice.der")))
        let seed = Array(pkcs8.suffix(32))
        let pub = try TestProcesses.run("/usr/bin/openssl", ["pkey", "-in", keyPEM, "-pubout", "-out", work + "/alice.pub"])
        XCTAssertEqual(pub.status, 0, pub.stderr)
        try signet(["key", "import", keyPEM, "--label", "role=releases"])
        try signet(["signer", "add", repo, "alice", "--key", work + "/alice.pub"])
        try FileManager.default.removeItem(atPath: keyPEM)
        try FileManager.default.removeItem(atPath: work + "/alice.der")

        // The agent in the foreground, its log and temporary directory inside `work`.
        let tmp = work + "/agent-tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let log = work + "/agent.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["SIGNET_UNDER_TEST"] ?? TestProcesses.product("signet"))
        agent.arguments = ["agent", "run", "--timeout", "0"]
        agent.environment = ProcessInfo.processInfo.environment.merging(["SIGNET_HOME": work + "/home-owner", "TMPDIR": tmp]) { $1 }
        agent.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        agents.append(agent.processIdentifier)
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: work + "/home-owner/agent.sock") { Thread.sleep(forTimeInterval: 0.02) }
        try signet(["agent", "add"])
        try signet(["push", try image("img2", message: "two"), repo + ":v2"], env: wrong)
        try signet(["agent", "stop"])
        agent.waitUntilExit()
        let logText = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(logText.contains("memory locking on"), logText)

        let needles: [(String, [UInt8])] = [
            ("raw seed", seed), ("hex seed", Array(Hex.encode(seed).utf8)), ("base64 seed", Array(Base64.encode(seed).utf8)),
            ("base64 PKCS#8", Array(Base64.encode(pkcs8).utf8)),
        ]
        var scanned = 0
        let files = FileManager.default.enumerator(atPath: work)?.allObjects as? [String] ?? []
        for name in files {
            let path = work + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            scanned += 1
            for (what, needle) in needles {
                XCTAssertFalse(contains(bytes, needle), "\(what) of the private key found in \(name)")
            }
        }
        XCTAssertGreaterThan(scanned, 10)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
