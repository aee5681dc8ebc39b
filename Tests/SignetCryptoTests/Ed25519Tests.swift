import CSodium
import XCTest
@testable import SignetCrypto

final class Ed25519Tests: XCTestCase {
    /// RFC 8032 §7.1, TEST 1–3: (secret key, public key, message, signature).
    static let rfc8032: [(String, String, String, String)] = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    func testRFC8032Vectors() throws {
        for (sk, pk, msg, sig) in Self.rfc8032 {
            var seedBytes = Fixtures.hex(sk)
            let key = try Ed25519PrivateKey(seed: SecretBytes(consuming: &seedBytes))
            XCTAssertEqual(key.publicKey.rawRepresentation, Fixtures.hex(pk))
            let signature = try key.signature(for: Fixtures.hex(msg))
            XCTAssertEqual(Hex.encode(signature), sig)
            XCTAssertTrue(key.publicKey.isValidSignature(signature, for: Fixtures.hex(msg)))
            var flipped = signature
            flipped[0] ^= 1
            XCTAssertFalse(key.publicKey.isValidSignature(flipped, for: Fixtures.hex(msg)))
            XCTAssertFalse(key.publicKey.isValidSignature(signature, for: Fixtures.hex(msg) + [0]))
            XCTAssertFalse(key.publicKey.isValidSignature(Array(signature.prefix(63)), for: Fixtures.hex(msg)))
        }
    }

