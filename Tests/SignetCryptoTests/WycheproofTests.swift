import XCTest
@testable import SignetCrypto

/// Runs every case of the Wycheproof files in `TestVectors/wycheproof/`.
final class WycheproofTests: XCTestCase {
    private func groups(_ file: String) throws -> (Int, [[String: Any]]) {
        let json = try Fixtures.vectors(file)
        let n = json["numberOfTests"] as? Int ?? -1
        return (n, json["testGroups"] as? [[String: Any]] ?? [])
    }

    private func finish(_ tally: VectorTally, expected: Int, file: String) {
        XCTAssertEqual(tally.checked, expected, "\(file): not every case was checked")
        XCTAssertTrue(tally.failures.isEmpty, "\(file):\n" + tally.failures.joined(separator: "\n"))
    }

    func testEd25519() throws {
        let file = "ed25519_test.json"
        let (n, groups) = try groups(file)
        var tally = VectorTally(), longTally = VectorTally(), streamedTally = VectorTally()
        for g in groups {
            let pkHex = (g["publicKey"] as? [String: Any])?["pk"] as? String ?? ""
            let key = try Ed25519PublicKey(rawRepresentation: Fixtures.hex(pkHex))
            // The SPKI form must parse to the same key.
            if let der = g["publicKeyDer"] as? String, case .ed25519(let k2) = try PublicKey(spkiDER: Fixtures.hex(der)) {
                XCTAssertEqual(k2, key)
            }
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let sig = Fixtures.hex(t["sig"] as? String ?? ""), msg = Fixtures.hex(t["msg"] as? String ?? "")
                let ok = key.isValidSignature(sig, for: msg)
                tally.record(tcId: t["tcId"] as? Int ?? -1, expected: t["result"] as? String ?? "", got: ok, comment: t["comment"] as? String ?? "")
                // The long-message path (libsodium's group operations, OpenSSL's SHA-512) on every case too.
                let long = msg.withUnsafeBytes { Sodium.ed25519VerifyLong(signature: sig, message: $0, publicKey: key.rawRepresentation) }
                longTally.record(tcId: t["tcId"] as? Int ?? -1, expected: t["result"] as? String ?? "", got: long, comment: t["comment"] as? String ?? "")
                // And the streamed check, the message fed in two pieces split at a different place each time.
                var streamed = false
                if let check = Ed25519StreamingCheck(signature: sig, publicKey: key) {
                    let cut = msg.isEmpty ? 0 : (t["tcId"] as? Int ?? 0) % (msg.count + 1)
                    msg.withUnsafeBytes { m in
                        check.update(UnsafeRawBufferPointer(rebasing: m[0..<cut]))
                        check.update(UnsafeRawBufferPointer(rebasing: m[cut...]))
                    }
                    XCTAssertEqual(check.messageLength, Int64(msg.count))
                    streamed = check.finish()
                }
                streamedTally.record(tcId: t["tcId"] as? Int ?? -1, expected: t["result"] as? String ?? "", got: streamed, comment: t["comment"] as? String ?? "")
                XCTAssertEqual(streamed, long, "tcId \(t["tcId"] ?? "?"): the streamed check and the long-message path differ")
            }
        }
        finish(tally, expected: n, file: file)
        finish(longTally, expected: n, file: file + " (long-message path)")
        finish(streamedTally, expected: n, file: file + " (streamed check)")
    }

    private func runECDSA(_ file: String, raw: Bool, curve: ECDSACurve) throws {
        let (n, groups) = try groups(file)
        var tally = VectorTally()
        for g in groups {
            let der = Fixtures.hex(g["publicKeyDer"] as? String ?? "")
            let key = try ECDSAPublicKey(spkiDER: der)
            XCTAssertEqual(key.curve, curve)
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let sig = Fixtures.hex(t["sig"] as? String ?? "")
                let msg = Fixtures.hex(t["msg"] as? String ?? "")
                let ok: Bool
                if raw {
                    if let s = try? ECDSASignatureRaw(rawRepresentation: sig, curve: curve) { ok = key.isValidSignature(s, for: msg) } else { ok = false }
                } else {
                    if let s = try? ECDSASignatureDER(derRepresentation: sig) { ok = key.isValidSignature(s, for: msg) } else { ok = false }
                }
                tally.record(tcId: t["tcId"] as? Int ?? -1, expected: t["result"] as? String ?? "", got: ok, comment: t["comment"] as? String ?? "")
            }
        }
        finish(tally, expected: n, file: file)
    }

    func testECDSAP256DER() throws { try runECDSA("ecdsa_secp256r1_sha256_test.json", raw: false, curve: .p256) }
    func testECDSAP256P1363() throws { try runECDSA("ecdsa_secp256r1_sha256_p1363_test.json", raw: true, curve: .p256) }
    func testECDSAP384DER() throws { try runECDSA("ecdsa_secp384r1_sha384_test.json", raw: false, curve: .p384) }
    func testECDSAP384P1363() throws { try runECDSA("ecdsa_secp384r1_sha384_p1363_test.json", raw: true, curve: .p384) }

    private func runRSAPSS(_ file: String) throws {
        let (n, groups) = try groups(file)
        var tally = VectorTally()
        for g in groups {
            XCTAssertEqual(g["sLen"] as? Int, 32)
            let key = try RSAPublicKey(spkiDER: Fixtures.hex(g["publicKeyDer"] as? String ?? ""))
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let ok = key.isValidPSSSignature(Fixtures.hex(t["sig"] as? String ?? ""), for: Fixtures.hex(t["msg"] as? String ?? ""))
                tally.record(tcId: t["tcId"] as? Int ?? -1, expected: t["result"] as? String ?? "", got: ok, comment: t["comment"] as? String ?? "")
            }
        }
        finish(tally, expected: n, file: file)
    }

    func testRSAPSS2048() throws { try runRSAPSS("rsa_pss_2048_sha256_mgf1_32_test.json") }
    func testRSAPSS3072() throws { try runRSAPSS("rsa_pss_3072_sha256_mgf1_32_test.json") }

    func testXChaCha20Poly1305() throws {
        let file = "xchacha20_poly1305_test.json"
        let (n, groups) = try groups(file)
        var tally = VectorTally()
        for g in groups {
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let tcId = t["tcId"] as? Int ?? -1
                let expected = t["result"] as? String ?? ""
                var keyBytes = Fixtures.hex(t["key"] as? String ?? "")
                let key = SecretBytes(consuming: &keyBytes)
                let nonce = Fixtures.hex(t["iv"] as? String ?? "")
                let aad = Fixtures.hex(t["aad"] as? String ?? "")
                var msgBytes = Fixtures.hex(t["msg"] as? String ?? "")
                let msg = SecretBytes(consuming: &msgBytes)
                let sealed = Fixtures.hex(t["ct"] as? String ?? "") + Fixtures.hex(t["tag"] as? String ?? "")
                // Groups with other nonce or key sizes cannot be expressed: the API must refuse them.
                guard let opened = try? XChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: aad) else {
                    tally.record(tcId: tcId, expected: expected, got: false, comment: "rejected (\(nonce.count)-byte nonce)")
                    continue
                }
                let ok = opened == msg
                if ok && expected == "valid" {
                    let resealed = try XChaCha20Poly1305.seal(msg, key: key, nonce: nonce, associatedData: aad)
                    XCTAssertEqual(resealed, sealed, "tcId \(tcId): encryption differs")
                }
                tally.record(tcId: tcId, expected: expected, got: ok, comment: t["comment"] as? String ?? "")
            }
        }
        finish(tally, expected: n, file: file)
    }
}
