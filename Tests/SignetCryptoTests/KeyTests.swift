import XCTest
@testable import SignetCrypto

final class KeyTests: XCTestCase {
    func testECDSASignVerifyBothCurvesAndEncodings() throws {
        for curve in ECDSACurve.allCases {
            let key = try ECDSAPrivateKey(curve: curve)
            let msg = Array("signed bytes".utf8)
            let der = try key.signature(for: msg)
            XCTAssertTrue(key.publicKey.isValidSignature(der, for: msg))
            XCTAssertFalse(key.publicKey.isValidSignature(der, for: msg + [0]))
            let raw = try der.raw(for: curve)
            XCTAssertEqual(raw.rawRepresentation.count, 2 * curve.componentLength)
            XCTAssertTrue(key.publicKey.isValidSignature(raw, for: msg))
            XCTAssertEqual(try raw.der(), der)
            // A raw signature of the other curve's width is refused at parse time.
            let otherWidth = curve == .p256 ? 96 : 64
            XCTAssertThrowsError(try ECDSASignatureRaw(rawRepresentation: [UInt8](repeating: 1, count: otherWidth), curve: curve))
            // Round trip through SPKI and PKCS#8.
            let pub = try PublicKey(spkiDER: try key.publicKey.spkiDER())
            XCTAssertEqual(pub.algorithm, curve == .p256 ? .ecdsaP256 : .ecdsaP384)
            let restored = try PrivateKey(pkcs8DER: try key.pkcs8DER())
            XCTAssertEqual(try restored.publicKey.spkiDER(), try key.publicKey.spkiDER())
        }
    }

    /// Uncompressed P-256/P-384 keys are read from their point without OpenSSL's generic decoder: the
    /// result must be the key the decoder gives, and points off the curve must still be refused.
    func testECPublicKeysReadFromTheirPointAgreeWithTheDecoder() throws {
        for curve in ECDSACurve.allCases {
            let key = try ECDSAPrivateKey(curve: curve)
            let der = try key.publicKey.spkiDER()
            let point = try key.publicKey.uncompressedPoint()
            XCTAssertEqual(Array(der.suffix(point.count)), point)
            let read = try ECDSAPublicKey(spkiDER: der)
            XCTAssertEqual(read.curve, curve)
            XCTAssertEqual(try read.spkiDER(), der)
            XCTAssertEqual(try read.uncompressedPoint(), point)
            let sig = try key.signature(for: [7])
            XCTAssertTrue(read.isValidSignature(sig, for: [7]))
            // The last coordinate byte changed: the point is no longer on the curve.
            var offCurve = der
            offCurve[offCurve.count - 1] ^= 0x01
            XCTAssertThrowsError(try ECDSAPublicKey(spkiDER: offCurve))
            // All-zero coordinates, and a point with the wrong leading byte, are refused.
            XCTAssertThrowsError(try ECDSAPublicKey(spkiDER: Array(der.prefix(der.count - point.count)) + [0x04] + [UInt8](repeating: 0, count: point.count - 1)))
            var unknownForm = der
            unknownForm[der.count - point.count] = 0x05
            XCTAssertThrowsError(try PublicKey(spkiDER: unknownForm))
            // A trailing byte makes it something else than a key.
            XCTAssertThrowsError(try PublicKey(spkiDER: der + [0]))
        }
    }

    func testDERParserRejectsBERAndGarbage() throws {
        let key = try ECDSAPrivateKey(curve: .p256)
        let der = try key.signature(for: [1, 2, 3]).derRepresentation
        XCTAssertThrowsError(try ECDSASignatureDER(derRepresentation: der + [0]))
        XCTAssertThrowsError(try ECDSASignatureDER(derRepresentation: []))
        // Long-form length for a short sequence is BER, not DER.
        var ber: [UInt8] = [0x30, 0x81, der[1]]
        ber += der[2...]
        XCTAssertThrowsError(try ECDSASignatureDER(derRepresentation: ber)) { error in
            XCTAssertEqual(error as? CryptoError, .invalidSignatureEncoding("ECDSA signature is BER, not DER"))
        }
    }

    func testGenerateEveryAlgorithm() throws {
        for algorithm in [KeyAlgorithm.ed25519, .ecdsaP256, .ecdsaP384] {
            let key = try PrivateKey.generate(algorithm)
            XCTAssertEqual(key.algorithm, algorithm)
            let sig = try key.sign([9, 9])
            switch key.publicKey {
            case .ed25519(let p): XCTAssertTrue(p.isValidSignature(sig, for: [9, 9]))
            case .ecdsa(let p): XCTAssertTrue(p.isValidSignature(try ECDSASignatureDER(derRepresentation: sig), for: [9, 9]))
            case .rsa: XCTFail("unexpected RSA")
            }
        }
        XCTAssertThrowsError(try PrivateKey.generate(.rsa))
    }