    /// Long messages are checked with OpenSSL's SHA-512 and libsodium's group operations; that path must
    /// agree with libsodium's own verify on good signatures and on every kind of damage.
    func testLongMessagePathAgreesWithLibsodium() throws {
        // Messages below `ed25519LongMessage`: `isValidSignature` is libsodium's crypto_sign_verify_detached.
        func both(_ key: Ed25519PublicKey, _ sig: [UInt8], _ msg: [UInt8]) -> (direct: Bool, long: Bool) {
            precondition(msg.count < Sodium.ed25519LongMessage)
            return (key.isValidSignature(sig, for: msg),
                    msg.withUnsafeBytes { Sodium.ed25519VerifyLong(signature: sig, message: $0, publicKey: key.rawRepresentation) })
        }
        for (_, pk, msg, sig) in Self.rfc8032 {
            let key = try Ed25519PublicKey(rawRepresentation: Fixtures.hex(pk))
            let m = Fixtures.hex(msg)
            XCTAssertTrue(m.withUnsafeBytes { Sodium.ed25519VerifyLong(signature: Fixtures.hex(sig), message: $0, publicKey: key.rawRepresentation) })
        }
        var accepted = 0, refused = 0
        for round in 0..<300 {
            let key = try Ed25519PrivateKey()
            let msg = try Sodium.randomBytes(round % 3 == 0 ? Int.random(in: 0...64) : Int.random(in: 65...600))
            var sig = try key.signature(for: msg)
            var m = msg
            switch round % 6 {
            case 0: break
            case 1: sig[Int.random(in: 0..<64)] ^= UInt8(1 << Int.random(in: 0..<8))
            case 2: if m.isEmpty { m = [0] } else { m[Int.random(in: 0..<m.count)] ^= 0x80 }
            case 3: sig.replaceSubrange(32..<64, with: Sodium.ed25519Order)                 // S = L: not reduced
            case 4: sig.replaceSubrange(0..<32, with: [1] + [UInt8](repeating: 0, count: 31)) // R = identity (small order)
            default: sig = try Ed25519PrivateKey().signature(for: msg)                       // another key's signature
            }
            let (direct, long) = both(key.publicKey, sig, m)
            XCTAssertEqual(long, direct, "round \(round)")
            XCTAssertEqual(long, round % 6 == 0, "round \(round)")
            if long { accepted += 1 } else { refused += 1 }
        }
        XCTAssertEqual(accepted, 50)
        XCTAssertEqual(refused, 250)
        // Signatures made by hand from a scalar: random scalars, and k = SHA-512(R ‖ A ‖ M) mod L.
        func randomScalar() throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32), wide = try Sodium.randomBytes(64)
            crypto_core_ed25519_scalar_reduce(&out, &wide)
            return out
        }
        func challenge(_ r: [UInt8], _ a: [UInt8], _ m: [UInt8]) throws -> [UInt8] {
            let h = try StreamingDigest(.sha512)
            h.update(r)
            h.update(a)
            h.update(m)
            var k = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_reduce(&k, h.finalize().bytes)
            return k
        }
        // R = identity with S = k·a satisfies the equation ([S]B = [k]A); libsodium refuses it (R of small
        // order), and so must the long path.
        let a = try randomScalar()
        var pk = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(crypto_scalarmult_ed25519_base_noclamp(&pk, a), 0)
        let msg = Array("identity R".utf8)
        let k = try challenge(Sodium.ed25519Identity, pk, msg)
        var s = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_mul(&s, k, a)
        let forged = Sodium.ed25519Identity + s
        let forgedKey = try Ed25519PublicKey(rawRepresentation: pk)
        XCTAssertEqual(both(forgedKey, forged, msg).direct, false)
        XCTAssertEqual(both(forgedKey, forged, msg).long, false)
        // A key with a component of order 2 (A' = [a]B + T): libsodium accepts a signature whose k is even
        // ([k]T vanishes); the long path refuses any key outside the prime-order subgroup. It accepts a
        // strict subset, and this is the difference.
        let t: [UInt8] = [0xec] + [UInt8](repeating: 0xff, count: 30) + [0x7f]   // (0, -1), of order 2
        var mixed = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(crypto_core_ed25519_add(&mixed, pk, t), 0)
        var found = false
        for attempt in 0..<64 where !found {
            let r = try randomScalar()
            var bigR = [UInt8](repeating: 0, count: 32)
            XCTAssertEqual(crypto_scalarmult_ed25519_base_noclamp(&bigR, r), 0)
            let m = Array("mixed order \(attempt)".utf8)
            let k2 = try challenge(bigR, mixed, m)
            var ka = [UInt8](repeating: 0, count: 32), s2 = [UInt8](repeating: 0, count: 32)
            guard k2[0] & 1 == 0 else { continue }
            crypto_core_ed25519_scalar_mul(&ka, k2, a)
            crypto_core_ed25519_scalar_add(&s2, r, ka)
            let key = try Ed25519PublicKey(rawRepresentation: mixed)
            let result = both(key, bigR + s2, m)
            XCTAssertEqual(result.direct, true, "libsodium accepts a mixed-order key when k is even")
            XCTAssertEqual(result.long, false)
            found = true
        }
        XCTAssertTrue(found)
        // Through the public API: a 1 MiB message takes the long path, and one changed byte is refused.
        let key = try Ed25519PrivateKey()
        var big = try Sodium.randomBytes(1 << 20)
        let sig = try key.signature(for: big)
        XCTAssertTrue(key.publicKey.isValidSignature(sig, for: big))
        big[1 << 19] ^= 1
        XCTAssertFalse(key.publicKey.isValidSignature(sig, for: big))
    }

    /// `Ed25519StreamingCheck` over long messages fed in pieces gives `isValidSignature`'s answer, on good
    /// signatures and on every kind of damage; a signature refused up front gives no check at all.
    func testStreamingCheckAgreesWithOneCallVerify() throws {
        let key = try Ed25519PrivateKey()
        let message = try Sodium.randomBytes(300_000)
        let good = try key.signature(for: message)
        func streamed(_ sig: [UInt8], _ msg: [UInt8], pieces: Int) -> Bool? {
            guard let check = Ed25519StreamingCheck(signature: sig, publicKey: key.publicKey) else { return nil }
            msg.withUnsafeBytes { m in
                var at = 0
                for i in 0..<pieces {
                    let end = i == pieces - 1 ? m.count : min(m.count, at + Int.random(in: 0...(m.count / pieces * 2)))
                    check.update(UnsafeRawBufferPointer(rebasing: m[at..<end]))
                    at = end
                }
            }
            XCTAssertEqual(check.messageLength, Int64(msg.count))
            let first = check.finish()
            XCTAssertEqual(check.finish(), first, "a second finish gives the same answer")
            return first
        }
        for pieces in [1, 2, 7, 64] {
            XCTAssertEqual(streamed(good, message, pieces: pieces), true)
            var changed = message
            changed[Int.random(in: 0..<changed.count)] ^= 1
            XCTAssertEqual(streamed(good, changed, pieces: pieces), false)
            XCTAssertFalse(key.publicKey.isValidSignature(good, for: changed))
            XCTAssertEqual(streamed(good, Array(message.dropLast()), pieces: pieces), false)
            var flipped = good
            flipped[Int.random(in: 0..<32)] ^= 4
            XCTAssertEqual(streamed(flipped, message, pieces: pieces), false)
            let other = try Ed25519PrivateKey().signature(for: message)
            XCTAssertEqual(streamed(other, message, pieces: pieces), false)
        }
        // S = L and short signatures are refused before any message byte: no check is made.
        XCTAssertNil(streamed(Array(good[0..<32]) + Sodium.ed25519Order, message, pieces: 1))
        XCTAssertNil(streamed(Array(good.prefix(63)), message, pieces: 1))
        XCTAssertFalse(key.publicKey.isValidSignature(Array(good[0..<32]) + Sodium.ed25519Order, for: message))
    }

    func testGenerateSignVerifyAndSeedRoundTrip() throws {
        let key = try Ed25519PrivateKey()
        let other = try Ed25519PrivateKey(seed: key.seed)
        XCTAssertEqual(other.publicKey, key.publicKey)
        let sig = try key.signature(for: Array("hello".utf8))
        XCTAssertTrue(other.publicKey.isValidSignature(sig, for: Array("hello".utf8)))
        XCTAssertFalse(try Ed25519PrivateKey().publicKey.isValidSignature(sig, for: Array("hello".utf8)))
    }

    func testBadLengthsAreErrors() {
        XCTAssertThrowsError(try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 31))) { error in
            XCTAssertEqual(error as? CryptoError, .invalidKey("an Ed25519 public key is 32 bytes, got 31"))
        }
        var short = [UInt8](repeating: 1, count: 16)
        XCTAssertThrowsError(try Ed25519PrivateKey(seed: SecretBytes(consuming: &short)))
    }

    func testSPKIAndPKCS8RoundTripThroughOpenSSL() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("k.pem").path
        try Fixtures.openssl(["genpkey", "-algorithm", "ed25519", "-out", keyPath])
        let pubPEM = String(decoding: try Fixtures.openssl(["pkey", "-in", keyPath, "-pubout"]), as: UTF8.self)
        let privPEM = try String(contentsOfFile: keyPath, encoding: .utf8)
        let priv = try PrivateKey(pem: privPEM, passphrase: nil)
        let pub = try PublicKey(pem: pubPEM)
        XCTAssertEqual(try priv.publicKey.spkiDER(), try pub.spkiDER())
        XCTAssertEqual(try pub.pem(), pubPEM)
        // Our PKCS#8 encoding is read back by OpenSSL to the same public key.
        let der = try priv.pkcs8DER()
        let derPath = dir.appendingPathComponent("k.der")
        try Data(der.withUnsafeBytes { Array($0) }).write(to: derPath)
        let pub2 = String(decoding: try Fixtures.openssl(["pkey", "-inform", "DER", "-in", derPath.path, "-pubout"]), as: UTF8.self)
        XCTAssertEqual(pub2, pubPEM)
    }
}
