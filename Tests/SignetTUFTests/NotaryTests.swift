import Foundation
import SignetCrypto
import SignetJSON
import SignetTestSupport
import XCTest
@testable import SignetTUF

/// A Notary source serving files from memory, so tests can tamper with them.
final class MemoryNotarySource: NotarySource, @unchecked Sendable {
    var files: [String: [UInt8]]
    /// The files asked for, in order.
    var log: [String] = []
    init(_ files: [String: [UInt8]]) { self.files = files }
    func fetch(_ file: NotaryFile, limit: Int) throws(TUFError) -> [UInt8]? {
        log.append(file.role + (file.description.hasPrefix(file.role + ".json") ? "" : " (\(file.description.count > 40 ? "by hash" : file.description))"))
        let name: String
        switch file {
        case .current(let r), .byHash(let r, _): name = r
        case .rootVersion(let v): name = "\(v).root"
        }
        guard let b = files[name] else { return nil }
        if b.count > limit { throw TUFError.tooLarge(file: name, limit: Int64(limit)) }
        return b
    }
}

/// The Notary v1 dialect against Notary's own compatibility fixtures (TestVectors/notary).
final class NotaryTests: XCTestCase {
    static let fixtures = TestProcesses.packageRoot.appendingPathComponent("TestVectors/notary").path
    static let gun01 = "docker.com/notary0.1/samplerepo"
    static let gun03 = "docker.com/notary0.3/tst"
    /// 2026-01-01, when notary0.3's root certificate (expired 2026-07-25) was still valid.
    static let early: Int64 = 1_767_225_600

    func files(_ version: String, _ gun: String) throws -> [String: [UInt8]] {
        let dir = NotaryTests.fixtures + "/\(version)/tuf/\(gun)/metadata"
        var out: [String: [UInt8]] = [:]
        for role in ["root", "timestamp", "snapshot", "targets", "targets/releases"] {
            if let d = FileManager.default.contents(atPath: dir + "/\(role).json") { out[role] = [UInt8](d) }
        }
        return out
    }

    func updater(_ source: MemoryNotarySource, gun: String, now: Int64, store: InMemoryMetadataStore? = nil) throws -> NotaryUpdater {
        let store = store ?? InMemoryMetadataStore(root: source.files["root"])
        return NotaryUpdater(gun: gun, source: source, store: store, clock: { now })
    }

    func testNotary01RepositoryVerifiesAndResolvesItsTarget() throws {
        let source = MemoryNotarySource(try files("notary0.1", NotaryTests.gun01))
        let u = try updater(source, gun: NotaryTests.gun01, now: Int64(Date().timeIntervalSince1970))
        try u.refresh()
        let set = try XCTUnwrap(u.trusted)
        let (target, role) = try XCTUnwrap(try set.dockerTarget("LICENSE"))
        XCTAssertEqual(role, "targets")
        XCTAssertEqual(target.length, 11309)
        XCTAssertEqual(target.sha256?.hex, "9395bac6fccb26bcb55efb083d1b4b0fe72a1c25f959f056c016120b3bb56a62")
        XCTAssertNil(try set.dockerTarget("absent"))
        // Dates with offsets: "-08:00".
        XCTAssertTrue(set.root.envelope.expiresText.hasSuffix("-08:00") || set.timestamp?.envelope.expiresText.hasSuffix("-08:00") == true)
    }

    func testNotary03DelegationSignedWithRSAPSSByAnExpiredCertificateIsAccepted() throws {
        let source = MemoryNotarySource(try files("notary0.3", NotaryTests.gun03))
        let u = try updater(source, gun: NotaryTests.gun03, now: NotaryTests.early)
        try u.refresh()
        let set = try XCTUnwrap(u.trusted)
        XCTAssertNotNil(set.roles["targets/releases"], "the rsa-x509 delegation verified: \(set.skipped)")
        let (hello, role) = try XCTUnwrap(try set.dockerTarget("hello"))
        XCTAssertEqual(role, "targets/releases")
        XCTAssertEqual(hello.length, 0)
        XCTAssertEqual(try set.dockerTarget("LICENSE")?.role, "targets")
    }

