import SignetCrypto
import SignetJSON
import XCTest
@testable import SignetTUF

/// One key, however it is spelled in metadata, counts once toward a threshold.
final class KeyIdentityTests: XCTestCase {
    /// Uncompressed P-256 SubjectPublicKeyInfo prefix (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes)
    /// and the compressed form's prefix (BIT STRING of 34 bytes).
    static let uncompressedPrefix: [UInt8] = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
                                              0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]
    static let compressedPrefix: [UInt8] = [0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
                                            0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00]

    func pem(_ der: [UInt8], lineLength: Int = 64, lineEnd: String = "\n") -> String {
        let b64 = Base64.encode(der)
        var lines: [String] = []
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: lineLength, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(String(b64[i..<j]))
            i = j
        }
        return "-----BEGIN PUBLIC KEY-----" + lineEnd + lines.joined(separator: lineEnd) + lineEnd + "-----END PUBLIC KEY-----" + lineEnd
    }

    func keyObject(_ type: String, _ scheme: String, _ value: String) throws -> Key {
        Key(keyType: type, scheme: scheme, keyval: try JSONObject([("public", .string(value))]))
    }

    /// Root metadata whose root role lists `keys` (under their own key IDs) with `threshold`, signed by
    /// `signer` once under every listed key ID.
    func rootBytes(listing keys: [Key], threshold: Int, signer: PrivateKey) throws -> [UInt8] {
        var ids: [(String, Key)] = []
        for k in keys { ids.append((try k.keyID(), k)) }
        var roles: [String: RoleKeys] = [:]
        for r in Root.topLevelRoles { roles[r] = RoleKeys(keyIDs: ids.map(\.0), threshold: threshold) }
        var m = Metadata(signed: Root(header: Header(version: 1, expiresAt: 4_102_444_800), keys: ids, roles: roles))
        for (id, _) in ids { try m.sign(with: signer, keyID: id) }
        return try m.encoded()
    }

    func testTheSameECDSAKeyInFiveSpellingsCountsOnce() throws {
        let signer = try PrivateKey.generate(.ecdsaP256)
        guard case .ecdsa(let pub) = signer.publicKey else { return XCTFail("not ECDSA") }
        let der = try pub.spkiDER()
        XCTAssertEqual(Array(der.prefix(26)), KeyIdentityTests.uncompressedPrefix)
        let point = try pub.uncompressedPoint()
        let compressed = KeyIdentityTests.compressedPrefix + [0x02 | (point[64] & 1)] + Array(point[1...32])
        let spellings = [
            try keyObject("ecdsa", "ecdsa-sha2-nistp256", pem(der)),                              // as Signet writes it
            try keyObject("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", pem(der)),                // older key type name
            try keyObject("ecdsa", "ecdsa-sha2-nistp256", pem(der, lineLength: 40)),              // other PEM line breaks
            try keyObject("ecdsa", "ecdsa-sha2-nistp256", pem(der, lineEnd: "\r\n")),             // CRLF
            try keyObject("ecdsa", "ecdsa-sha2-nistp256", pem(compressed)),                       // compressed point
        ]
        XCTAssertEqual(Set(try spellings.map { try $0.keyID() }).count, 5, "five different key IDs")
        // Each spelling is a usable key on its own: with threshold 1 it verifies.
        for k in spellings {
            XCTAssertTrue(k.isSupported, "\(k.json)")
            XCTAssertEqual(k.identity, spellings[0].identity)
            XCTAssertNoThrow(try TrustedMetadataSet(rootBytes: try rootBytes(listing: [k], threshold: 1, signer: signer), referenceTime: 0))
        }
        // Listed together with threshold 2, the one key's five signatures count once.
        XCTAssertThrowsError(try TrustedMetadataSet(rootBytes: try rootBytes(listing: spellings, threshold: 2, signer: signer), referenceTime: 0)) { e in
            guard case .thresholdNotMet(_, _, 2, 1) = e as? TUFError else { return XCTFail("\(e)") }
        }
        // A second, different key makes two.
        let other = try PrivateKey.generate(.ecdsaP256)
        var listing = spellings
        listing.append(try Key(publicKey: other.publicKey))
        var bytes = try rootBytes(listing: listing, threshold: 2, signer: signer)
        var m = try Metadata<Root>(bytes: bytes, file: "root.json")
        try m.sign(with: other, keyID: try Key(publicKey: other.publicKey).keyID())
        bytes = try m.encoded()
        XCTAssertNoThrow(try TrustedMetadataSet(rootBytes: bytes, referenceTime: 0))
    }

    func testTheSameEd25519KeyInHexOfEitherCaseCountsOnce() throws {
        var seed = [UInt8](repeating: 7, count: 32)
        let signer = PrivateKey.ed25519(try Ed25519PrivateKey(seed: SecretBytes(consuming: &seed)))
        guard case .ed25519(let pub) = signer.publicKey else { return XCTFail("not Ed25519") }
        let lower = Hex.encode(pub.rawRepresentation)
        let spellings = [try keyObject("ed25519", "ed25519", lower), try keyObject("ed25519", "ed25519", lower.uppercased())]
        XCTAssertNotEqual(try spellings[0].keyID(), try spellings[1].keyID())
        XCTAssertEqual(spellings[0].identity, spellings[1].identity)
        XCTAssertThrowsError(try TrustedMetadataSet(rootBytes: try rootBytes(listing: spellings, threshold: 2, signer: signer), referenceTime: 0))
        XCTAssertNoThrow(try TrustedMetadataSet(rootBytes: try rootBytes(listing: spellings, threshold: 1, signer: signer), referenceTime: 0))
    }

    func testKeysTheClientCannotReadNeverCount() throws {
        let k = try keyObject("ed25519", "ed25519", "not hex")
        XCTAssertFalse(k.isSupported)
        XCTAssertTrue(k.identity.starts(with: Array("unsupported:".utf8)))
    }
}
