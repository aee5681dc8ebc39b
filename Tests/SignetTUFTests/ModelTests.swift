import SignetCrypto
import SignetJSON
import XCTest
@testable import SignetTUF

final class ModelTests: XCTestCase {
    func testDates() {
        XCTAssertEqual(TUFDate.parse("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(TUFDate.parse("2026-01-01T00:00:00Z"), 1_767_225_600)
        XCTAssertEqual(TUFDate.parse("2024-02-29T23:59:59Z"), 1_709_251_199)
        XCTAssertNil(TUFDate.parse("2023-02-29T00:00:00Z"))
        XCTAssertNil(TUFDate.parse("2026-01-01T00:00:00"))
        XCTAssertNil(TUFDate.parse("2026-01-01 00:00:00Z"))
        XCTAssertNil(TUFDate.parse("2026-01-01T00:00:00.5Z"))
        XCTAssertNil(TUFDate.parse("2026-13-01T00:00:00Z"))
        XCTAssertNil(TUFDate.parse("2026-01-01T24:00:00Z"))
        for s: Int64 in [0, 1_767_225_600, 4_102_444_800, 951_782_400] {
            XCTAssertEqual(TUFDate.parse(TUFDate.format(s)), s)
        }
        XCTAssertEqual(TUFDate.format(1_709_251_199), "2024-02-29T23:59:59Z")
    }

    func testPathPatterns() {
        let cases: [(String, String, Bool)] = [
            ("targets/*.tgz", "targets/foo.tgz", true),
            ("targets/*.tgz", "targets/foo.txt", false),
            ("foo-version-?.tgz", "foo-version-2.tgz", true),
            ("foo-version-?.tgz", "foo-version-alpha.tgz", false),
            ("*.tgz", "targets/foo.tgz", false),          // a wildcard never matches "/"
            ("*", "a/b", false),
            ("*/*", "a/b", true),
            ("foo.tgz", "foo.tgz", true),
            ("foo.tgz", "foo.tgzx", false),
            ("a/[bc]/d", "a/c/d", true),
            ("a/[!bc]/d", "a/c/d", false),
            ("a/[!bc]/d", "a/x/d", true),
            ("v[0-9].*", "v7.txt", true),
            ("v[0-9].*", "va.txt", false),
            ("weird[", "weird[", true),
            ("*a*b", "xxaxxbxb", true),
            ("", "", true),
        ]
        for (p, t, expected) in cases {
            XCTAssertEqual(PathPattern.matches(pattern: p, path: t), expected, "\(p) vs \(t)")
        }
    }

    func testSuccinctBinNames() {
        let bins = SuccinctRoles(keyIDs: [], threshold: 1, bitLength: 8, namePrefix: "bins")
        XCTAssertEqual(bins.binCount, 256)
        XCTAssertEqual(bins.binName(0), "bins-00")
        XCTAssertEqual(bins.binName(255), "bins-ff")
        // Bin = first 8 bits of SHA-256(path): sha256("a") starts ca978112…
        XCTAssertEqual(bins.roleName(for: "a"), "bins-ca")
        let one = SuccinctRoles(keyIDs: [], threshold: 1, bitLength: 1, namePrefix: "p")
        XCTAssertEqual(one.roleName(for: "a"), "p-1")
    }

    func testKeyIDIsHashOfCanonicalKey() throws {
        // A securesystemslib-style ed25519 key and its key ID (sha256 of the canonical key object).
        let key = Key(keyType: "ed25519", scheme: "ed25519",
                      keyval: try JSONObject([("public", .string("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))]))
        let canonical = #"{"keytype":"ed25519","keyval":{"public":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},"scheme":"ed25519"}"#
        XCTAssertEqual(try key.keyID(), try SHA256.hash(Array(canonical.utf8)).hex)
        XCTAssertTrue(key.isSupported)
    }

    func testMetadataParsingRejectsBadStructure() throws {
        func parse(_ s: String) -> TUFError? {
            do { _ = try Metadata<Timestamp>(bytes: Array(s.utf8), file: "t.json"); return nil } catch { return error }
        }
        let good = #"{"signed":{"_type":"timestamp","spec_version":"1.0.34","version":1,"expires":"2030-01-01T00:00:00Z","meta":{"snapshot.json":{"version":1}}},"signatures":[]}"#
        XCTAssertNil(parse(good))
        guard case .wrongType(_, "timestamp", "snapshot") = parse(good.replacingOccurrences(of: "\"_type\":\"timestamp\"", with: "\"_type\":\"snapshot\"")) else { return XCTFail() }
        guard case .unsupportedSpecVersion = parse(good.replacingOccurrences(of: "1.0.34", with: "2.0.0")) else { return XCTFail() }
        guard case .invalidMetadata = parse(good.replacingOccurrences(of: "\"version\":1,", with: "\"version\":0,")) else { return XCTFail() }
        guard case .invalidMetadata = parse(good.replacingOccurrences(of: "2030-01-01T00:00:00Z", with: "2030-01-01")) else { return XCTFail() }
        guard case .json = parse(good.replacingOccurrences(of: "\"version\":1,", with: "\"version\":1.0,")) else { return XCTFail("float accepted") }
        guard case .json = parse(good.replacingOccurrences(of: "{\"signed\"", with: "{\"signed\":1,\"signed\"")) else { return XCTFail("duplicate key accepted") }
        guard case .invalidMetadata = parse(good.replacingOccurrences(of: "{\"snapshot.json\":{\"version\":1}}", with: "{}")) else { return XCTFail() }
        guard case .invalidMetadata = parse(good.replacingOccurrences(of: "\"signatures\":[]", with: "\"signatures\":{}")) else { return XCTFail() }
    }

    func testUnknownFieldsSurviveReadThenWrite() throws {
        let text = #"{"signatures":[{"keyid":"k","sig":"00","x-sig-extra":1}],"signed":{"_type":"targets","delegations":{"keys":{},"roles":[{"keyids":[],"name":"r","paths":["*"],"terminating":false,"threshold":1,"x-role":true}],"x-del":[]},"expires":"2030-01-01T00:00:00Z","spec_version":"1.0.34","targets":{"f":{"custom":{"a":1},"hashes":{"sha256":"00"},"length":1,"x-target":"y"}},"version":3,"x-top":{"nested":[1,2]}},"x-envelope":"z"}"#
        let m = try Metadata<Targets>(bytes: Array(text.utf8), file: "targets.json")
        XCTAssertEqual(String(decoding: try m.encoded(), as: UTF8.self), text)
        XCTAssertEqual(try m.canonicalSigned(), try CanonicalJSON.encode(m.signed.json))
    }

    /// Past 1 MiB the lazy parse and the canonical encoding run concurrently: same canonical bytes,
    /// same targets and same errors as the one-tree path.
    func testLargeTargetsParseTheSameConcurrently() throws {
        var entries: [String] = []
        for i in 0..<8_000 {
            entries.append(#""pkg/file-\#(i).tar.gz":{"hashes":{"sha256":"\#(String(repeating: "ab", count: 32))"},"length":\#(i),"custom":{"z":1,"a":[2,1]}}"#)
        }
        let text = #"{"signatures":[{"keyid":"k","sig":"00"}],"signed":{"_type":"targets","expires":"2030-01-01T00:00:00Z","spec_version":"1.0.34","version":3,"targets":{"# + entries.joined(separator: ",") + "}}}"
        let bytes = Array(text.utf8)
        XCTAssertGreaterThan(bytes.count, 1 << 20)
        let concurrent = try Metadata<Targets>(bytes: bytes, file: "targets.json", lazy: true)
        let tree = try Metadata<Targets>(bytes: bytes, file: "targets.json", lazy: false)
        XCTAssertEqual(try concurrent.canonicalSigned(), try tree.canonicalSigned())
        XCTAssertEqual(try concurrent.signed.target("pkg/file-7999.tar.gz")?.length, 7999)
        XCTAssertEqual(concurrent.signed.targetPaths.count, 8_000)
        // A damaged large file fails in the concurrent path as it does in the tree path.
        var broken = bytes
        broken[broken.count / 2] = UInt8(ascii: "}")
        var errors: [String] = []
        for lazy in [true, false] {
            do { _ = try Metadata<Targets>(bytes: broken, file: "targets.json", lazy: lazy); XCTFail("damaged file accepted") } catch { errors.append("\(error)") }
        }
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors.allSatisfy { $0.contains("targets.json") }, "\(errors)")
    }

    func testDelegationsValidation() throws {
        func parse(_ d: String) -> TUFError? {
            let s = #"{"signed":{"_type":"targets","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","targets":{},"delegations":"# + d + "}," + #""signatures":[]}"#
            do { _ = try Metadata<Targets>(bytes: Array(s.utf8), file: "targets.json"); return nil } catch { return error }
        }
        XCTAssertNil(parse(#"{"keys":{},"roles":[{"name":"a","keyids":[],"threshold":1,"paths":["x"]}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[{"name":"a","keyids":[],"threshold":1,"paths":["x"],"path_hash_prefixes":["ab"]}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[{"name":"a","keyids":[],"threshold":1},{"name":"a","keyids":[],"threshold":1}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[{"name":"root","keyids":[],"threshold":1}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[{"name":"a","keyids":["k","k"],"threshold":1}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[{"name":"a","keyids":[],"threshold":0}]}"#))
        XCTAssertNotNil(parse(#"{"keys":{}}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"roles":[],"succinct_roles":{"keyids":[],"threshold":1,"bit_length":4,"name_prefix":"b"}}"#))
        XCTAssertNotNil(parse(#"{"keys":{},"succinct_roles":{"keyids":[],"threshold":1,"bit_length":33,"name_prefix":"b"}}"#))
        XCTAssertNil(parse(#"{"keys":{},"succinct_roles":{"keyids":[],"threshold":1,"bit_length":4,"name_prefix":"b"}}"#))
    }
}