    func testAnExpiredRootCertificateIsRefused() throws {
        // notary0.3's root certificate expired on 2026-07-25.
        let source = MemoryNotarySource(try files("notary0.3", NotaryTests.gun03))
        let now = max(Int64(Date().timeIntervalSince1970), 1_790_000_000)
        XCTAssertThrowsError(try updater(source, gun: NotaryTests.gun03, now: now).refresh()) { e in
            // Named as an expiry, with the certificate's end date.
            XCTAssertTrue("\(e)".contains("root certificates for \(NotaryTests.gun03)") && "\(e)".contains("expired at 2026-07-25"), "\(e)")
        }
        // Data whose server is gone may be read with the unsafe option, which covers the certificates too.
        let store = InMemoryMetadataStore(root: source.files["root"])
        let accepted = NSLock()
        nonisolated(unsafe) var said: [String] = []
        let lenient = NotaryUpdater(gun: NotaryTests.gun03, source: source, store: store, clock: { now }, unsafeAllowExpired: true) { event in
            accepted.withLock { said.append(event.description) }
        }
        XCTAssertNoThrow(try lenient.refresh())
        // What was accepted is named with its version and date (not "version 0").
        let root = accepted.withLock { said.first { $0.contains("root certificates") } } ?? ""
        XCTAssertTrue(root.contains("(version 1) expired at 2026-07-25"), "\(said)")
    }

    func testTheRootCertificateMustNameTheRepository() throws {
        let source = MemoryNotarySource(try files("notary0.1", NotaryTests.gun01))
        XCTAssertThrowsError(try updater(source, gun: "docker.com/other/repo", now: NotaryTests.early).refresh()) { e in
            XCTAssertTrue("\(e)".contains("no root key is a usable certificate for docker.com/other/repo"), "\(e)")
        }
    }

    func testTamperedAnswersAreRefused() throws {
        let original = try files("notary0.3", NotaryTests.gun03)
        // A flipped byte in targets: the snapshot's hash no longer matches.
        var flipped = original
        var t = try XCTUnwrap(flipped["targets"])
        t[t.count / 2] ^= 0x01
        flipped["targets"] = t
        XCTAssertThrowsError(try updater(MemoryNotarySource(flipped), gun: NotaryTests.gun03, now: NotaryTests.early).refresh()) { e in
            XCTAssertTrue("\(e)".contains("targets.json"), "\(e)")
        }
        // A swapped role: the snapshot served as the timestamp.
        var swapped = original
        swapped["timestamp"] = original["snapshot"]
        XCTAssertThrowsError(try updater(MemoryNotarySource(swapped), gun: NotaryTests.gun03, now: NotaryTests.early).refresh()) { e in
            guard case .wrongType(_, "Timestamp", "Snapshot") = e as? TUFError else { return XCTFail("\(e)") }
        }
        // An older timestamp than this machine trusted: rollback.
        let store = InMemoryMetadataStore(root: original["root"])
        let u = try updater(MemoryNotarySource(original), gun: NotaryTests.gun03, now: NotaryTests.early, store: store)
        try u.refresh()
        var newer = try XCTUnwrap(try JSONParser.parse(try XCTUnwrap(original["timestamp"])).objectValue)
        var signed = try XCTUnwrap(newer["signed"]?.objectValue)
        signed["version"] = .integer(99)
        newer["signed"] = .object(signed)
        try store.save(role: "timestamp", bytes: try CanonicalJSON.encode(.object(newer)))
        XCTAssertThrowsError(try updater(MemoryNotarySource(original), gun: NotaryTests.gun03, now: NotaryTests.early, store: store).refresh()) { e in
            guard case .rollback(_, 99, 4) = e as? TUFError else { return XCTFail("\(e)") }
        }
        // A signature that does not verify (its byte flipped): threshold not met.
        var badSig = try XCTUnwrap(try JSONParser.parse(try XCTUnwrap(original["timestamp"])).objectValue)
        var sigs = try XCTUnwrap(badSig["signatures"]?.arrayValue)
        var sig = try XCTUnwrap(sigs[0].objectValue)
        var raw = try XCTUnwrap(Base64.decode(try XCTUnwrap(sig["sig"]?.stringValue)))
        raw[5] ^= 0x80
        sig["sig"] = .string(Base64.encode(raw))
        sigs[0] = .object(sig)
        badSig["signatures"] = .array(sigs)
        var forged = original
        forged["timestamp"] = try CanonicalJSON.encode(.object(badSig))
        XCTAssertThrowsError(try updater(MemoryNotarySource(forged), gun: NotaryTests.gun03, now: NotaryTests.early).refresh()) { e in
            guard case .thresholdNotMet(_, "timestamp", 1, 0) = e as? TUFError else { return XCTFail("\(e)") }
        }
    }

