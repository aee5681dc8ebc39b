import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetTestSupport
import SignetFiles
import XCTest
@testable import SignetTUF

/// The client workflow against an in-memory repository, one named attack per test.
final class UpdaterTests: XCTestCase {
    var sim: RepositorySimulator!
    var store: InMemoryMetadataStore!
    var now = RepositorySimulator.now

    override func setUpWithError() throws {
        sim = try RepositorySimulator()
        try sim.addTarget("file.txt", Array("hello".utf8))
        try sim.publish()
        store = InMemoryMetadataStore(root: sim.signedRoots[0])
    }

    func updater(config: UpdaterConfig = UpdaterConfig()) throws -> Updater {
        let t = now
        return try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: sim, store: store, clock: { t }, config: config)
    }

    func refreshError() -> TUFError? {
        do { try updater().refresh(); return nil } catch let e as TUFError { return e } catch { return .misuse("\(error)") }
    }

    // MARK: Transfers end

    /// Records the deadline of every request on its way to the simulator.
    final class DeadlineRecorder: Transport, @unchecked Sendable {
        let inner: RepositorySimulator
        private let lock = NSLock()
        private var recorded: [(url: String, deadline: TransferDeadline?)] = []
        init(_ inner: RepositorySimulator) { self.inner = inner }
        var requests: [(url: String, deadline: TransferDeadline?)] { lock.withLock { recorded } }
        func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
            lock.withLock { recorded.append((request.url, request.deadline)) }
            return try inner.send(request, maxBodyBytes: maxBodyBytes)
        }
        func stream(_ request: HTTPRequest, maxBodyBytes: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
            lock.withLock { recorded.append((request.url, request.deadline)) }
            return try inner.stream(request, maxBodyBytes: maxBodyBytes, sink: sink)
        }
    }

    /// Every metadata and target transfer carries a deadline of the allowance plus its byte limit at the
    /// minimum rate, so a server that drips bytes (just above curl's low-speed limit) is cut off.
    func testEveryTransferHasADeadlineFromItsSize() throws {
        var config = UpdaterConfig()
        config.transferAllowance = 2
        config.minimumRate = 1000
        let recorder = DeadlineRecorder(sim)
        let t = now
        let u = try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: recorder, store: store, clock: { t }, config: config)
        try u.refresh()
        let dir = NSTemporaryDirectory() + "signet-upd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try u.download(try u.lookup("file.txt"), targetBaseURL: RepositorySimulator.targetsURL, into: dir)
        let requests = recorder.requests
        XCTAssertGreaterThanOrEqual(requests.count, 4)
        let now = TransferDeadline.now()
        for (url, deadline) in requests {
            guard let deadline else { XCTFail("\(url) has no deadline"); continue }
            let seconds = Double(deadline.nanoseconds &- now) / 1e9
            let limit: Double = url.hasSuffix("timestamp.json") ? 16_384 : url.hasSuffix("root.json") ? 512_000 : url.hasSuffix("file.txt") ? 5 : 5_000_000
            XCTAssertLessThanOrEqual(seconds, 2 + limit / 1000 + 1, url)
            XCTAssertGreaterThan(seconds, 0, url)
        }
        let timestamp = try XCTUnwrap(requests.first { $0.url.hasSuffix("timestamp.json") }?.deadline)
        XCTAssertLessThan(Double(timestamp.nanoseconds &- now) / 1e9, 20, "16 384 bytes at 1 000 B/s, plus 2 s")
    }

    // MARK: Happy path
    // MARK: Happy path

    func testRefreshLookupAndDownload() throws {
        let u = try updater()
        try u.refresh()
        XCTAssertEqual(store.roles, ["root", "snapshot", "targets", "timestamp"])
        let t = try u.lookup("file.txt")
        XCTAssertEqual(t.length, 5)
        let dir = NSTemporaryDirectory() + "signet-upd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try u.download(t, targetBaseURL: RepositorySimulator.targetsURL, into: dir)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data("hello".utf8))
        // Consistent snapshots: the target is requested by hash.
        XCTAssertTrue(sim.requests.contains { $0.hasSuffix("/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.file.txt") })
        // Second download is served from the verified local copy.
        sim.clearRequests()
        _ = try u.download(t, targetBaseURL: RepositorySimulator.targetsURL, into: dir)
        XCTAssertTrue(sim.requests.isEmpty)
    }

    func testNoRepeatedRequestsAndStoredCopiesReused() throws {
        try updater().refresh()
        sim.clearRequests()
        try updater().refresh()
        // Nothing changed: root probe, one timestamp fetch; snapshot and targets come from the store.
        XCTAssertEqual(sim.requests, [RepositorySimulator.metadataURL + "2.root.json", RepositorySimulator.metadataURL + "timestamp.json"])
    }

    func testNewVersionsAreFollowed() throws {
        try updater().refresh()
        try sim.addTarget("new.txt", Array("new".utf8))
        try sim.publish()
        let u = try updater()
        XCTAssertEqual(try u.lookup("new.txt").length, 3)
        XCTAssertEqual(u.trusted.targets?.signed.header.version, 3)
    }

    /// Records what the updater asks of a directory store's write-ahead.
    final class RecordingStore: MetadataStore, @unchecked Sendable {
        let base: DirectoryMetadataStore
        var events: [String] = []
        var failWrites = false
        init(_ base: DirectoryMetadataStore) { self.base = base }
        func load(role: String, limit: Int) throws(TUFError) -> [UInt8]? { try base.load(role: role, limit: limit) }
        func save(role: String, bytes: [UInt8]) throws(TUFError) { events.append("save \(role)"); try base.save(role: role, bytes: bytes) }
        func remove(role: String) throws(TUFError) { try base.remove(role: role) }
        func beginSave(role: String) throws(TUFError) -> (any PendingMetadataSave)? {
            events.append("begin \(role)")
            guard let inner = try base.beginSave(role: role) else { return nil }
            return Pending(inner, self, role)
        }
        final class Pending: PendingMetadataSave, @unchecked Sendable {
            let inner: any PendingMetadataSave
            let owner: RecordingStore
            let role: String
            init(_ inner: any PendingMetadataSave, _ owner: RecordingStore, _ role: String) { (self.inner, self.owner, self.role) = (inner, owner, role) }
            func write(_ bytes: UnsafeRawBufferPointer) throws(TUFError) {
                if owner.failWrites { throw TUFError.storage(path: role, detail: "disk full") }
                try inner.write(bytes)
            }
            func commit() throws(TUFError) { owner.events.append("commit \(role)"); try inner.commit() }
            func discard() { owner.events.append("discard \(role)"); inner.discard() }
        }
    }

    /// Targets roles of 1 MiB or more are hashed and written ahead while they arrive; the file becomes
    /// the stored one only after it verified, and a file that does not is never stored, nor left behind.
    func testLargeTargetsAreWrittenAheadAndStoredOnlyOnceVerified() throws {
        for i in 0..<8_000 { try sim.addTarget("pkg/component-\(i % 50)/file-\(i).tar.gz", Array("content \(i)".utf8)) }
        try sim.publish()
        let large = try XCTUnwrap(sim.files["3.targets.json"])
        XCTAssertGreaterThan(Int64(large.count), Updater.pipelinedLength)
        let dir = NSTemporaryDirectory() + "signet-upd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recording = RecordingStore(try DirectoryMetadataStore(directory: dir))
        func partials() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".partial") } }
        let t = now
        func update() throws -> Updater {
            try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: sim, store: recording,
                        clock: { t }, config: UpdaterConfig())
        }
        try recording.base.save(role: "root", bytes: sim.signedRoots[0])
        let u = try update()
        XCTAssertEqual(try u.lookup("pkg/component-7/file-7957.tar.gz").length, Int64("content 7957".utf8.count))
        XCTAssertEqual(try recording.load(role: "targets", limit: 1 << 24), large)
        XCTAssertEqual(recording.events.filter { $0.hasSuffix("targets") }, ["begin targets", "commit targets"])
        XCTAssertEqual(try partials(), [])

        // A new version whose bytes do not match the snapshot's hash: refused, discarded, old file kept.
        try sim.addTarget("pkg/extra.tar.gz", Array("extra".utf8))
        try sim.publish()
        var tampered = try XCTUnwrap(sim.files["4.targets.json"])
        let at = try XCTUnwrap(tampered.lastIndex(of: UInt8(ascii: "9")))
        tampered[at] = UInt8(ascii: "8")
        sim.overrides[RepositorySimulator.metadataURL + "4.targets.json"] = tampered
        recording.events.removeAll()
        XCTAssertThrowsError(try update().refresh()) { error in
            guard case .hashMismatch(file: "targets.json", algorithm: "sha256") = error as? TUFError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(recording.events.filter { $0.hasSuffix("targets") }, ["begin targets", "discard targets"])
        XCTAssertEqual(try recording.load(role: "targets", limit: 1 << 24), large)
        XCTAssertEqual(try partials(), [])

        // The real bytes, but the write ahead fails: the storage error, nothing stored, nothing left.
        sim.overrides.removeAll()
        recording.failWrites = true
        recording.events.removeAll()
        XCTAssertThrowsError(try update().refresh()) { error in
            guard case .storage(path: "targets", detail: "disk full") = error as? TUFError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(recording.events.filter { $0.hasSuffix("targets") }, ["begin targets", "discard targets"])
        XCTAssertEqual(try recording.load(role: "targets", limit: 1 << 24), large)
        XCTAssertEqual(try partials(), [])
        recording.failWrites = false

        // The real bytes verify and replace it.
        try update().refresh()
        XCTAssertEqual(try recording.load(role: "targets", limit: 1 << 24), sim.files["4.targets.json"])
        XCTAssertEqual(try partials(), [])

        // A (signed) snapshot that claims a length far beyond anything sent reserves no such memory: the
        // short file is refused for its length, nothing is stored.
        try sim.addTarget("pkg/more.tar.gz", Array("more".utf8))
        try sim.publish()
        let real = try XCTUnwrap(sim.snapshot.signed.meta(forRole: "targets"))
        sim.snapshot.signed.setMeta(MetaFile(version: real.version, length: 1 << 40, hashes: real.hashes), forRole: "targets")
        try sim.publishSnapshotAndTimestamp()
        XCTAssertThrowsError(try update().refresh()) { error in
            guard case .lengthMismatch(file: "targets.json", expected: 1 << 40, received: _) = error as? TUFError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try recording.load(role: "targets", limit: 1 << 24), sim.files["4.targets.json"])
        XCTAssertEqual(try partials(), [])
    }

    // MARK: Arbitrary software

    func testBadSignatureRejected() throws {
        let url = RepositorySimulator.metadataURL + "timestamp.json"
        var m = try Metadata<Timestamp>(bytes: try XCTUnwrap(sim.files["timestamp.json"]), file: "t")
        var sig = Array(m.signatures[0].sig)
        sig[0] = sig[0] == "0" ? "1" : "0"
        m.signatures[0].sig = String(sig)
        sim.overrides[url] = try m.encoded()
        guard case .thresholdNotMet(_, "timestamp", 1, 0) = refreshError() else { return XCTFail("expected threshold failure") }
    }

    func testWrongKeyRejected() throws {
        let (id, key) = try sim.newKey()
        sim.signers["snapshot"] = [(id, key)]   // not listed in root
        try sim.publishSnapshotAndTimestamp()
        guard case .thresholdNotMet(_, "snapshot", 1, 0) = refreshError() else { return XCTFail("expected threshold failure") }
    }

    func testThresholdNotMetAndSameKeyNotCountedTwice() throws {
        // Root lists the targets key under two key IDs with threshold 2: one key must not satisfy it.
        let (id, key) = try XCTUnwrap(sim.signers["targets"]?.first)
        let alias = String(repeating: "ab", count: 32)
        sim.root.signed.keys.append((alias, try Key(publicKey: key.publicKey)))
        sim.root.signed.roles["targets"] = RoleKeys(keyIDs: [id, alias], threshold: 2)
        sim.root.signed.header.version = 2
        try sim.publishRoot()
        sim.signers["targets"] = [(id, key), (alias, key)]
        try sim.publish()
        guard case .thresholdNotMet(_, "targets", 2, 1) = refreshError() else { return XCTFail("expected threshold 2 not met with 1") }
    }

    func testDuplicateSignatureKeyIDRejected() throws {
        var m = try Metadata<Timestamp>(bytes: try XCTUnwrap(sim.files["timestamp.json"]), file: "t")
        m.signatures.append(m.signatures[0])
        sim.overrides[RepositorySimulator.metadataURL + "timestamp.json"] = JSONWriter.encode(m.json)
        guard case .duplicateSignature = refreshError() else { return XCTFail("expected duplicate signature error") }
    }

    func testUnknownKeyTypeNeverCountsAndNeverCrashes() throws {
        let weird = Key(keyType: "quantum", scheme: "magic", keyval: try JSONObject([("public", .string("zz"))]))
        XCTAssertFalse(weird.isSupported)
        sim.root.signed.keys.append(("weird", weird))
        sim.root.signed.roles["timestamp"]?.keyIDs.append("weird")
        sim.root.signed.header.version = 2
        try sim.publishRoot()
        try sim.publishTimestamp()
        XCTAssertNil(refreshError())   // the real key still meets threshold 1
        sim.root.signed.roles["timestamp"] = RoleKeys(keyIDs: ["weird"], threshold: 1)
        sim.root.signed.header.version = 3
        try sim.publishRoot()
        try sim.publishTimestamp()
        guard case .thresholdNotMet(_, "timestamp", 1, 0) = refreshError() else { return XCTFail("unknown key counted") }
    }

    // MARK: Rollback

    func testTimestampRollbackRejected() throws {
        try updater().refresh()
        let old = try XCTUnwrap(sim.files["timestamp.json"])
        try sim.publishTimestamp()
        try updater().refresh()
        sim.overrides[RepositorySimulator.metadataURL + "timestamp.json"] = old
        guard case .rollback(file: "timestamp.json", trusted: 3, received: 2) = refreshError() else { return XCTFail("expected timestamp rollback") }
    }

    func testSnapshotRollbackViaTimestampRejected() throws {
        try updater().refresh()
        // A timestamp with a higher version that names an older snapshot.
        sim.timestamp.signed.header.version += 1
        sim.timestamp.signed.snapshotMeta.version = 1
        sim.timestamp.signatures = []
        for (id, k) in sim.signers["timestamp"] ?? [] { try sim.timestamp.sign(with: k, keyID: id) }
        sim.overrides[RepositorySimulator.metadataURL + "timestamp.json"] = try sim.timestamp.encoded()
        guard case .rollback = refreshError() else { return XCTFail("expected snapshot rollback") }
    }

    func testTargetsRollbackInSnapshotRejected() throws {
        try updater().refresh()
        // New snapshot lists targets version 1 although version 2 was trusted.
        sim.snapshot.signed.setMeta(MetaFile(version: 1), forRole: "targets")
        try sim.publishSnapshotAndTimestamp()
        guard case .rollback(file: "targets.json (named by snapshot)", trusted: 2, received: 1) = refreshError() else {
            return XCTFail("expected targets rollback")
        }
    }

    func testRoleRemovedFromSnapshotRejected() throws {
        try sim.delegate(from: "targets", to: DelegatedRole(name: "a", keyIDs: [], threshold: 1, paths: ["a/*"]))
        try sim.publish(roles: ["a", "targets"])
        try updater().refresh()
        sim.snapshot.signed.meta.removeAll { $0.0 == "a.json" }
        try sim.publishSnapshotAndTimestamp()
        guard case .roleRemovedFromSnapshot(role: "a.json") = refreshError() else { return XCTFail("expected removed role") }
    }

    func testRootVersionMustIncrementByOne() throws {
        sim.root.signed.header.version = 3   // published as the file 2.root.json
        try sim.publishRoot()
        guard case .rollback(file: "2.root.json", trusted: 1, received: 3) = refreshError() else { return XCTFail("expected root version error") }
    }

    // MARK: Freeze

    func testExpiredRoleIsAFreezeAttack() throws {
        for role in ["timestamp", "snapshot", "targets"] {
            try setUpWithError()
            switch role {
            case "timestamp": sim.timestamp.signed.header.setExpiry(now - 1); try sim.publishTimestamp()
            case "snapshot": sim.snapshot.signed.header.setExpiry(now); try sim.publishSnapshotAndTimestamp()
            default: sim.targets["targets"]?.signed.header.setExpiry(now - 100); try sim.publish()
            }
            guard case .expired(let file, _) = refreshError() else { return XCTFail("\(role): expected expiry error") }
            XCTAssertEqual(file, "\(role).json")
        }
    }

    func testExpiredFinalRootIsAFreezeAttack() throws {
        sim.root.signed.header.version = 2
        sim.root.signed.header.setExpiry(now - 1)
        try sim.publishRoot()
        guard case .expired(file: "root.json", _) = refreshError() else { return XCTFail("expected root expiry") }
    }

    func testExpiredIntermediateRootIsFine() throws {
        sim.root.signed.header.version = 2
        sim.root.signed.header.setExpiry(now - 1)
        try sim.publishRoot()
        sim.root.signed.header.version = 3
        sim.root.signed.header.setExpiry(RepositorySimulator.farFuture)
        try sim.publishRoot()
        XCTAssertNil(refreshError())
        XCTAssertEqual(try updater().trusted.root.signed.header.version, 3)
    }

    // MARK: Mix-and-match

    func testSnapshotHashMismatchRejected() throws {
        var other = sim.snapshot
        other.signed.unknown["x-extra"] = .string("swapped")
        other.signatures = []
        for (id, k) in sim.signers["snapshot"] ?? [] { try other.sign(with: k, keyID: id) }
        sim.overrides[RepositorySimulator.metadataURL + "2.snapshot.json"] = try other.encoded()
        guard let e = refreshError() else { return XCTFail("accepted") }
        switch e {
        case .lengthMismatch(file: "snapshot.json", _, _), .hashMismatch(file: "snapshot.json", _): break
        default: XCTFail("expected mismatch, got \(e)")
        }
    }

    func testTargetsHashMismatchRejected() throws {
        let name = "2.targets.json"
        var bytes = try XCTUnwrap(sim.files[name])
        // Same length, different content: flip a letter inside the "_type" value? Keep valid JSON: change a space.
        if let i = bytes.firstIndex(of: UInt8(ascii: "\n")) { bytes[i] = UInt8(ascii: " ") }
        sim.overrides[RepositorySimulator.metadataURL + name] = bytes
        guard case .hashMismatch(file: "targets.json", algorithm: "sha256") = refreshError() else { return XCTFail("expected hash mismatch") }
    }

    func testTargetHashMismatchRejectedAndNothingStored() throws {
        let u = try updater()
        let t = try u.lookup("file.txt")
        // Same length, other bytes, served where the client asks for the target.
        sim.overrides[RepositorySimulator.targetsURL + "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.file.txt"] = Array("HELLO".utf8)
        let dir = NSTemporaryDirectory() + "signet-upd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try u.download(t, targetBaseURL: RepositorySimulator.targetsURL, into: dir)) { e in
            guard case .hashMismatch(file: "file.txt", algorithm: "sha256") = e as? TUFError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    // MARK: Endless data

    func testEveryRoleHasAByteLimit() throws {
        var config = UpdaterConfig()
        config.timestampMaxLength = 100
        XCTAssertThrowsError(try updater(config: config).refresh()) { e in
            guard case .tooLarge(file: "timestamp.json", limit: 100) = e as? TUFError else { return XCTFail("\(e)") }
        }
        config = UpdaterConfig()
        config.rootMaxLength = sim.signedRoots[0].count + 10
        sim.root.signed.header.version = 2
        try sim.publishRoot()
        sim.overrides[RepositorySimulator.metadataURL + "2.root.json"] = sim.signedRoots[1] + [UInt8](repeating: 0x20, count: 1000)
        XCTAssertThrowsError(try updater(config: config).refresh()) { e in
            guard case .tooLarge(file: "2.root.json", limit: _) = e as? TUFError else { return XCTFail("\(e)") }
        }
        // Snapshot and targets: limited by the length their parent lists.
        try setUpWithError()
        let big = [UInt8](repeating: 0x20, count: 10_000)
        sim.overrides[RepositorySimulator.metadataURL + "2.snapshot.json"] = (sim.files["2.snapshot.json"] ?? []) + big
        guard case .tooLarge(file: "2.snapshot.json", _) = refreshError() else { return XCTFail("snapshot not limited") }
        sim.overrides = [:]
        sim.overrides[RepositorySimulator.metadataURL + "2.targets.json"] = (sim.files["2.targets.json"] ?? []) + big
        guard case .tooLarge(file: "2.targets.json", _) = refreshError() else { return XCTFail("targets not limited") }
        // Without listed lengths the configured defaults apply.
        try setUpWithError()
        sim.computeMetaHashes = false
        try sim.publish()
        config = UpdaterConfig()
        config.snapshotMaxLength = 50
        XCTAssertThrowsError(try updater(config: config).refresh()) { e in
            guard case .tooLarge(file: "3.snapshot.json", limit: 50) = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    func testTargetLongerThanListedIsRefused() throws {
        let u = try updater()
        let t = try u.lookup("file.txt")
        sim.overrides[RepositorySimulator.targetsURL + "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.file.txt"] = Array("hello, and much more".utf8)
        let dir = NSTemporaryDirectory() + "signet-upd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try u.download(t, targetBaseURL: RepositorySimulator.targetsURL, into: dir)) { e in
            guard case .tooLarge(file: "file.txt", limit: 5) = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    // MARK: Root rotation

    func rotateRoot(newKeys count: Int, threshold: Int, signWithOld: Bool = true, signWithNew: Int? = nil) throws -> [(String, PrivateKey)] {
        let old = sim.signers["root"] ?? []
        var fresh: [(String, PrivateKey)] = []
        for _ in 0..<count { fresh.append(try sim.newKey()) }
        for (id, k) in fresh { sim.root.signed.keys.append((id, try Key(publicKey: k.publicKey))) }
        sim.root.signed.roles["root"] = RoleKeys(keyIDs: fresh.map(\.0), threshold: threshold)
        sim.root.signed.header.version += 1
        sim.signers["root"] = Array(fresh.prefix(signWithNew ?? count))
        try sim.publishRoot(extraSigners: signWithOld ? old : [])
        sim.signers["root"] = fresh
        return fresh
    }

    func testRootRotationChainWithThresholdChange() throws {
        _ = try rotateRoot(newKeys: 3, threshold: 2)            // v2: 2 of 3, cross-signed by v1
        _ = try rotateRoot(newKeys: 1, threshold: 1, signWithOld: true)  // v3: back to one key; v2's 3 keys sign
        XCTAssertNil(refreshError())
        XCTAssertEqual(try updater().trusted.root.signed.header.version, 3)
    }

    func testNewRootMustMeetItsOwnThreshold() throws {
        _ = try rotateRoot(newKeys: 3, threshold: 2, signWithNew: 1)   // only 1 of the new 3 signs
        guard case .thresholdNotMet(file: "2.root.json", role: "root", threshold: 2, valid: 1) = refreshError() else {
            return XCTFail("expected new-root threshold failure")
        }
    }

    func testIntermediateRootSignedOnlyByNewKeysRejected() throws {
        _ = try rotateRoot(newKeys: 1, threshold: 1, signWithOld: false)
        guard case .thresholdNotMet(file: "2.root.json", role: let role, threshold: 1, valid: 0) = refreshError() else {
            return XCTFail("expected old-root threshold failure")
        }
        XCTAssertTrue(role.hasPrefix("root (trusted version 1)"))
        // The client still trusts version 1 and can update later.
        XCTAssertEqual(store["root"], sim.signedRoots[0])
    }

    func testRemovedRootKeyCannotSignLaterRoots() throws {
        let v1Keys = sim.signers["root"] ?? []
        _ = try rotateRoot(newKeys: 1, threshold: 1)           // v2 drops the v1 key
        // v3 signed by the v1 key only (which v2 removed) plus its own new key.
        sim.root.signed.header.version = 3
        let (id, k) = try sim.newKey()
        sim.root.signed.keys.append((id, try Key(publicKey: k.publicKey)))
        sim.root.signed.roles["root"] = RoleKeys(keyIDs: [id], threshold: 1)
        sim.signers["root"] = [(id, k)]
        try sim.publishRoot(extraSigners: v1Keys)
        guard case .thresholdNotMet(file: "3.root.json", _, _, valid: 0) = refreshError() else { return XCTFail("removed key accepted") }
    }

    func testTooManyRootRotationsStopsAtTheLimit() throws {
        for _ in 0..<5 { _ = try rotateRoot(newKeys: 1, threshold: 1) }
        var config = UpdaterConfig()
        config.maxRootRotations = 3
        let u = try updater(config: config)
        try u.refresh()
        XCTAssertEqual(u.trusted.root.signed.header.version, 4)
    }

    // MARK: Fast-forward recovery

    func testFastForwardRecoveryAfterTimestampKeyRotation() throws {
        try updater().refresh()
        // Attacker (holding the timestamp key) pushes a huge timestamp version; the client trusts it.
        sim.timestamp.signed.header.version = 1000
        try sim.publishTimestamp()
        try updater().refresh()
        // The repository recovers: new timestamp key in a new root, timestamp version back to normal.
        let (id, k) = try sim.newKey()
        sim.root.signed.keys.append((id, try Key(publicKey: k.publicKey)))
        sim.root.signed.roles["timestamp"] = RoleKeys(keyIDs: [id], threshold: 1)
        sim.root.signed.header.version = 2
        try sim.publishRoot()
        sim.signers["timestamp"] = [(id, k)]
        sim.timestamp.signed.header.version = 4
        try sim.publishTimestamp()
        XCTAssertNil(refreshError())
        XCTAssertEqual(try updater().trusted.root.signed.header.version, 2)
    }

    func testFastForwardRecoveryAfterSnapshotKeyRotation() throws {
        try updater().refresh()
        sim.snapshot.signed.header.version = 1000
        try sim.publishSnapshotAndTimestamp()
        try updater().refresh()
        let (id, k) = try sim.newKey()
        sim.root.signed.keys.append((id, try Key(publicKey: k.publicKey)))
        sim.root.signed.roles["snapshot"] = RoleKeys(keyIDs: [id], threshold: 1)
        sim.root.signed.header.version = 2
        try sim.publishRoot()
        sim.signers["snapshot"] = [(id, k)]
        sim.snapshot.signed.header.version = 3
        try sim.publishSnapshotAndTimestamp()
        XCTAssertNil(refreshError())
    }

    // MARK: Targets

    func testTargetNotFound() throws {
        XCTAssertThrowsError(try updater().lookup("nope.txt")) { e in
            guard case .targetNotFound(path: "nope.txt") = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    func testTargetPathsStayInsideTheTargetDirectory() throws {
        for path in ["../escape", "/etc/passwd", "a/../../b", "..", "."] {
            let stored = try? Updater.localPath(for: path, in: "/tmp/out")
            if let stored {
                XCTAssertTrue(stored.hasPrefix("/tmp/out/"), path)
                XCTAssertFalse(stored.dropFirst(9).contains("/"), path)
                XCTAssertNotEqual(stored, "/tmp/out/..")
                XCTAssertNotEqual(stored, "/tmp/out/.")
            }
        }
        XCTAssertThrowsError(try Updater.localPath(for: "", in: "/tmp/out"))
        XCTAssertThrowsError(try Updater.localPath(for: "..", in: "/tmp/out"))
        XCTAssertEqual(try Updater.localPath(for: "../escape", in: "/tmp/out"), "/tmp/out/..%2Fescape")
    }

    func testTargetWithoutSupportedHashFails() throws {
        var t = try sim.targets["targets"]?.signed.target("file.txt")
        t?.hashes = [("md5", "5d41402abc4b2a76b9719d911017c592")]
        if let t { sim.targets["targets"]?.signed.setTarget(t) }
        try sim.publish()
        let u = try updater()
        let found = try u.lookup("file.txt")
        XCTAssertThrowsError(try u.download(found, targetBaseURL: RepositorySimulator.targetsURL, into: NSTemporaryDirectory())) { e in
            guard case .noSupportedHash(file: "file.txt") = e as? TUFError else { return XCTFail("\(e)") }
        }
    }
}

/// What a failed refresh leaves behind, and renewal's expiry policy.
final class UpdaterStateTests: XCTestCase {
    var sim: RepositorySimulator!
    var now = RepositorySimulator.now

    override func setUpWithError() throws {
        sim = try RepositorySimulator()
        try sim.addTarget("file.txt", Array("hello".utf8))
        try sim.publish()
    }

    func updater(_ store: any MetadataStore, expired: ExpiredMetadata = .refuse) throws -> Updater {
        let t = now
        var config = UpdaterConfig()
        config.expiredMetadata = expired
        return try Updater(metadataBaseURL: RepositorySimulator.metadataURL, transport: sim, store: store, clock: { t }, config: config)
    }

    func testAFailedRefreshLeavesThePreviousTrustedStateWhole() throws {
        let store = InMemoryMetadataStore(root: sim.signedRoots[0])
        let u = try updater(store)
        try u.refresh()
        let before = u.trusted.timestamp?.signed.header.version
        XCTAssertNotNil(u.verifiedBytes(role: "targets"))
        // The next timestamp is fine, but the snapshot it names is served with a flipped byte.
        try sim.addTarget("two.txt", Array("two".utf8))
        try sim.publish()
        let name = "\(sim.snapshot.signed.header.version).snapshot.json"
        var bad = try XCTUnwrap(sim.files[name])
        bad[bad.count / 2] ^= 0x20
        sim.files[name] = bad
        XCTAssertThrowsError(try u.refresh())
        XCTAssertEqual(u.trusted.timestamp?.signed.header.version, before, "the previous set stays visible, not a half-updated one")
        XCTAssertNotNil(u.trusted.targets)
        XCTAssertNotNil(u.verifiedBytes(role: "targets"))
    }

    func testATransactionalStoreChangesNothingUntilCommitted() throws {
        let base = InMemoryMetadataStore(root: sim.signedRoots[0])
        let tx = TransactionalMetadataStore(base: base)
        try updater(tx).refresh()
        XCTAssertEqual(base.roles, ["root"], "nothing reached the underlying store yet")
        try tx.commit()
        XCTAssertEqual(base.roles, ["root", "snapshot", "targets", "timestamp"])
        // After commit, writes pass straight through.
        try tx.save(role: "x", bytes: [1])
        XCTAssertEqual(base["x"], [1])
    }

    /// Committed to a directory, every verified file is stored at once (one `saveAll`), byte for byte,
    /// with no temporary file left; a file already held unchanged is not rewritten.
    func testATransactionalStoreCommitsEveryFileToADirectory() throws {
        let dir = try TemporaryDirectory()
        let base = try DirectoryMetadataStore(directory: dir.path)
        try base.save(role: "root", bytes: sim.signedRoots[0])
        let tx = TransactionalMetadataStore(base: base)
        let u = try updater(tx)
        try u.refresh()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["root.json"])
        var rootInfo = stat()
        XCTAssertEqual(stat(dir.path + "/root.json", &rootInfo), 0)
        try tx.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["root.json", "snapshot.json", "targets.json", "timestamp.json"])
        for role in ["timestamp", "snapshot", "targets"] {
            XCTAssertEqual(try base.load(role: role, limit: 1 << 20), u.verifiedBytes(role: role), role)
        }
        var after = stat()
        XCTAssertEqual(stat(dir.path + "/root.json", &after), 0)
        XCTAssertEqual(after.st_ino, rootInfo.st_ino, "the unchanged root was rewritten")
    }

    /// A refresh's reference time moves forward only when nothing it decided would change: every file
    /// it trusts still unexpired at the new time, expiry enforced, nothing accepted expired.
    func testTheReferenceTimeMovesForwardOnlyWhileNothingTrustedExpires() throws {
        let store = InMemoryMetadataStore(root: sim.signedRoots[0])
        let u = try updater(store)
        try u.refresh()
        let start = u.trusted.referenceTime
        XCTAssertTrue(u.advanceReferenceTime(to: start + 60))
        XCTAssertEqual(u.trusted.referenceTime, start + 60)
        XCTAssertFalse(u.advanceReferenceTime(to: start), "moved back")
        XCTAssertFalse(u.advanceReferenceTime(to: RepositorySimulator.farFuture + 1), "past the files' expiry")
        XCTAssertEqual(u.trusted.referenceTime, start + 60)
        // Under a policy that may accept expired files, it never moves.
        let renew = try updater(store, expired: .allowIfSeen)
        try renew.refresh()
        XCTAssertFalse(renew.advanceReferenceTime(to: renew.trusted.referenceTime + 60))
    }

    func testExpiredMetadataIsAcceptedForRenewalOnlyAtVersionsThisMachineTrusted() throws {
        let store = InMemoryMetadataStore(root: sim.signedRoots[0])
        try updater(store).refresh()
        now = RepositorySimulator.farFuture + 86400   // everything has expired
        XCTAssertThrowsError(try updater(store).refresh()) { e in
            guard case .expired = e as? TUFError else { return XCTFail("\(e)") }
        }
        // Renewal: the versions this machine trusted are accepted although expired.
        let renew = try updater(store, expired: .allowIfSeen)
        try renew.refresh()
        XCTAssertEqual(Set(renew.trusted.expiredAccepted.map(\.role)), ["timestamp", "snapshot", "targets", "root"])
        // A machine that never trusted this repository refuses the same expired state.
        let fresh = InMemoryMetadataStore(root: sim.signedRoots[0])
        XCTAssertThrowsError(try updater(fresh, expired: .allowIfSeen).refresh()) { e in
            guard case .expiredNotSeen(let file, _, _, nil) = e as? TUFError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, "timestamp.json")
        }
        XCTAssertEqual(fresh.roles, ["root"])
    }
}
