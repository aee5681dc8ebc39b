import COpenSSL

/// Private key formats beyond plain PKCS#8 that Notary v1 and Docker Content Trust key files use:
/// PKCS#8 carrying Notary's own Ed25519 encoding, and the legacy PEM types (`EC PRIVATE KEY`,
/// `ED25519 PRIVATE KEY`, `RSA PRIVATE KEY`), optionally encrypted with RFC 1423 headers.
enum OpenSSLPrivateKeys {
    /// The object identifier Notary uses for its Ed25519 PKCS#8 keys (not RFC 8410's 1.3.101.112).
    static let notaryEd25519OID = "1.3.6.1.4.1.11591.15.1"

    /// A decoded private key: a usable EVP key, or the seed of a Notary Ed25519 key.
    enum Decoded {
        case evp(EVPKey)
        case ed25519Seed(SecretBytes)
    }

    /// Decodes a `PKCS8_PRIV_KEY_INFO` (taking ownership of it).
    static func decode(pkcs8Info info: OpaquePointer) throws(CryptoError) -> Decoded {
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        if let key = EVP_PKCS82PKEY(info) { return .evp(EVPKey(taking: key)) }
        _ = drainOpenSSLErrors()
        // Notary's Ed25519 form: OID 1.3.6.1.4.1.11591.15.1, and 96 raw bytes public ‖ seed ‖ public.
        var object: OpaquePointer? = nil
        var data: UnsafePointer<UInt8>? = nil
        var length: Int32 = 0
        guard PKCS8_pkey_get0(&object, &data, &length, nil, info) == 1, let object, let data else {
            throw CryptoError.invalidKey("unusable PKCS#8 private key (\(drainOpenSSLErrors()))")
        }
        var text = [CChar](repeating: 0, count: 80)
        let n = OBJ_obj2txt(&text, Int32(text.count), object, 1)
        let oid = n > 0 ? String(decoding: text.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        guard oid == notaryEd25519OID else { throw CryptoError.unsupportedKey("private key algorithm \(oid) is not Ed25519 or ECDSA") }
        return try notaryEd25519(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }

    /// Notary's raw Ed25519 private key: public (32) ‖ seed (32) ‖ public (32), or seed ‖ public (64).
    static func notaryEd25519(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> Decoded {
        guard bytes.count == 96 || bytes.count == 64 else {
            throw CryptoError.invalidKey("Notary Ed25519 key of \(bytes.count) bytes (expected 96)")
        }
        let offset = bytes.count == 96 ? 32 : 0
        return .ed25519Seed(SecretBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 32])))
    }

    /// The largest key derivation cost an encrypted PKCS#8 key may ask for: PBKDF2 iterations (Notary
    /// writes 2 048; current guidance for PBKDF2-HMAC-SHA1 is 1.3 million) or scrypt's N·r·p.
    static let maximumPKCS8KeyDerivationCost: UInt64 = 10_000_000