    /// As notary's client: the trusted root is used first and `root.json` is fetched only when that fails;
    /// files the store already holds with the listed hashes are not fetched again; a failed attempt
    /// leaves nothing behind.
    func testWarmRefreshesFetchOnlyWhatChangedAndFailedAttemptsKeepNothing() throws {
        let original = try files("notary0.3", NotaryTests.gun03)
        let source = MemoryNotarySource(original)
        let store = InMemoryMetadataStore(root: original["root"])
        try updater(source, gun: NotaryTests.gun03, now: NotaryTests.early, store: store).refresh()
        XCTAssertEqual(source.log, ["timestamp", "snapshot (by hash)", "targets (by hash)", "targets/releases (by hash)"])
        source.log = []
        try updater(source, gun: NotaryTests.gun03, now: NotaryTests.early, store: store).refresh()
        XCTAssertEqual(source.log, ["timestamp"])

        // A timestamp that does not verify: root.json is fetched once (in case keys changed); it is the
        // trusted root, so the timestamp's error is the answer.
        var badSig = try XCTUnwrap(try JSONParser.parse(try XCTUnwrap(original["timestamp"])).objectValue)
        badSig["signatures"] = .array([])
        var forged = original
        forged["timestamp"] = try CanonicalJSON.encode(.object(badSig))
        let forgedSource = MemoryNotarySource(forged)
        XCTAssertThrowsError(try updater(forgedSource, gun: NotaryTests.gun03, now: NotaryTests.early, store: store).refresh()) { e in
            guard case .thresholdNotMet(_, "timestamp", 1, 0) = e as? TUFError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(forgedSource.log, ["timestamp", "root"])

        // The timestamp verifies but the snapshot it names does not arrive intact: the timestamp accepted
        // on the way is not kept.
        let fresh = InMemoryMetadataStore(root: original["root"])
        var brokenSnapshot = original
        brokenSnapshot["snapshot"]?[10] ^= 0x01
        XCTAssertThrowsError(try updater(MemoryNotarySource(brokenSnapshot), gun: NotaryTests.gun03, now: NotaryTests.early, store: fresh).refresh()) { e in
            guard case .hashMismatch = e as? TUFError else { return XCTFail("\(e)") }
        }
        XCTAssertNil(fresh["timestamp"])
        XCTAssertEqual(fresh.roles, ["root"])
    }

    func testExpiredFilesAreRefusedUnlessExplicitlyAllowed() throws {
        let source = MemoryNotarySource(try files("notary0.1", NotaryTests.gun01))
        let later: Int64 = 4_640_000_000   // 2117
        XCTAssertThrowsError(try updater(source, gun: NotaryTests.gun01, now: later).refresh()) { e in
            XCTAssertTrue("\(e)".contains("expired") || "\(e)".contains("certificate"), "\(e)")
        }
    }

    func testDatesAsNotaryWritesThem() {
        XCTAssertEqual(NotaryCodec.parseDate("2026-12-21T02:38:57.106418857Z")?.seconds, 1_797_820_737)
        XCTAssertEqual(NotaryCodec.parseDate("2029-12-06T03:40:57.310745513+01:00")?.seconds, NotaryCodec.parseDate("2029-12-06T02:40:57Z")?.seconds)
        XCTAssertEqual(NotaryCodec.parseDate("2116-02-03T15:04:05-08:00")?.seconds, NotaryCodec.parseDate("2116-02-03T23:04:05Z")?.seconds)
        XCTAssertNil(NotaryCodec.parseDate("2026-12-21T02:38:57.1234567890Z"))
        XCTAssertNil(NotaryCodec.parseDate("2026-12-21 02:38:57Z"))
        XCTAssertNil(NotaryCodec.parseDate("2026-02-30T00:00:00Z"))
        XCTAssertNil(NotaryCodec.parseDate("2026-12-21T02:38:57"))
    }

    func testDelegationNames() {
        for good in ["targets/releases", "targets/a/b", "targets/alice_1-2"] { XCTAssertTrue(NotaryTargets.isDelegationName(good), good) }
        for bad in ["targets", "releases", "targets/Alice", "targets/a.b", "targets//a", "targets/a/", "targets/../x", "targets/é"] {
            XCTAssertFalse(NotaryTargets.isDelegationName(bad), bad)
        }
    }
}
