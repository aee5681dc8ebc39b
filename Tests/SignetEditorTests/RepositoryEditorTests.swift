import Foundation
import SignetCrypto
import SignetHTTP
import SignetTestSupport
import SignetFiles
import SignetJSON
import SignetKeys
import SignetTUF
import XCTest
@testable import SignetEditor

/// The repository editor, checked by Signet's own client and by python-tuf's ngclient.
final class RepositoryEditorTests: XCTestCase {
    var dir = ""
    var disk: DiskRepository!
    var now: Int64 = RepositorySimulator.now
    var keys: [String: [PrivateKey]] = [:]
    var firstRoot: [UInt8] = []

    override func setUpWithError() throws {
        dir = try TestProcesses.temporaryDirectory("signet-repo")
        disk = DiskRepository(directory: dir, home: dir + "-home")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: dir + "-home")
    }

    /// The repository as this machine trusts it (verified from the pinned root).
    func open(_ disk: DiskRepository? = nil, renewal: Bool = false) throws -> RepositoryEditor {
        try (disk ?? self.disk).open(anchor: .pinned, expired: renewal ? .allowIfSeen : .refuse, clock: clock())
    }

    /// Publishes (writing the files) or stages (writing staged/) like `signet tuf`.
    @discardableResult
    func publish(_ repo: RepositoryEditor, _ signers: [PrivateKey], disk: DiskRepository? = nil) throws -> PublishOutcome {
        let outcome = try repo.publish(signers: signers)
        switch outcome {
        case .published(let change): try (disk ?? self.disk).write(change)
        case .staged(let change): try (disk ?? self.disk).writeStaged(change)
        }
        return outcome
    }

    @discardableResult
    func signStaged(_ repo: RepositoryEditor, _ signers: [PrivateKey]) throws -> PublishOutcome {
        let change = try XCTUnwrap(try disk.readStaged())
        let outcome = try repo.signStaged(change, signers: signers)
        switch outcome {
        case .published(let c): try disk.write(c)
        case .staged(let c): try disk.writeStaged(c)
        }
        return outcome
    }

    func key(_ seed: UInt8) throws -> PrivateKey {
        var s = [UInt8](repeating: seed, count: 32)
        return .ed25519(try Ed25519PrivateKey(seed: SecretBytes(consuming: &s)))
    }

    func clock() -> @Sendable () -> Int64 { let t = now; return { t } }

    /// A new repository with one key per role, published with "hello.txt".
    func makeRepository() throws -> RepositoryEditor {
        keys = ["root": [try key(1)], "targets": [try key(2)], "snapshot": [try key(3)], "timestamp": [try key(4)]]
        let repo = try RepositoryEditor(creating: keys.mapValues { ($0.map(\.publicKey), 1) }, clock: clock())
        try repo.addTarget(path: "hello.txt", content: Array("hello".utf8))
        guard case .published = try publish(repo, keys.values.flatMap { $0 }) else { throw XCTSkip("not published") }
        firstRoot = try XCTUnwrap(AtomicFile.read(dir + "/metadata/1.root.json", limit: 1 << 20))
        try disk.pin(root: firstRoot)
        return repo
    }

    var allSigners: [PrivateKey] { keys.values.flatMap { $0 } }

    /// Signet's client, starting from root v1 each time unless `store` is given.
    func verify(_ targets: [String: String], store: InMemoryMetadataStore? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let store = store ?? InMemoryMetadataStore(root: firstRoot)
        let t = now
        let u = try Updater(metadataBaseURL: "file://\(dir)/metadata/", transport: FileTransport(), store: store, clock: { t })
        try u.refresh()
        let out = dir + "-client"
        defer { try? FileManager.default.removeItem(atPath: out) }
        for (path, content) in targets {
            let stored = try u.download(try u.lookup(path), targetBaseURL: "file://\(dir)/targets/", into: out)
            XCTAssertEqual(try String(contentsOfFile: stored, encoding: .utf8), content, file: file, line: line)
        }
    }

    /// python-tuf's client, from root v1. The repository's expiries are relative to the real clock here.
    func verifyWithPythonTUF(_ targets: [String: String], file: StaticString = #filePath, line: UInt = #line) throws {
        let rootPath = dir + "-root1.json"
        try Data(firstRoot).write(to: URL(fileURLWithPath: rootPath))
        let script = TestProcesses.packageRoot.appendingPathComponent("Tests/Interop/verify_with_python_tuf.py").path
        let args = [script, dir, rootPath] + targets.map { "\($0.key)=\((try? SHA256.hash(Array($0.value.utf8)).hex) ?? "")" }
        let r = try TestProcesses.run(TestProcesses.python, args)
        XCTAssertEqual(r.status, 0, "python-tuf rejected the repository:\n\(r.stderr)", file: file, line: line)
    }

    func testCreatePublishAndVerifyWithBothClients() throws {
        now = Int64(Date().timeIntervalSince1970)
        let repo = try makeRepository()
        try repo.addTarget(path: "dir/with space/ünï.txt", content: Array("nested".utf8))
        try publish(repo, allSigners)
        try verify(["hello.txt": "hello", "dir/with space/ünï.txt": "nested"])
        try verifyWithPythonTUF(["hello.txt": "hello", "dir/with space/ünï.txt": "nested"])
        let status = repo.status()
        XCTAssertEqual(status.map(\.name), ["root", "timestamp", "snapshot", "targets"])
        XCTAssertTrue(status.allSatisfy(\.thresholdMet))
        XCTAssertEqual(status.first { $0.name == "targets" }?.version, 2)
        // Reloading from disk (verified from the pinned root) gives the same state.
        let reloaded = try open()
        XCTAssertEqual(reloaded.status().map(\.version), status.map(\.version))
    }

    func testRootRotationToTwoOfThreeAndKeyRotationsAreFollowed() throws {
        now = Int64(Date().timeIntervalSince1970)
        let repo = try makeRepository()
        let client = InMemoryMetadataStore(root: firstRoot)
        try verify(["hello.txt": "hello"], store: client)
        // Root: 1 key → 2 of 3 new keys, signed by the old key and two new ones.
        let newRoot = [try key(11), try key(12), try key(13)]
        try repo.rotate(role: "root", to: newRoot.map(\.publicKey), threshold: 2)
        guard case .published = try publish(repo, keys["root"]! + [newRoot[0], newRoot[1]] + allSigners) else { return XCTFail("not published") }
        keys["root"] = newRoot
        // Timestamp and snapshot keys rotated through root v3.
        keys["timestamp"] = [try key(21)]
        keys["snapshot"] = [try key(22)]
        try repo.rotate(role: "timestamp", to: [try key(21).publicKey], threshold: 1)
        try repo.rotate(role: "snapshot", to: [try key(22).publicKey], threshold: 1)
        try repo.addTarget(path: "v3.txt", content: Array("three".utf8))
        guard case .published = try publish(repo, allSigners) else { return XCTFail("not published") }
        XCTAssertEqual(repo.root.signed.header.version, 3)
        try verify(["v3.txt": "three", "hello.txt": "hello"], store: client)   // existing client follows
        try verify(["v3.txt": "three"])                                          // fresh client from v1
        try verifyWithPythonTUF(["v3.txt": "three"])
    }

    func testStagedRootRotationNeedsTwoOfThree() throws {
        now = Int64(Date().timeIntervalSince1970)
        // Root already 2-of-3.
        let rootKeys = [try key(31), try key(32), try key(33)]
        keys = ["root": rootKeys, "targets": [try key(2)], "snapshot": [try key(3)], "timestamp": [try key(4)]]
        var spec = keys.mapValues { ($0.map(\.publicKey), 1) }
        spec["root"] = (rootKeys.map(\.publicKey), 2)
        let repo = try RepositoryEditor(creating: spec, clock: clock())
        try repo.addTarget(path: "a", content: [1])
        try publish(repo, allSigners)
        firstRoot = try XCTUnwrap(AtomicFile.read(dir + "/metadata/1.root.json", limit: 1 << 20))
        try disk.pin(root: firstRoot)
        // Rotate root to three new keys (2 of 3). Holder 1 has old key 31 and new key 41.
        let newKeys = [try key(41), try key(42), try key(43)]
        try repo.rotate(role: "root", to: newKeys.map(\.publicKey), threshold: 2)
        let online = [keys["snapshot"]![0], keys["timestamp"]![0]]
        guard case .staged(let staged) = try publish(repo, [rootKeys[0], newKeys[0]] + online) else { return XCTFail("published without threshold") }
        let missing = staged.shortfalls
        XCTAssertEqual(missing.map(\.role), ["root (version 2 keys)", "root (version 1 keys)"])
        XCTAssertEqual(missing.map(\.have), [1, 1])
        XCTAssertEqual(missing.map(\.need), [2, 2])
        XCTAssertTrue(RepositoryError.thresholdNotMet(missing).description.contains("has 1 of the 2 required signatures"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/metadata/2.root.json"))
        try verify(["a": "\u{1}"])   // still the old state
        // Holder 2, on another machine: the repository verified from that machine's own pin; the staged
        // change is shown (root keys replaced) and then signed.
        let otherMachine = DiskRepository(directory: dir, home: dir + "-home2")
        try otherMachine.pin(root: firstRoot)
        let second = try open(otherMachine)
        let review = try second.review(try XCTUnwrap(try disk.readStaged()))
        XCTAssertTrue(review.changesRoot)
        XCTAssertEqual(review.files.first?.keys.first?.role, "root")
        XCTAssertEqual(review.files.first?.keys.first?.added.count, 3)
        XCTAssertEqual(review.files.first?.keys.first?.removed.count, 3)
        XCTAssertTrue(review.lines().contains { $0.contains("+ key") && $0.contains("for root") }, review.lines().joined(separator: "\n"))
        guard case .published = try signStaged(second, [rootKeys[1], newKeys[1]] + online) else { return XCTFail("not published") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/metadata/2.root.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/staged"))
        try verify(["a": "\u{1}"])
        try verifyWithPythonTUF(["a": "\u{1}"])
    }

    func testDelegatedSignerAddedAndRevoked() throws {
        now = Int64(Date().timeIntervalSince1970)
        let repo = try makeRepository()
        let alice = try key(51), bob = try key(52)
        try repo.delegate(from: "targets", name: "releases", keys: [alice.publicKey], threshold: 1, paths: ["release/*"])
        try repo.addTarget(path: "release/1.0", content: Array("one".utf8), role: "releases")
        try publish(repo, allSigners + [alice])
        try verify(["release/1.0": "one"])
        // Add bob, require both.
        try repo.updateDelegation(from: "targets", name: "releases", addKeys: [bob.publicKey], threshold: 2)
        try repo.addTarget(path: "release/2.0", content: Array("two".utf8), role: "releases")
        guard case .staged(let staged) = try publish(repo, allSigners + [alice]) else { return XCTFail("1 of 2 published") }
        XCTAssertEqual(staged.shortfalls.first?.role, "releases")
        let second = try open()
        // The delegator (targets) change is staged too; sign with everyone needed.
        guard case .published = try signStaged(second, allSigners + [bob, alice]) else { return XCTFail("not published") }
        try verify(["release/2.0": "two"])
        // Revoke alice: bob alone, threshold 1. A later release signed only by alice must fail.
        let third = try open()
        let aliceID = try Key(publicKey: alice.publicKey).keyID()
        try third.updateDelegation(from: "targets", name: "releases", removeKeyIDs: [aliceID], threshold: 1)
        try third.addTarget(path: "release/3.0", content: Array("three".utf8), role: "releases")
        guard case .staged = try publish(third, allSigners + [alice]) else { return XCTFail("revoked signer accepted") }
        guard case .published = try signStaged(try open(), allSigners + [bob]) else { return XCTFail("not published") }
        try verify(["release/3.0": "three", "release/1.0": "one"])
        try verifyWithPythonTUF(["release/3.0": "three"])
    }

    /// A role delegated by two parents (targets → [A, B], A → C → X, B → X) takes its keys from the
    /// first found breadth-first (B, as the whole repository is verified) when both list the same keys,
    /// and has none when they list different ones (a client could reach it through either); a role no
    /// reachable role delegates to has no keys.
    func testARoleWithTwoDelegatorsTakesItsKeysFromTheOneTheRepositoryIsVerifiedThrough() throws {
        let sim = try RepositorySimulator()
        try sim.delegate(from: "targets", to: DelegatedRole(name: "A", keyIDs: [], threshold: 1, paths: ["a/*"]))
        try sim.delegate(from: "targets", to: DelegatedRole(name: "B", keyIDs: [], threshold: 1, paths: ["x/*"]))
        try sim.delegate(from: "A", to: DelegatedRole(name: "C", keyIDs: [], threshold: 1, paths: ["a/*"]))
        let viaC = try sim.delegate(from: "C", to: DelegatedRole(name: "X", keyIDs: [], threshold: 1, paths: ["x/*"]))
        let (otherID, otherKey) = try sim.newKey()
        var bd = try XCTUnwrap(sim.targets["B"]?.signed.delegations ?? Delegations(keys: [], roles: []))
        bd.keys.append((otherID, try Key(publicKey: otherKey.publicKey)))
        bd.roles = (bd.roles ?? []) + [DelegatedRole(name: "X", keyIDs: [otherID], threshold: 1, paths: ["x/*"])]
        sim.targets["B"]?.signed.delegations = bd
        sim.signers["X"] = [(otherID, otherKey)]
        try sim.publish(roles: ["X", "C", "A", "B", "targets"])
        let updater = try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: sim, store: InMemoryMetadataStore(root: sim.signedRoots[0]),
                                  clock: { RepositorySimulator.now })
        let verified = try updater.verifiedRepository(earlierRoots: { _ in nil })
        XCTAssertEqual(verified.roles.first { $0.name == "X" }?.delegator, "B")
        var roles: [ByteKey: Metadata<Targets>] = [:]
        for (name, m) in sim.targets { roles[ByteKey(name)] = m }
        XCTAssertNil(RepositoryEditor.keysAndRole(for: "X", root: sim.root, roles: roles), "two delegators, two key sets")
        // C lists the same key as B for X: X's keys are found (B's entry, the first breadth-first).
        var cd = try XCTUnwrap(sim.targets["C"]?.signed.delegations)
        cd.keys = [(otherID, try Key(publicKey: otherKey.publicKey))]
        cd.roles = [DelegatedRole(name: "X", keyIDs: [otherID], threshold: 1, paths: ["x/*"])]
        roles[ByteKey("C")]?.signed.delegations = cd
        let found = try XCTUnwrap(RepositoryEditor.keysAndRole(for: "X", root: sim.root, roles: roles))
        XCTAssertEqual(found.1.keyIDs, [otherID])
        XCTAssertNotEqual(found.1.keyIDs, viaC.map(\.0))
        // A role only an unreachable role delegates to has no keys.
        var orphan = Metadata<Targets>(signed: Targets(header: Header(version: 1, expiresAt: RepositorySimulator.farFuture)))
        orphan.signed.delegations = Delegations(keys: [(otherID, try Key(publicKey: otherKey.publicKey))],
                                                roles: [DelegatedRole(name: "Y", keyIDs: [otherID], threshold: 1, paths: ["*"])])
        roles[ByteKey("aaa")] = orphan
        XCTAssertNil(RepositoryEditor.keysAndRole(for: "Y", root: sim.root, roles: roles))
    }

    func testHashBinDelegationWithTenThousandTargets() throws {
        now = Int64(Date().timeIntervalSince1970)
        let repo = try makeRepository()
        let binKey = try key(61)
        try repo.delegateHashBins(from: "targets", namePrefix: "bins", bitLength: 6, keys: [binKey.publicKey], threshold: 1)
        for i in 0..<10_000 {
            let path = "pkg/\(i).tgz"
            guard let bin = repo.hashBin(for: path) else { return XCTFail("no bin") }
            let content = Array("content \(i)".utf8)
            try repo.addTarget(path: path, content: nil, length: Int64(content.count), hashes: [("sha256", try SHA256.hash(content).hex)], role: bin)
        }
        try repo.addTarget(path: "pkg/real.tgz", content: Array("real".utf8), role: try XCTUnwrap(repo.hashBin(for: "pkg/real.tgz")))
        guard case .published = try publish(repo, allSigners + [binKey]) else { return XCTFail("not published") }
        try verify(["pkg/real.tgz": "real"])
        try verifyWithPythonTUF(["pkg/real.tgz": "real"])
    }

    func testBadRequestsAreRefusedWithoutChangingDisk() throws {
        let repo = try makeRepository()
        let before = try FileManager.default.contentsOfDirectory(atPath: dir + "/metadata").sorted()
        XCTAssertThrowsError(try repo.addTarget(path: "hello.txt", content: [1])) { e in
            XCTAssertEqual("\(e)", "target \"hello.txt\" already exists in role \"targets\" (use --replace to change it)")
        }
        XCTAssertThrowsError(try repo.addTarget(path: "x", content: [1], role: "nope")) { e in
            XCTAssertEqual("\(e)", "no targets role named \"nope\"")
        }
        XCTAssertThrowsError(try repo.addTarget(path: "../x", content: [1]))
        XCTAssertThrowsError(try repo.addTarget(path: "/abs", content: [1]))
        XCTAssertThrowsError(try repo.removeTarget(path: "missing.txt")) { e in
            XCTAssertEqual("\(e)", "role \"targets\" has no target \"missing.txt\"")
        }
        XCTAssertThrowsError(try repo.delegate(from: "targets", name: "d", keys: [try key(70).publicKey], threshold: 1, paths: ["/abs/*"])) { e in
            XCTAssertTrue("\(e)".contains("can never match"), "\(e)")
        }
        XCTAssertThrowsError(try repo.delegate(from: "targets", name: "d", keys: [try key(70).publicKey], threshold: 2, paths: ["a/*"]))
        XCTAssertThrowsError(try repo.delegate(from: "targets", name: "snapshot", keys: [try key(70).publicKey], threshold: 1, paths: ["a"]))
        XCTAssertThrowsError(try repo.rotate(role: "releases", to: [try key(70).publicKey], threshold: 1))
        XCTAssertThrowsError(try RepositoryEditor(creating: [:])) { e in
            guard case .invalidRequest = e as? RepositoryError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/metadata").sorted(), before)
        // Publishing without the timestamp key publishes nothing: the signed change waits for that key.
        try repo.addTarget(path: "new.txt", content: [2])
        guard case .staged(let waiting) = try repo.publish(signers: [keys["targets"]![0], keys["snapshot"]![0]]) else {
            return XCTFail("published without the timestamp key")
        }
        XCTAssertEqual(waiting.shortfalls.map(\.role), ["timestamp"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/metadata").sorted(), before)
        // A renewal with nothing signed here to wait with is an error.
        let renewal = try open()
        try renewal.renew(role: "timestamp")
        XCTAssertThrowsError(try renewal.publish(signers: [keys["snapshot"]![0]])) { e in
            XCTAssertTrue("\(e)".contains("timestamp has 0 of the 1 required signatures"), "\(e)")
        }
    }

    func testExpiringRolesAreReportedAndRenewed() throws {
        let repo = try makeRepository()
        XCTAssertEqual(repo.expiringRoles(within: 7 * 86400), ["timestamp"])
        now += 8 * 86400   // timestamp (7 days) has expired
        XCTAssertThrowsError(try open()) { e in XCTAssertTrue("\(e)".contains("expired"), "\(e)") }
        let later = try open(renewal: true)   // renewal: expired, but this machine trusted these versions
        XCTAssertThrowsError(try verify(["hello.txt": "hello"]))
        try later.renew(role: "timestamp")
        try publish(later, allSigners)
        try verify(["hello.txt": "hello"])
    }

    func testExpiryInThePastIsRefused() throws {
        keys = ["root": [try key(1)], "targets": [try key(2)], "snapshot": [try key(3)], "timestamp": [try key(4)]]
        var expiries = Expiries()
        expiries.targets = -60
        let repo = try RepositoryEditor(creating: keys.mapValues { ($0.map(\.publicKey), 1) }, expiries: expiries, clock: clock())
        XCTAssertThrowsError(try publish(repo, allSigners)) { e in
            XCTAssertTrue("\(e)".contains("targets would be published already expired"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/metadata/timestamp.json"))
    }

    func testKeyOfTheWrongTypeIsRefused() throws {
        // RSA keys verify only: they cannot be a signing key for any role.
        let pemPath = dir + "-rsa.pem"
        defer {
            try? FileManager.default.removeItem(atPath: pemPath)
            try? FileManager.default.removeItem(atPath: dir + "-home")
        }
        let r = try TestProcesses.run("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pemPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ring = try Keyring(home: dir + "-home", kdf: .unsafeMinimumForTests)
        XCTAssertThrowsError(try ring.importPEM(try String(contentsOfFile: pemPath, encoding: .utf8), pemPassphrase: nil, passphrase: SecretBytes(utf8: "p"))) { e in
            XCTAssertTrue("\(e)".contains("RSA private keys cannot sign"), "\(e)")
        }
        XCTAssertEqual(try ring.list().count, 0)
    }
}

/// Staged changes come from places others can write (a copied directory, a registry tag): they are
/// checked against the verified state before anything is shown or signed.
final class StagedChangeTests: XCTestCase {
    var dir = ""
    var disk: DiskRepository!
    let now = Int64(Date().timeIntervalSince1970)
    var keys: [String: PrivateKey] = [:]

    override func setUpWithError() throws {
        dir = try TestProcesses.temporaryDirectory("signet-staged")
        disk = DiskRepository(directory: dir, home: dir + "-home")
        for (i, role) in ["root", "targets", "snapshot", "timestamp", "releases"].enumerated() {
            var s = [UInt8](repeating: UInt8(100 + i), count: 32)
            keys[role] = .ed25519(try Ed25519PrivateKey(seed: SecretBytes(consuming: &s)))
        }
        var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
        for role in Root.topLevelRoles { spec[role] = ([keys[role]!.publicKey], 1) }
        let t = now
        let repo = try RepositoryEditor(creating: spec, clock: { t })
        try repo.delegate(from: "targets", name: "releases", keys: [keys["releases"]!.publicKey], threshold: 1, paths: ["*"])
        guard case .published(let change) = try repo.publish(signers: Array(keys.values)) else { return XCTFail("not published") }
        try disk.write(change)
        try disk.pin(root: try XCTUnwrap(repo.rootFile(version: 1)))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: dir + "-home")
    }

    func open() throws -> RepositoryEditor { let t = now; return try disk.open(anchor: .pinned, clock: { t }) }

    /// A change staged without the releases key (so it waits), with a target file.
    func stageRelease() throws -> StagedChange {
        let repo = try open()
        try repo.addTarget(path: "app/1.0.tgz", content: Array("payload".utf8), role: "releases")
        let online = [keys["snapshot"]!, keys["timestamp"]!]
        guard case .staged(let change) = try repo.publish(signers: online) else { throw XCTSkip("published") }
        try disk.writeStaged(change)
        return change
    }

    func testStagedTargetNamesThatLeaveTheDirectoryAreRefused() throws {
        _ = try stageRelease()
        // Someone adds a staged target file whose name decodes to a path outside targets/.
        let escape = dir + "/staged/targets/" + PercentEncoding.encode("../../escaped")
        try Data("x".utf8).write(to: URL(fileURLWithPath: escape))
        XCTAssertThrowsError(try disk.readStaged()) { e in XCTAssertTrue("\(e)".contains("safe relative path"), "\(e)") }
        try FileManager.default.removeItem(atPath: escape)
        // A target file that no staged role lists is refused too (it would be published unsigned).
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/staged/targets/" + PercentEncoding.encode("other.bin")))
        let change = try XCTUnwrap(try disk.readStaged())
        XCTAssertThrowsError(try open().review(change)) { e in XCTAssertTrue("\(e)".contains("is not a target of the change"), "\(e)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/../escaped"))
    }

    func testAStagedChangeOnAnotherStateIsRefused() throws {
        let change = try stageRelease()
        // The role it changes moves on (a renewal of releases by its key holder).
        let repo = try open()
        try repo.renew(role: "releases")
        guard case .published(let next) = try repo.publish(signers: Array(keys.values)) else { return XCTFail("not published") }
        try disk.write(next)
        XCTAssertThrowsError(try open().signStaged(change, signers: [keys["releases"]!] + Array(keys.values))) { e in
            guard case .stagedBaseMoved(let what) = e as? RepositoryError else { return XCTFail("\(e)") }
            XCTAssertTrue(what.contains("releases is at version 2 now, the change was made on version 1"), what)
        }
    }

    /// Renewals and changes to other roles do not invalidate a waiting change: it is completed on the
    /// state current then, keeping what happened meanwhile.
    func testAStagedChangeSurvivesChangesToOtherRolesAndIsCompletedOnTheCurrentState() throws {
        let change = try stageRelease()
        let repo = try open()
        try repo.renew(role: "targets")
        try repo.addTarget(path: "meanwhile.txt", content: Array("x".utf8), role: "targets")
        guard case .published(let next) = try repo.publish(signers: Array(keys.values)) else { return XCTFail("not published") }
        try disk.write(next)
        let current = try open()
        XCTAssertEqual(current.changedRoles, [])
        guard case .published(let done) = try current.signStaged(change, signers: [keys["releases"]!, keys["snapshot"]!, keys["timestamp"]!]) else {
            return XCTFail("not published")
        }
        try disk.write(done)
        let after = try open()
        XCTAssertNotNil(try after.roles[ByteKey("releases")]?.signed.target("app/1.0.tgz"))
        XCTAssertNotNil(try after.roles[ByteKey("targets")]?.signed.target("meanwhile.txt"), "the change made meanwhile is kept")
    }

    func testReviewShowsTheTagAndWhoMustSign() throws {
        let change = try stageRelease()
        let review = try open().review(change)
        XCTAssertEqual(review.files.map(\.role), ["releases"])
        XCTAssertEqual(review.files.first?.targets.first?.kind, .added)
        XCTAssertEqual(review.files.first?.targets.first?.path, "app/1.0.tgz")
        XCTAssertEqual(review.signatures.first?.have, 0)
        XCTAssertEqual(review.targetFiles, ["app/1.0.tgz"])
        XCTAssertFalse(review.fullySigned)
        // Signatures that do not verify are dropped when the change is read back.
        var forged = change
        let bytes = forged.files[0].bytes
        var m = try Metadata<Targets>(bytes: bytes, file: "x")
        m.signatures = [Signature(keyID: try Key(publicKey: keys["releases"]!.publicKey).keyID(), sig: String(repeating: "00", count: 64))]
        forged.files[0].bytes = try m.encoded()
        XCTAssertEqual(try open().review(forged).signatures.first?.have, 0)
        // Signed by the releases key holder, it publishes with the target file in place.
        guard case .published(let done) = try open().signStaged(change, signers: Array(keys.values)) else { return XCTFail("not published") }
        try disk.write(done)
        XCTAssertFalse(disk.hasStagedChange)
        let stored = try FileManager.default.contentsOfDirectory(atPath: dir + "/targets/app")
        XCTAssertEqual(stored.count, 1)
        XCTAssertTrue(stored[0].hasSuffix(".1.0.tgz"))
    }
}
