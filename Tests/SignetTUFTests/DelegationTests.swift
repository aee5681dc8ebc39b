import SignetCrypto
import SignetJSON
import SignetTestSupport
import XCTest
@testable import SignetTUF

final class DelegationTests: XCTestCase {
    var sim: RepositorySimulator!
    var store: InMemoryMetadataStore!

    override func setUpWithError() throws {
        sim = try RepositorySimulator()
        store = InMemoryMetadataStore(root: sim.signedRoots[0])
    }

    func updater(_ config: UpdaterConfig = UpdaterConfig()) throws -> Updater {
        try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: sim, store: store,
                    clock: { RepositorySimulator.now }, config: config)
    }

    func content(of target: TargetFile) -> String? {
        for (path, bytes) in sim.targetContents where path == target.path {
            if (try? target.verify(bytes)) != nil { return String(decoding: bytes, as: UTF8.self) }
        }
        return nil
    }

    func testOrderingFirstMatchingDelegationWins() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "first", keyIDs: [], threshold: 1, paths: ["app/*"]))
        try sim.delegate(from: "targets", to: DelegatedRole(name: "second", keyIDs: [], threshold: 1, paths: ["app/*"]))
        try sim.targets["first"]?.signed.setTarget(TargetFile(path: "app/x", bytes: Array("from first".utf8)))
        try sim.targets["second"]?.signed.setTarget(TargetFile(path: "app/x", bytes: Array("from second".utf8)))
        try sim.publish(roles: ["first", "second", "targets"])
        let t = try updater().lookup("app/x")
        XCTAssertEqual(t.length, Int64("from first".utf8.count))
    }

    func testTerminatingDelegationStopsTheSearch() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "term", keyIDs: [], threshold: 1, terminating: true, paths: ["lib/*"]))
        try sim.delegate(from: "targets", to: DelegatedRole(name: "later", keyIDs: [], threshold: 1, paths: ["lib/*"]))
        try sim.targets["later"]?.signed.setTarget(TargetFile(path: "lib/y", bytes: Array("later".utf8)))
        try sim.publish(roles: ["term", "later", "targets"])
        XCTAssertThrowsError(try updater().lookup("lib/y")) { e in
            guard case .targetNotFound = e as? TUFError else { return XCTFail("\(e)") }
        }
        // Without the terminating flag the later role is consulted.
        sim.targets["targets"]?.signed.delegations?.roles?[0].terminating = false
        try sim.publish(roles: ["targets"])
        XCTAssertEqual(try updater().lookup("lib/y").length, 5)
    }

    func testPathsAreCheckedAlongTheWholeChain() throws {
        // "outer" may only sign "a/*"; its child claims "b/z", which "outer" was never trusted for.
        try sim.delegate(from: "targets", to: DelegatedRole(name: "outer", keyIDs: [], threshold: 1, paths: ["a/*"]))
        try sim.delegate(from: "outer", to: DelegatedRole(name: "inner", keyIDs: [], threshold: 1, paths: ["*/*"]))
        try sim.targets["inner"]?.signed.setTarget(TargetFile(path: "b/z", bytes: [1]))
        try sim.targets["inner"]?.signed.setTarget(TargetFile(path: "a/z", bytes: [2]))
        try sim.publish(roles: ["inner", "outer", "targets"])
        let u = try updater()
        XCTAssertEqual(try u.lookup("a/z").length, 1)
        XCTAssertThrowsError(try u.lookup("b/z"))
    }

    func testCyclesAreVisitedOnce() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "a", keyIDs: [], threshold: 1, paths: ["*"]))
        try sim.delegate(from: "a", to: DelegatedRole(name: "b", keyIDs: [], threshold: 1, paths: ["*"]))
        // b delegates back to a (same key as a's).
        var d = sim.targets["b"]?.signed.delegations ?? Delegations(keys: [], roles: [])
        let aKeys = try XCTUnwrap(sim.signers["a"])
        for (id, k) in aKeys { d.keys.append((id, try Key(publicKey: k.publicKey))) }
        d.roles = (d.roles ?? []) + [DelegatedRole(name: "a", keyIDs: aKeys.map(\.0), threshold: 1, paths: ["*"])]
        sim.targets["b"]?.signed.delegations = d
        try sim.publish(roles: ["b", "a", "targets"])
        sim.clearRequests()
        XCTAssertThrowsError(try updater().lookup("missing")) { e in
            guard case .targetNotFound = e as? TUFError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(sim.requests.filter { $0.hasSuffix(".a.json") }.count, 1)
    }

    func testRoleBudgetBoundsTheSearch() throws {
        var parent = "targets"
        for i in 0..<10 {
            try sim.delegate(from: parent, to: DelegatedRole(name: "r\(i)", keyIDs: [], threshold: 1, paths: ["*"]))
            parent = "r\(i)"
        }
        try sim.targets["r9"]?.signed.setTarget(TargetFile(path: "deep", bytes: [9]))
        try sim.publish(roles: (0..<10).reversed().map { "r\($0)" } + ["targets"])
        var config = UpdaterConfig()
        config.maxDelegations = 5
        XCTAssertThrowsError(try updater(config).lookup("deep"))
        XCTAssertEqual(try updater().lookup("deep").length, 1)
    }

    func testDiamondRoleIsVerifiedAgainstTheCurrentDelegator() throws {
        // targets → A → C and targets → B → C, where A and B list different keys for C.
        // C is signed only with the key A lists. Via A, C is trusted; via B it must not be.
        try sim.delegate(from: "targets", to: DelegatedRole(name: "A", keyIDs: [], threshold: 1, paths: ["viaA/*"]))
        try sim.delegate(from: "targets", to: DelegatedRole(name: "B", keyIDs: [], threshold: 1, paths: ["viaB/*"]))
        let cKeys = try sim.delegate(from: "A", to: DelegatedRole(name: "C", keyIDs: [], threshold: 1, paths: ["*/*"]))
        let (otherID, otherKey) = try sim.newKey()
        var bd = sim.targets["B"]?.signed.delegations ?? Delegations(keys: [], roles: [])
        bd.keys.append((otherID, try Key(publicKey: otherKey.publicKey)))
        bd.roles = (bd.roles ?? []) + [DelegatedRole(name: "C", keyIDs: [otherID], threshold: 1, paths: ["*/*"])]
        sim.targets["B"]?.signed.delegations = bd
        sim.signers["C"] = cKeys
        try sim.targets["C"]?.signed.setTarget(TargetFile(path: "viaA/t", bytes: [1]))
        try sim.targets["C"]?.signed.setTarget(TargetFile(path: "viaB/t", bytes: [2]))
        try sim.publish(roles: ["C", "A", "B", "targets"])
        let u = try updater()
        XCTAssertEqual(try u.lookup("viaA/t").length, 1)
        // Same updater, C already trusted via A: via B it must be re-verified with B's key and fail.
        XCTAssertThrowsError(try u.lookup("viaB/t")) { e in
            guard case .thresholdNotMet(file: "C.json", role: "C", threshold: 1, valid: 0) = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    func testHashPrefixDelegation() throws {
        let path = "pkg/thing.tar.gz"
        let hex = try SHA256.hash(Array(path.utf8)).hex
        try sim.delegate(from: "targets", to: DelegatedRole(name: "wrong", keyIDs: [], threshold: 1,
                                                           pathHashPrefixes: [hex.first == "0" ? "1" : "0"]))
        try sim.delegate(from: "targets", to: DelegatedRole(name: "right", keyIDs: [], threshold: 1, pathHashPrefixes: [String(hex.prefix(3))]))
        try sim.targets["wrong"]?.signed.setTarget(TargetFile(path: path, bytes: [0]))
        try sim.targets["right"]?.signed.setTarget(TargetFile(path: path, bytes: [1, 1]))
        try sim.publish(roles: ["wrong", "right", "targets"])
        XCTAssertEqual(try updater().lookup(path).length, 2)
    }

    func testSuccinctHashBins() throws {
        let (id, key) = try sim.newKey()
        let bins = SuccinctRoles(keyIDs: [id], threshold: 1, bitLength: 3, namePrefix: "bin")
        sim.targets["targets"]?.signed.delegations = Delegations(keys: [(id, try Key(publicKey: key.publicKey))], succinctRoles: bins)
        var names: [String] = []
        for n in 0..<bins.binCount {
            let name = bins.binName(n)
            names.append(name)
            sim.targets[name] = Metadata(signed: Targets(header: Header(version: 1, expiresAt: RepositorySimulator.farFuture)))
            sim.signers[name] = [(id, key)]
        }
        XCTAssertEqual(names.first, "bin-0")
        XCTAssertEqual(names.last, "bin-7")
        for i in 0..<40 {
            let path = "file-\(i)"
            try sim.addTarget(path, Array("content \(i)".utf8), role: bins.roleName(for: path))
        }
        try sim.publish(roles: names + ["targets"])
        let u = try updater()
        for i in [0, 17, 39] {
            let t = try u.lookup("file-\(i)")
            XCTAssertEqual(content(of: t), "content \(i)")
        }
        XCTAssertTrue(bins.isDelegatedRole("bin-5"))
        XCTAssertFalse(bins.isDelegatedRole("bin-8"))
        XCTAssertFalse(bins.isDelegatedRole("bin-05"))
        XCTAssertFalse(bins.isDelegatedRole("other-1"))
    }

    /// A delegation to more hash bins than the snapshot lists (bit_length up to 32: four billion names)
    /// is refused before any bin is queued, when the whole repository is verified.
    func testMoreHashBinsThanTheSnapshotListsAreRefusedUpFront() throws {
        let (id, key) = try sim.newKey()
        let bins = SuccinctRoles(keyIDs: [id], threshold: 1, bitLength: 20, namePrefix: "bin")
        sim.targets["targets"]?.signed.delegations = Delegations(keys: [(id, try Key(publicKey: key.publicKey))], succinctRoles: bins)
        try sim.publish(roles: ["targets"])
        XCTAssertThrowsError(try updater().verifiedRepository(earlierRoots: { _ in nil })) { e in
            guard case .invalidMetadata(file: "snapshot.json", let reason) = e as? TUFError, reason.contains("1048576 hash bins") else { return XCTFail("\(e)") }
        }
    }

    func testDelegatedRoleExpiryAndMissingSnapshotEntry() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "d", keyIDs: [], threshold: 1, paths: ["d/*"]))
        sim.targets["d"]?.signed.header.setExpiry(RepositorySimulator.now - 5)
        try sim.publish(roles: ["d", "targets"])
        XCTAssertThrowsError(try updater().lookup("d/x")) { e in
            guard case .expired(file: "d.json", _) = e as? TUFError else { return XCTFail("\(e)") }
        }
        sim.snapshot.signed.meta.removeAll { $0.0 == "d.json" }
        try sim.publishSnapshotAndTimestamp()
        store = InMemoryMetadataStore(root: sim.signedRoots[0])
        XCTAssertThrowsError(try updater().lookup("d/x")) { e in
            guard case .missingFromSnapshot(role: "d") = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    func testRoleNamesArePercentEncodedInURLsAndFiles() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "team/a b", keyIDs: [], threshold: 1, paths: ["x"]))
        try sim.targets["team/a b"]?.signed.setTarget(TargetFile(path: "x", bytes: [7]))
        try sim.publish(roles: ["team/a b", "targets"])
        _ = try updater().lookup("x")
        XCTAssertTrue(sim.requests.contains(RepositorySimulator.metadataURL + "1.team%2Fa%20b.json"))
        let dir = NSTemporaryDirectory() + "signet-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let disk = try DirectoryMetadataStore(directory: dir)
        XCTAssertEqual(try disk.path(role: "team/a b"), dir + "/team%2Fa%20b.json")
        XCTAssertEqual(try disk.path(role: ".."), dir + "/...json")
    }
}