    func testRSAKeySizeLimits() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = dir.appendingPathComponent("small.pem").path
        try Fixtures.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", small])
        let pem = String(decoding: try Fixtures.openssl(["pkey", "-in", small, "-pubout"]), as: UTF8.self)
        XCTAssertThrowsError(try RSAPublicKey(pem: pem)) { error in
            XCTAssertEqual(error as? CryptoError, .unsupportedKey("RSA key of 1024 bits (expected 2048 to 4096)"))
        }
    }

    func testRSAPSSSignatureFromOpenSSLVerifies() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("rsa.pem").path
        let msgPath = dir.appendingPathComponent("msg").path
        try Fixtures.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath])
        try Data("payload".utf8).write(to: URL(fileURLWithPath: msgPath))
        let sig = try Fixtures.openssl(["dgst", "-sha256", "-sign", keyPath, "-sigopt", "rsa_padding_mode:pss",
                                        "-sigopt", "rsa_pss_saltlen:32", msgPath])
        let pem = String(decoding: try Fixtures.openssl(["pkey", "-in", keyPath, "-pubout"]), as: UTF8.self)
        guard case .rsa(let key) = try PublicKey(pem: pem) else { return XCTFail("expected RSA") }
        XCTAssertEqual(key.bitCount, 2048)
        XCTAssertTrue(key.isValidPSSSignature(Array(sig), for: Array("payload".utf8)))
        XCTAssertTrue(key.isValidPSSSignature(Array(sig), for: Array("payload".utf8), saltLength: .auto))
        XCTAssertFalse(key.isValidPSSSignature(Array(sig), for: Array("payloaD".utf8)))
        // Salt length 20 is refused by the strict policy, accepted by "auto".
        let sig20 = try Fixtures.openssl(["dgst", "-sha256", "-sign", keyPath, "-sigopt", "rsa_padding_mode:pss",
                                          "-sigopt", "rsa_pss_saltlen:20", msgPath])
        XCTAssertFalse(key.isValidPSSSignature(Array(sig20), for: Array("payload".utf8)))
        XCTAssertTrue(key.isValidPSSSignature(Array(sig20), for: Array("payload".utf8), saltLength: .auto))
    }

    func testEncryptedPKCS8WithNotaryStyleHeaders() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("ec.pem").path
        try Fixtures.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath])
        // PBES2 with PBKDF2-HMAC-SHA1 (2048 iterations) and AES-256-CBC: the Notary client's parameters.
        let encrypted = String(decoding: try Fixtures.openssl(["pkcs8", "-topk8", "-in", keyPath, "-v2", "aes-256-cbc",
                                                               "-v2prf", "hmacWithSHA1", "-iter", "2048", "-passout", "pass:s3cret"]), as: UTF8.self)
        XCTAssertTrue(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        let withHeaders = encrypted.replacingOccurrences(of: "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
                                                         with: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: targets/releases\ngun: example.com/app\n\n")
        let pubPEM = String(decoding: try Fixtures.openssl(["pkey", "-in", keyPath, "-pubout"]), as: UTF8.self)
        for text in [encrypted, withHeaders] {
            let key = try PrivateKey(pem: text, passphrase: SecretBytes(utf8: "s3cret"))
            XCTAssertEqual(try key.publicKey.pem(), pubPEM)
            XCTAssertThrowsError(try PrivateKey(pem: text, passphrase: SecretBytes(utf8: "wrong"))) { error in
                guard case .wrongPassphraseOrTampered = error as? CryptoError else { return XCTFail("got \(error)") }
            }
            XCTAssertThrowsError(try PrivateKey(pem: text, passphrase: nil))
        }
        let doc = try PEMDocument.parse(withHeaders)
        XCTAssertEqual(doc.headers.map { $0.0 }, ["role", "gun"])
        XCTAssertEqual(doc.headers.first?.1, "targets/releases")
    }

    func testEncryptedPKCS8AskingForAnExcessiveKeyDerivationIsRefusedBeforeDeriving() throws {
        func der(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            let n = content.count
            let length: [UInt8] = n < 128 ? [UInt8(n)] : n < 256 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
            return [tag] + length + content
        }
        func integer(_ value: UInt32) -> [UInt8] {
            var bytes = withUnsafeBytes(of: value.bigEndian, Array.init)
            while bytes.count > 1, bytes[0] == 0, bytes[1] < 0x80 { bytes.removeFirst() }
            if let first = bytes.first, first >= 0x80 { bytes.insert(0, at: 0) }
            return der(0x02, bytes)
        }
        let pbes2: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D]
        let pbkdf2: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C]
        let aes256CBC: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A]
        func encryptedKey(iterations: UInt32) -> String {
            let kdfParams = der(0x30, der(0x04, [UInt8](repeating: 7, count: 8)) + integer(iterations))
            let kdf = der(0x30, pbkdf2 + kdfParams)
            let cipher = der(0x30, aes256CBC + der(0x04, [UInt8](repeating: 9, count: 16)))
            let algorithm = der(0x30, pbes2 + der(0x30, kdf + cipher))
            let body = der(0x30, algorithm + der(0x04, [UInt8](repeating: 0x5A, count: 48)))
            return "-----BEGIN ENCRYPTED PRIVATE KEY-----\n\(Base64.encode(body))\n-----END ENCRYPTED PRIVATE KEY-----\n"
        }
        // Just past the bound: without it, the derivation would run (seconds) and the key would then be
        // reported as a wrong passphrase.
        XCTAssertThrowsError(try PrivateKey(pem: encryptedKey(iterations: 10_000_001), passphrase: SecretBytes(utf8: "s3cret"))) { error in
            guard case .invalidKey(let detail) = error as? CryptoError else { return XCTFail("got \(error)") }
            XCTAssertTrue(detail.contains("10000001"), detail)
        }
        // The same structure with an ordinary count is derived, and its (garbage) content is refused.
        XCTAssertThrowsError(try PrivateKey(pem: encryptedKey(iterations: 2048), passphrase: SecretBytes(utf8: "s3cret"))) { error in
            guard case .wrongPassphraseOrTampered = error as? CryptoError else { return XCTFail("got \(error)") }
        }
        // scrypt's cost is N·r·p: p raised from 1 to 127 on a key openssl wrote (N 16384, r 8).
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("ec.pem").path
        try Fixtures.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath])
        let scryptDER = Array(try Fixtures.openssl(["pkcs8", "-topk8", "-in", keyPath, "-outform", "DER", "-scrypt",
                                                    "-scrypt_N", "16384", "-scrypt_r", "8", "-scrypt_p", "1", "-passout", "pass:s3cret"]))
        let pattern: [UInt8] = [0x02, 0x02, 0x40, 0x00, 0x02, 0x01, 0x08, 0x02, 0x01, 0x01]
        guard let at = (0...(scryptDER.count - pattern.count)).first(where: { Array(scryptDER[$0..<$0 + pattern.count]) == pattern }) else {
            return XCTFail("scrypt parameters not found in openssl's output")
        }
        func pem(_ bytes: [UInt8]) -> String {
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n\(Base64.encode(bytes))\n-----END ENCRYPTED PRIVATE KEY-----\n"
        }
        XCTAssertNoThrow(try PrivateKey(pem: pem(scryptDER), passphrase: SecretBytes(utf8: "s3cret")))
        var costly = scryptDER
        costly[at + pattern.count - 1] = 0x7F
        XCTAssertThrowsError(try PrivateKey(pem: pem(costly), passphrase: SecretBytes(utf8: "s3cret"))) { error in
            guard case .invalidKey(let detail) = error as? CryptoError else { return XCTFail("got \(error)") }
            XCTAssertTrue(detail.contains("16646144"), detail)
        }
    }

    func testPEMErrors() {
        XCTAssertThrowsError(try PublicKey(pem: "hello")) { error in
            XCTAssertEqual(error as? CryptoError, .invalidPEM("no -----BEGIN line found"))
        }
        XCTAssertThrowsError(try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n")) { error in
            XCTAssertEqual(error as? CryptoError, .invalidPEM("missing -----END PUBLIC KEY----- line"))
        }
        XCTAssertThrowsError(try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\n*&^%\n-----END PUBLIC KEY-----\n")) { error in
            XCTAssertEqual(error as? CryptoError, .invalidPEM("body of \"PUBLIC KEY\" is not valid base64"))
        }
        XCTAssertThrowsError(try PublicKey(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")) { error in
            XCTAssertEqual(error as? CryptoError, .invalidPEM("expected \"PUBLIC KEY\", found \"CERTIFICATE\""))
        }
        XCTAssertThrowsError(try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")) { error in
            guard case .invalidKey = error as? CryptoError else { return XCTFail("got \(error)") }
        }
    }
}
