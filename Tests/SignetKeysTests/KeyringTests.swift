import Foundation
import SignetCrypto
import SignetTestSupport
import XCTest
import SignetFiles
import SignetTUF
@testable import SignetKeys

final class KeyringTests: XCTestCase {
    var home = ""
    let pass = SecretBytes(utf8: "a passphrase for tests")

    override func setUpWithError() throws { home = try TestProcesses.temporaryDirectory("signet-home") + "/home" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: (home as NSString).deletingLastPathComponent) }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testGenerateListUnlockAndPermissions() throws {
        let ring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let a = try ring.generate(.ed25519, passphrase: pass, labels: [("role", "root")])
        let b = try ring.generate(.ecdsaP256, passphrase: pass)
        let c = try ring.generate(.ecdsaP384, passphrase: pass)
        XCTAssertEqual(try mode(home), 0o700)
        XCTAssertEqual(try mode(home + "/keys"), 0o700)
        for e in [a, b, c] {
            XCTAssertEqual(try mode(e.path), 0o600)
            XCTAssertEqual(e.keyID, try Key(publicKey: e.publicKey).keyID())
            XCTAssertEqual(try ring.unlock(e, passphrase: pass).publicKey.spkiDER(), try e.publicKey.spkiDER())
            // No plaintext key material: the private key bytes never appear in the file.
            let secret = try ring.unlock(e, passphrase: pass).pkcs8DER().withUnsafeBytes { Array($0.suffix(32)) }
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: e.path)))
            XCTAssertFalse(String(decoding: file, as: UTF8.self).contains(Hex.encode(secret)))
            XCTAssertNil(file.indices.first { file[$0...].starts(with: secret) })
        }
        let listed = try ring.list()
        XCTAssertEqual(Set(listed.map(\.keyID)), Set([a.keyID, b.keyID, c.keyID]))
        XCTAssertEqual(listed.first { $0.keyID == a.keyID }?.label("role"), "root")
        XCTAssertEqual(try ring.find(String(a.keyID.prefix(10))).keyID, a.keyID)
        XCTAssertThrowsError(try ring.find("short"))
    }

    func testWrongPassphraseAndCorruptFileAreClearErrors() throws {
        let ring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let e = try ring.generate(.ed25519, passphrase: pass)
        XCTAssertThrowsError(try ring.unlock(e, passphrase: SecretBytes(utf8: "wrong"))) { error in
            XCTAssertTrue("\(error)".contains("wrong passphrase"), "\(error)")
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: e.path)))
        bytes.removeLast(bytes.count / 2)   // cut through the middle of the file
        try Data(bytes).write(to: URL(fileURLWithPath: e.path))
        XCTAssertThrowsError(try ring.unlock(e, passphrase: pass)) { error in
            XCTAssertTrue("\(error)".contains(e.path), "\(error)")
        }
        XCTAssertThrowsError(try ring.list()) { error in
            XCTAssertTrue("\(error)".contains("corrupt key file") || "\(error)".contains("not base64"), "\(error)")
        }
    }

    func testImportPEMAndDuplicate() throws {
        let ring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let dir = (home as NSString).deletingLastPathComponent
        let pemPath = dir + "/k.pem"
        let p = try TestProcesses.run("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pemPath])
        XCTAssertEqual(p.status, 0, p.stderr)
        let enc = try TestProcesses.run("/usr/bin/openssl", ["pkcs8", "-topk8", "-in", pemPath, "-passout", "pass:pempass"])
        let e = try ring.importPEM(enc.stdout, pemPassphrase: SecretBytes(utf8: "pempass"), passphrase: pass)
        XCTAssertEqual(e.algorithm, .ecdsaP256)
        XCTAssertThrowsError(try ring.importPEM(enc.stdout, pemPassphrase: SecretBytes(utf8: "pempass"), passphrase: pass)) { error in
            guard case .exists = error as? KeyringError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ring.importPEM(enc.stdout, pemPassphrase: SecretBytes(utf8: "nope"), passphrase: pass))
        XCTAssertEqual(try ring.list().count, 1)
    }

    /// Keys sharing a passphrase cost one Argon2id run per command (a fresh key store object), whatever
    /// their number; a second passphrase costs a second run; a file with its own salt still opens.
    func testOneDerivationPerPassphrase() throws {
        let writer = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let shared = try (0..<4).map { _ in try writer.generate(.ed25519, passphrase: pass) }
        let other = try writer.generate(.ecdsaP256, passphrase: SecretBytes(utf8: "another passphrase"))
        let salt = try writer.storeSalt()
        for e in shared + [other] {
            let text = String(decoding: try XCTUnwrap(try AtomicFile.read(e.path, limit: 1 << 16)), as: UTF8.self)
            XCTAssertTrue(text.contains("kdf-salt: \(Base64.encode(salt))\n"), "new key files take the store salt")
        }
        // A file sealed on its own (as before the store salt, or copied in from elsewhere).
        let legacyKey = try PrivateKey.generate(.ed25519)
        let legacyID = try Key(publicKey: legacyKey.publicKey).keyID()
        try AtomicFile.write(try EncryptedKeyFile.seal(legacyKey, passphrase: pass, kdf: .unsafeMinimumForTests, labels: [("keyid", legacyID)]),
                             to: home + "/keys/\(legacyID).key", mode: 0o600)

        let reader = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let before = KeyDerivationCache.derivationCount
        for e in shared { _ = try reader.unlock(e, passphrase: pass) }
        XCTAssertEqual(KeyDerivationCache.derivationCount - before, 1, "four keys, one passphrase: one run")
        _ = try reader.unlock(other, passphrase: SecretBytes(utf8: "another passphrase"))
        XCTAssertEqual(KeyDerivationCache.derivationCount - before, 2)
        XCTAssertEqual(try reader.unlock(try reader.find(legacyID), passphrase: pass).publicKey.spkiDER(), try legacyKey.publicKey.spkiDER())
        XCTAssertEqual(KeyDerivationCache.derivationCount - before, 3, "a file with its own salt costs its own run")
        // A wrong passphrase is not served from the cache of the right one.
        XCTAssertThrowsError(try reader.unlock(shared[0], passphrase: SecretBytes(utf8: "wrong"))) { error in
            guard case KeyringError.wrongPassphrase = error else { return XCTFail("\(error)") }
        }
        reader.derivations.clear()
        _ = try reader.unlock(shared[1], passphrase: pass)
        XCTAssertEqual(KeyDerivationCache.derivationCount - before, 5, "after clear() the passphrase is derived again")
    }

    /// A damaged salt file is reported and left alone; existing keys keep opening (each records its salt).
    func testDamagedStoreSaltIsReportedNotReplaced() throws {
        let ring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let e = try ring.generate(.ed25519, passphrase: pass)
        let saltPath = home + "/keys/" + Keyring.saltFileName
        XCTAssertEqual(try mode(saltPath), 0o600)
        try AtomicFile.write(Array("not a salt\n".utf8), to: saltPath, mode: 0o600)
        XCTAssertThrowsError(try ring.generate(.ed25519, passphrase: pass)) { error in
            XCTAssertTrue("\(error)".contains(Keyring.saltFileName) && "\(error)".contains("not a key store salt"), "\(error)")
        }
        XCTAssertEqual(try AtomicFile.read(saltPath, limit: 100), Array("not a salt\n".utf8))
        XCTAssertNoThrow(try ring.unlock(e, passphrase: pass))
        try FileManager.default.removeItem(atPath: saltPath)
        XCTAssertNoThrow(try ring.generate(.ed25519, passphrase: pass))
        XCTAssertNoThrow(try ring.unlock(e, passphrase: pass))
    }
}