    /// Decrypts an `EncryptedPrivateKeyInfo` (PBES2, as Notary writes: PBKDF2-HMAC-SHA1, AES-256-CBC).
    static func decryptPKCS8(_ der: [UInt8], passphrase: SecretBytes) throws(CryptoError) -> Decoded {
        ERR_clear_error()
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let parsed = d2i_X509_SIG(nil, &p, buf.count)
            if parsed != nil, p != base + buf.count { X509_SIG_free(parsed); return nil }
            return parsed
        }
        guard let sig else { throw CryptoError.invalidKey("not an encrypted PKCS#8 private key (\(drainOpenSSLErrors()))") }
        defer { X509_SIG_free(sig) }
        // A key file sets its own derivation cost; one asking for more than any tool writes would keep
        // the command busy for hours before the passphrase could be found wrong.
        var cost: UInt64 = 0
        if signet_pkcs8_kdf_cost(sig, &cost) == 0, cost > maximumPKCS8KeyDerivationCost {
            throw CryptoError.invalidKey("the encrypted PKCS#8 key asks for a key derivation of cost \(cost) (iterations, or scrypt's N·r·p); at most \(maximumPKCS8KeyDerivationCost) is accepted")
        }
        let info: OpaquePointer? = passphrase.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in PKCS8_decrypt(sig, chars.baseAddress, Int32(chars.count)) }
        }
        guard let info else {
            _ = drainOpenSSLErrors()
            throw CryptoError.wrongPassphraseOrTampered("encrypted PKCS#8 key")
        }
        return try decode(pkcs8Info: info)
    }

    /// Decodes an unencrypted PKCS#8 DER private key, Notary's Ed25519 form included.
    static func decodePKCS8(_ der: SecretBytes) throws(CryptoError) -> Decoded {
        ERR_clear_error()
        let info: OpaquePointer? = der.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let parsed = d2i_PKCS8_PRIV_KEY_INFO(nil, &p, raw.count)
            if parsed != nil, p != base + raw.count { PKCS8_PRIV_KEY_INFO_free(parsed); return nil }
            return parsed
        }
        guard let info else { throw CryptoError.invalidKey("not an unencrypted PKCS#8 private key (\(drainOpenSSLErrors()))") }
        return try decode(pkcs8Info: info)
    }

    /// Decodes a legacy PEM private key body (`EC PRIVATE KEY`, `RSA PRIVATE KEY`, `ED25519 PRIVATE KEY`),
    /// decrypting it first when its headers say `Proc-Type: 4,ENCRYPTED` (RFC 1423, OpenSSL's key derivation).
    static func decodeLegacy(label: String, headers: [(String, String)], body: SecretBytes, passphrase: SecretBytes?) throws(CryptoError) -> Decoded {
        var plain = body
        if let proc = headers.first(where: { $0.0 == "Proc-Type" })?.1, proc.contains("ENCRYPTED") {
            guard let dek = headers.first(where: { $0.0 == "DEK-Info" })?.1 else { throw CryptoError.invalidPEM("encrypted \"\(label)\" without DEK-Info") }
            guard let passphrase else { throw CryptoError.wrongPassphraseOrTampered("the key is encrypted and no passphrase was given") }
            plain = try decryptRFC1423(body: body, procType: proc, dekInfo: dek, passphrase: passphrase)
        }
        switch label {
        case "ED25519 PRIVATE KEY":
            return try plain.withUnsafeBytes { (raw) throws(CryptoError) -> Decoded in try notaryEd25519(raw) }
        case "EC PRIVATE KEY", "RSA PRIVATE KEY":
            ERR_clear_error()
            let type = label == "EC PRIVATE KEY" ? signet_evp_pkey_ec() : signet_evp_pkey_rsa()
            let key: OpaquePointer? = plain.withUnsafeBytes { raw in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
                var p: UnsafePointer<UInt8>? = base
                return d2i_PrivateKey(type, nil, &p, raw.count)
            }
            guard let key else {
                _ = drainOpenSSLErrors()
                if headers.contains(where: { $0.0 == "Proc-Type" }) { throw CryptoError.wrongPassphraseOrTampered("encrypted \"\(label)\"") }
                throw CryptoError.invalidKey("unusable \"\(label)\"")
            }
            return .evp(EVPKey(taking: key))
        default:
            throw CryptoError.unsupportedKey("PEM type \"\(label)\"")
        }
    }

    /// RFC 1423 decryption as OpenSSL does it (`EVP_BytesToKey` with MD5 and the IV's first 8 bytes as salt).
    static func decryptRFC1423(body: SecretBytes, procType: String, dekInfo: String, passphrase: SecretBytes) throws(CryptoError) -> SecretBytes {
        ERR_clear_error()
        var header = Array("Proc-Type: \(procType)\nDEK-Info: \(dekInfo)\n".utf8CString)
        var info = EVP_CIPHER_INFO()
        let ok = header.withUnsafeMutableBufferPointer { PEM_get_EVP_CIPHER_INFO($0.baseAddress, &info) }
        guard ok == 1 else { throw CryptoError.invalidPEM("unsupported DEK-Info \"\(dekInfo)\" (\(drainOpenSSLErrors()))") }
        var buffer = [UInt8](repeating: 0, count: body.count)
        body.withUnsafeBytes { b in buffer.withUnsafeMutableBytes { $0.copyMemory(from: b) } }
        var length = buffer.count
        // With no callback, OpenSSL takes the user data as the NUL-terminated passphrase.
        var pass = [CChar](repeating: 0, count: passphrase.count + 1)
        passphrase.withUnsafeBytes { p in pass.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[0..<p.count]).copyMemory(from: p) } }
        let decrypted = buffer.withUnsafeMutableBufferPointer { b in
            pass.withUnsafeMutableBufferPointer { p in PEM_do_header(&info, b.baseAddress, &length, nil, p.baseAddress) }
        }
        for i in pass.indices { pass[i] = 0 }
        defer { for i in buffer.indices { buffer[i] = 0 } }
        guard decrypted == 1 else {
            _ = drainOpenSSLErrors()
            throw CryptoError.wrongPassphraseOrTampered("encrypted legacy PEM key")
        }
        return buffer.withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}
