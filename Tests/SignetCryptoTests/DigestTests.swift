import XCTest
@testable import SignetCrypto

final class DigestTests: XCTestCase {
    func testKnownAnswers() throws {
        // FIPS 180-2 examples.
        XCTAssertEqual(try SHA256.hash(Array("abc".utf8)).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try SHA256.hash([]).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try SHA512.hash(Array("abc".utf8)).hex,
                       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        XCTAssertEqual(try Digest.compute(.sha384, over: Array("abc".utf8)).hex,
                       "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
        XCTAssertEqual(try SHA256.hash(Array("abc".utf8)).base64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
    }

    func testStreamingMatchesOneShot() throws {
        var rng = SplitMix(seed: 7)
        let data = (0..<1_000_003).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for algorithm in DigestAlgorithm.allCases {
            let h = try StreamingDigest(algorithm)
            var i = 0
            var step = 1
            while i < data.count {
                let end = min(data.count, i + step)
                data[i..<end].withUnsafeBytes { h.update($0) }
                i = end
                step = step * 3 + 1
            }
            XCTAssertEqual(h.byteCount, Int64(data.count))
            XCTAssertEqual(h.finalize(), try Digest.compute(algorithm, over: data))
        }
    }

    func testParsingAndComparison() throws {
        let d = try Digest(oci: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(d, try SHA256.hash(Array("abc".utf8)))
        XCTAssertEqual(d.ociString, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertNotEqual(d, try SHA256.hash(Array("abd".utf8)))
        XCTAssertThrowsError(try Digest(oci: "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        XCTAssertThrowsError(try Digest(oci: "md5:00"))
        XCTAssertThrowsError(try Digest(oci: "sha256:abcd")) { error in
            XCTAssertEqual(error as? CryptoError, .invalidDigest("sha256 digests are 32 bytes, got 2"))
        }
        XCTAssertThrowsError(try Digest(oci: "no-colon"))
    }

    func testBase64AndHex() {
        for n in 0..<10 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xff) }
            let b64 = Base64.encode(bytes)
            XCTAssertEqual(b64, Data(bytes).base64EncodedString())
            XCTAssertEqual(Base64.decode(b64), bytes)
            XCTAssertEqual(Hex.decode(Hex.encode(bytes)), bytes)
        }
        XCTAssertNil(Base64.decode("abc"))       // length not a multiple of 4
        XCTAssertNil(Base64.decode("ab=c"))      // padding in the middle
        XCTAssertNil(Base64.decode("ab c"))      // space
        XCTAssertNil(Base64.decode("YR=="))      // non-zero trailing bits
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }

    func testSecretBytesIsRedactedAndComparesByValue() {
        var raw: [UInt8] = [1, 2, 3, 4]
        let s = SecretBytes(consuming: &raw)
        XCTAssertTrue(raw.isEmpty)
        XCTAssertEqual(s.description, "SecretBytes(4 bytes, redacted)")
        XCTAssertFalse(String(reflecting: s).contains("1, 2"))
        XCTAssertFalse("\(s)".contains("0102"))
        XCTAssertEqual(s, SecretBytes(utf8: "\u{1}\u{2}\u{3}\u{4}"))
        XCTAssertNotEqual(s, SecretBytes(utf8: "\u{1}\u{2}\u{3}\u{5}"))
        XCTAssertNotEqual(s, SecretBytes(utf8: "\u{1}\u{2}\u{3}"))
    }
}

/// Deterministic PRNG for tests (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Short inputs are hashed by libsodium, longer ones by OpenSSL: both must give the same digests.
final class ShortDigestTests: XCTestCase {
    /// libsodium hashes up to its budget, and nothing once OpenSSL's digests are set up.
    func testLibsodiumHashesWithinItsBudgetThenOpenSSLTakesOver() throws {
        let chunk = [UInt8](repeating: 7, count: 60 * 1024)
        func viaSodium() -> Bool { chunk.withUnsafeBytes { Sodium.shortDigest(.sha256, $0) } != nil }
        Sodium.resetShortDigestBudget()
        let taken = (0..<6).filter { _ in viaSodium() }.count
        XCTAssertEqual(taken, Sodium.shortDigestBudget / chunk.count, "libsodium stops at its budget")
        // The answer is the same either way.
        XCTAssertEqual(try SHA256.hash(chunk).bytes, try chunk.withUnsafeBytes { (b) throws(CryptoError) in try DigestContext.openSSLOneShot(.sha256, b) })
        Sodium.resetShortDigestBudget()
        XCTAssertTrue(viaSodium())
        _ = try StreamingDigest(.sha512)   // sets OpenSSL's digests up
        XCTAssertFalse(viaSodium(), "once OpenSSL is set up it hashes everything")
        Sodium.resetShortDigestBudget()
    }

    func testKnownAnswersOnBothSidesOfTheLimit() throws {
        // FIPS 180-2 examples ("abc" and the empty string).
        XCTAssertEqual(try SHA256.hash(Array("abc".utf8)).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try SHA256.hash([]).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try SHA512.hash(Array("abc".utf8)).hex,
                       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        Sodium.resetShortDigestBudget()
        XCTAssertNotNil(Sodium.shortDigest(.sha256, UnsafeRawBufferPointer(start: nil, count: 0)), "short inputs must take the libsodium path")
        XCTAssertNil(Sodium.shortDigest(.sha384, UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    func testEverySizeAroundTheLimitMatchesOpenSSL() throws {
        var rng = SplitMix(seed: 0x5eed)
        let limit = Sodium.shortDigestLimit
        let sizes = [0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 1000, limit - 1, limit, limit + 1] + (0..<40).map { _ in Int.random(in: 0..<(2 * limit), using: &rng) }
        for size in sizes {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for algorithm in [DigestAlgorithm.sha256, .sha384, .sha512] {
                // With the budget restored, inputs under the limit take libsodium's path.
                Sodium.resetShortDigestBudget()
                let viaSodium = bytes.withUnsafeBytes { Sodium.shortDigest(algorithm, $0) }
                XCTAssertEqual(viaSodium == nil, algorithm == .sha384 || size >= limit, "\(algorithm) of \(size) bytes")
                Sodium.resetShortDigestBudget()
                let viaAPI = try Digest.compute(algorithm, over: bytes)
                let viaOpenSSL = try bytes.withUnsafeBytes { (b) throws(CryptoError) in try DigestContext.openSSLOneShot(algorithm, b) }
                XCTAssertEqual(viaAPI.bytes, viaOpenSSL, "\(algorithm) of \(size) bytes")
                if let viaSodium { XCTAssertEqual(viaSodium, viaOpenSSL, "\(algorithm) of \(size) bytes") }
                let streamed = try StreamingDigest(algorithm)
                streamed.update(bytes)
                XCTAssertEqual(streamed.finalize().bytes, viaOpenSSL, "streamed \(algorithm) of \(size) bytes")
            }
        }
    }
}
