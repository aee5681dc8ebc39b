import XCTest
@testable import SignetCrypto

final class EncryptedKeyFileTests: XCTestCase {
    let fast = KeyFileKDFParameters.unsafeMinimumForTests
    let pass = SecretBytes(utf8: "correct horse battery staple")

    func testRoundTripEveryAlgorithm() throws {
        for algorithm in [KeyAlgorithm.ed25519, .ecdsaP256, .ecdsaP384] {
            let key = try PrivateKey.generate(algorithm)
            let file = try EncryptedKeyFile.seal(key, passphrase: pass, kdf: fast, labels: [("role", "root"), ("repository", "example.com/app")])
            let info = try EncryptedKeyFile.inspect(file)
            XCTAssertEqual(info.algorithm, algorithm)
            XCTAssertEqual(info.kdf, fast)
            XCTAssertEqual(info.labels.map { $0.0 }, ["role", "repository"])
            let opened = try EncryptedKeyFile.open(file, passphrase: pass)
            XCTAssertEqual(try opened.publicKey.spkiDER(), try key.publicKey.spkiDER())
            let sig = try opened.sign([1])
            XCTAssertFalse(sig.isEmpty)
            // No plaintext key material in the file.
            let secret = try key.pkcs8DER().withUnsafeBytes { Array($0) }
            let tail = Array(secret.suffix(32))
            XCTAssertNil(find(tail, in: file), "\(algorithm): raw key bytes found in file")
            XCTAssertNil(find(Array(Base64.encode(tail).utf8.prefix(40)), in: file))
        }
    }

    func testDefaultsAreModerate() {
        XCTAssertEqual(KeyFileKDFParameters.moderate.memLimit, 256 << 20)
        XCTAssertEqual(KeyFileKDFParameters.moderate.opsLimit, 3)
    }

    func testWrongPassphrase() throws {
        let file = try EncryptedKeyFile.seal(try PrivateKey.generate(.ed25519), passphrase: pass, kdf: fast)
        XCTAssertThrowsError(try EncryptedKeyFile.open(file, passphrase: SecretBytes(utf8: "wrong"))) { error in
            XCTAssertEqual(error as? CryptoError, .wrongPassphraseOrTampered("key file"))
        }
    }

    func testEveryTamperingIsDetected() throws {
        let key = try PrivateKey.generate(.ecdsaP256)
        let file = try EncryptedKeyFile.seal(key, passphrase: pass, kdf: fast)
        let text = String(decoding: file, as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        func replace(_ field: String, _ transform: (String) -> String) -> [UInt8] {
            var copy = lines
            for i in copy.indices where copy[i].hasPrefix(field + ": ") {
                copy[i] = field + ": " + transform(String(copy[i].dropFirst(field.count + 2)))
            }
            return Array((copy.joined(separator: "\n") + "\n").utf8)
        }
        func flipFirstChar(_ b64: String) -> String {
            var chars = Array(b64)
            chars[0] = chars[0] == "A" ? "B" : "A"
            return String(chars)
        }
        // Another valid key of the same type swapped in as the public key: authenticated data changes.
        let otherPub = Base64.encode(try PrivateKey.generate(.ecdsaP256).publicKey.spkiDER())
        for tampered in [replace("ciphertext", flipFirstChar), replace("nonce", flipFirstChar),
                         replace("kdf-salt", flipFirstChar), replace("public-key") { _ in otherPub },
                         replace("kdf-opslimit") { _ in "2" }] {
            XCTAssertThrowsError(try EncryptedKeyFile.open(tampered, passphrase: pass)) { error in
                XCTAssertEqual(error as? CryptoError, .wrongPassphraseOrTampered("key file"))
            }
        }
        // Structural damage gives a precise message.
        XCTAssertThrowsError(try EncryptedKeyFile.open(replace("kdf-memlimit") { _ in "99999999999999" }, passphrase: pass)) { error in
            XCTAssertEqual(error as? CryptoError, .corruptKeyFile("kdf-memlimit 99999999999999 outside 8192...2147483648"))
        }
        XCTAssertThrowsError(try EncryptedKeyFile.open(replace("algorithm") { _ in "ed25519" }, passphrase: pass)) { error in
            XCTAssertEqual(error as? CryptoError, .corruptKeyFile("public-key is ecdsa-p256 but algorithm says ed25519"))
        }
        lines.removeAll { $0.hasPrefix("nonce:") }
        XCTAssertThrowsError(try EncryptedKeyFile.open(Array(lines.joined(separator: "\n").utf8), passphrase: pass)) { error in
            XCTAssertEqual(error as? CryptoError, .corruptKeyFile("missing field \"nonce\""))
        }
        XCTAssertThrowsError(try EncryptedKeyFile.open(Array("hello\n".utf8), passphrase: pass)) { error in
            XCTAssertEqual(error as? CryptoError, .corruptKeyFile("line 1: expected \"name: value\""))
        }
        XCTAssertThrowsError(try EncryptedKeyFile.open([0xff, 0xfe], passphrase: pass)) { error in
            XCTAssertEqual(error as? CryptoError, .corruptKeyFile("not UTF-8 text"))
        }
        XCTAssertThrowsError(try EncryptedKeyFile.open([UInt8](repeating: 0x41, count: 70_000), passphrase: pass))
    }

    func testRefusesEmptyPassphraseAndBadLabels() throws {
        let key = try PrivateKey.generate(.ed25519)
        XCTAssertThrowsError(try EncryptedKeyFile.seal(key, passphrase: SecretBytes(utf8: ""), kdf: fast))
        XCTAssertThrowsError(try EncryptedKeyFile.seal(key, passphrase: pass, kdf: fast, labels: [("Bad Name", "x")]))
        XCTAssertThrowsError(try EncryptedKeyFile.seal(key, passphrase: pass, kdf: fast, labels: [("ok", "two\nlines")]))
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
}
