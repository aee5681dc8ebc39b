import SignetCrypto
import SignetJSON
import SignetTestSupport
import XCTest
@testable import SignetTUF

/// Large targets files have their Ed25519 signatures hashed while the canonical form is written
/// (`StreamedSignatureChecks`); the answer must always be the one the full check gives.
final class StreamedSignatureTests: XCTestCase {
    /// One repository for all tests (building it takes a while): 9 000 targets, a 1.1 MB targets file.
    /// Canonical files (members sorted, as python-tuf and Signet write them), and no hashes in the
    /// snapshot, so that files made here are judged by their signatures alone.
    nonisolated(unsafe) static var shared: RepositorySimulator?
    var sim: RepositorySimulator!
    var keyID = ""
    var key: PrivateKey!

    override func setUpWithError() throws {
        if Self.shared == nil {
            let sim = try RepositorySimulator()
            sim.prettyPrint = false
            sim.computeMetaHashes = false
            for i in 0..<9_000 { try sim.addTarget("pkg/file-\(i).tar.gz", Array("content \(i)".utf8)) }
            try sim.publish()
            Self.shared = sim
        }
        sim = try XCTUnwrap(Self.shared)
        let signer = try XCTUnwrap(sim.signers["targets"]?.first)
        (keyID, key) = signer
    }

    private var targetsBytes: [UInt8] { sim.files["targets.json"] ?? [] }

    /// A trusted set that has accepted root, timestamp and snapshot, ready for targets.
    private func trustedSet() throws -> TrustedMetadataSet {
        var set = try TrustedMetadataSet(rootBytes: sim.signedRoots[0], referenceTime: RepositorySimulator.now)
        _ = try set.updateTimestamp(try XCTUnwrap(sim.files["timestamp.json"]))
        try set.updateSnapshot(try XCTUnwrap(sim.files["snapshot.json"]))
        return set
    }

    /// Runs the streamed checks over `bytes` as `updateTargets` does and returns their verdicts.
    private func streamedVerdicts(_ bytes: [UInt8]) throws -> [ByteKey: StreamedSignatureChecks.Verdict]? {
        let set = try trustedSet()
        let role = try XCTUnwrap(set.root.signed.role("targets"))
        guard let checks = StreamedSignatureChecks.start(bytes: bytes, role: role, keys: set.root.signed.keyMap) else { return nil }
        defer { checks.cancel() }
        _ = try? Metadata<Targets>(bytes: bytes, file: "targets.json", lazy: true, observer: checks)
        checks.cancel()
        return checks.verdicts
    }

    /// `{"signatures": [...], "signed": SIGNED}` with a signature of the canonical form of `signed`.
    private func signedFile(_ signed: String, signaturesLast: Bool = false) throws -> [UInt8] {
        let canonical = try CanonicalJSON.canonicalize(Array(signed.utf8))
        let sig = Hex.encode(try key.sign(canonical))
        let signatures = #"[{"keyid": "\#(keyID)", "sig": "\#(sig)"}]"#
        return Array((signaturesLast
            ? #"{"signed": \#(signed), "signatures": \#(signatures)}"#
            : #"{"signatures": \#(signatures), "signed": \#(signed)}"#).utf8)
    }

    /// The canonical `signed` text of the published targets, optionally with its targets in descending
    /// order (everything else in place).
    private func signedText(reversed: Bool) throws -> String {
        let text = String(decoding: try CanonicalJSON.canonicalize(targetsBytes, path: ["signed"]), as: UTF8.self)
        guard reversed else { return text }
        let m = try Metadata<Targets>(bytes: targetsBytes, file: "targets.json", lazy: false)
        var members: [String] = []
        for p in m.signed.targetPaths.sorted(by: >) {
            let t = try XCTUnwrap(try m.signed.target(p))
            members.append("\"\(p)\":" + String(decoding: try CanonicalJSON.encode(t.json), as: UTF8.self))
        }
        let start = try XCTUnwrap(text.range(of: "\"targets\":{"))
        let end = try XCTUnwrap(text.range(of: "},\"version\":", range: start.upperBound..<text.endIndex))
        return String(text[..<start.upperBound]) + members.joined(separator: ",") + String(text[end.lowerBound...])
    }

    func testPublishedLargeTargetsAreCheckedWhileWritten() throws {
        let bytes = targetsBytes
        XCTAssertGreaterThan(bytes.count, 1 << 20, "the file must take the concurrent path")
        let verdicts = try XCTUnwrap(try streamedVerdicts(bytes), "the signature at the start of the file is followed")
        XCTAssertEqual(verdicts[ByteKey(keyID)]?.valid, true)
        var set = try trustedSet()
        let m = try set.updateTargets(bytes, ref: .topLevelTargets, delegatorRef: nil)
        XCTAssertEqual(try m.signed.target("pkg/file-7999.tar.gz")?.length, Int64("content 7999".utf8.count))
    }

    func testChangedContentIsRefusedByTheStreamedCheck() throws {
        // One target's length changed after signing: the streamed hash sees the changed canonical form.
        var text = String(decoding: targetsBytes, as: UTF8.self)
        let at = try XCTUnwrap(text.range(of: "\"length\":11}"))
        text.replaceSubrange(at, with: "\"length\":12}")
        let changed = Array(text.utf8)
        XCTAssertTrue(changed != targetsBytes)
        XCTAssertEqual(try streamedVerdicts(changed)?[ByteKey(keyID)]?.valid, false)
        var set = try trustedSet()
        XCTAssertThrowsError(try set.updateTargets(changed, ref: .topLevelTargets, delegatorRef: nil)) { error in
            guard case TUFError.thresholdNotMet = error else { return XCTFail("\(error)") }
        }
    }

    func testMembersOutOfOrderFallBackToTheFullCheck() throws {
        // Signed over the canonical (sorted) form, served with the targets in descending order: the
        // canonical writer rewrites the object when it closes. Once the hashing thread has read past the
        // object's start, which it does well before the object closes, no verdict may count; if it has
        // not yet, it hashes the rewritten bytes. Either way no verdict may disagree with the full
        // check, which accepts the file.
        let bytes = try signedFile(try signedText(reversed: true))
        XCTAssertGreaterThan(bytes.count, 1 << 20)
        let verdicts = try XCTUnwrap(try streamedVerdicts(bytes))
        XCTAssertNotEqual(verdicts[ByteKey(keyID)]?.valid, false, "a verdict over bytes that were rewritten afterwards")
        var set = try trustedSet()
        XCTAssertNoThrow(try set.updateTargets(bytes, ref: .topLevelTargets, delegatorRef: nil))
        // And the same file with one signature byte changed is refused.
        var text = String(decoding: bytes, as: UTF8.self)
        let at = try XCTUnwrap(text.range(of: "\"sig\": \"")).upperBound
        text.replaceSubrange(at..<text.index(after: at), with: text[at] == "0" ? "1" : "0")
        var again = try trustedSet()
        XCTAssertThrowsError(try again.updateTargets(Array(text.utf8), ref: .topLevelTargets, delegatorRef: nil))
    }

    func testSignaturesAfterSignedAreCheckedAsUsual() throws {
        let bytes = try signedFile(try signedText(reversed: false), signaturesLast: true)
        XCTAssertNil(try streamedVerdicts(bytes), "nothing to follow when the signatures come last")
        var set = try trustedSet()
        XCTAssertNoThrow(try set.updateTargets(bytes, ref: .topLevelTargets, delegatorRef: nil))
    }

    func testAVerdictCountsOnlyForTheSameSignatureKeyAndLength() throws {
        let set = try trustedSet()
        let role = try XCTUnwrap(set.root.signed.role("targets"))
        let keys = set.root.signed.keyMap
        let message = [UInt8](repeating: 0x61, count: 1 << 18)
        let identity = try XCTUnwrap(keys[ByteKey(keyID)]).identity
        let bad = Signature(keyID: keyID, sig: String(repeating: "00", count: 64))
        func signers(_ verdict: StreamedSignatureChecks.Verdict) -> [String] {
            validSigners(message: message, signatures: [bad], role: role, keys: keys, streamed: [ByteKey(keyID): verdict])
        }
        // A verdict made for exactly this signature, key and length is taken as it is ...
        XCTAssertEqual(signers(.init(sig: bad.sig, identity: identity, messageLength: message.count, valid: true)), [keyID])
        // ... and for anything else the signature is checked, and fails.
        XCTAssertEqual(signers(.init(sig: "11" + bad.sig.dropFirst(2), identity: identity, messageLength: message.count, valid: true)), [])
        XCTAssertEqual(signers(.init(sig: bad.sig, identity: [1, 2, 3], messageLength: message.count, valid: true)), [])
        XCTAssertEqual(signers(.init(sig: bad.sig, identity: identity, messageLength: message.count - 1, valid: true)), [])
        let short = [UInt8](message.prefix(1000))
        XCTAssertEqual(validSigners(message: short, signatures: [bad], role: role, keys: keys,
                                    streamed: [ByteKey(keyID): .init(sig: bad.sig, identity: identity, messageLength: short.count, valid: true)]),
                       [], "below the long-message size the one-call verify decides")
    }

    func testLeadingSignaturesAreReadOnlyFromTheStartOfTheFile() {
        XCTAssertEqual(StreamedSignatureChecks.leadingSignatures(Array(#" { "signatures" : [ {"keyid": "a", "sig": "b]"}, {"keyid": "c", "sig": "d"} ], "signed": {}}"#.utf8)).map { "\($0.0)=\($0.1)" }, ["a=b]", "c=d"])
        XCTAssertEqual(StreamedSignatureChecks.leadingSignatures(Array(#"{"signed": {}, "signatures": [{"keyid": "a", "sig": "b"}]}"#.utf8)).count, 0)
        XCTAssertEqual(StreamedSignatureChecks.leadingSignatures(Array(#"{"signatures": [{"keyid": "a", "sig": "b"}"#.utf8)).count, 0)
        XCTAssertEqual(StreamedSignatureChecks.leadingSignatures(Array(#"{"signatures": "#.utf8)).count, 0)
        XCTAssertEqual(StreamedSignatureChecks.leadingSignatures([]).count, 0)
    }
}
