import COpenSSL

/// Reads and clears OpenSSL's thread-local error queue, returning a readable summary.
func drainOpenSSLErrors() -> String {
    var parts: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        parts.append(text)
    }
    return parts.isEmpty ? "no OpenSSL error recorded" : parts.joined(separator: "; ")
}

/// Builds a `CryptoError.library` for an OpenSSL failure, draining the error queue.
func openSSLError(_ operation: String) -> CryptoError {
    .library(operation: operation, detail: drainOpenSSLErrors())
}

/// Owns one `EVP_PKEY`.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
    var baseID: Int32 { EVP_PKEY_get_base_id(pointer) }

    /// The DER SubjectPublicKeyInfo prefix (RFC 5480: id-ecPublicKey, named curve, BIT STRING with no
    /// unused bits) of uncompressed P-256 and P-384 keys, and the point length that follows it.
    private static let uncompressedECPrefixes: [(prefix: [UInt8], group: String, pointLength: Int)] = [
        ([0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
          0x03, 0x01, 0x07, 0x03, 0x42, 0x00], "prime256v1", 65),
        ([0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
          0x03, 0x62, 0x00], "secp384r1", 97),
    ]

    /// Reads a DER SubjectPublicKeyInfo. Uncompressed P-256 and P-384 keys, by far the most common in
    /// trust metadata, are read from their point directly (the point is checked to be on the curve); any
    /// other encoding goes through `d2i_PUBKEY`, OpenSSL's generic decoder, which costs far more per key.
    static func fromSPKI(_ der: [UInt8]) throws(CryptoError) -> EVPKey {
        ERR_clear_error()
        for ec in uncompressedECPrefixes where der.count == ec.prefix.count + ec.pointLength && der.starts(with: ec.prefix) {
            guard der[ec.prefix.count] == 0x04 else { break }
            let key: OpaquePointer? = der.withUnsafeBufferPointer { buf in
                guard let base = buf.baseAddress else { return nil }
                return signet_ec_public_key_from_point(ec.group, base + ec.prefix.count, ec.pointLength)
            }
            guard let key else { throw CryptoError.invalidKey("not a valid \(ec.group) public key (\(drainOpenSSLErrors()))") }
            return EVPKey(taking: key)
        }
        let result: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let parsed = d2i_PUBKEY(nil, &p, buf.count)
            // Reject trailing bytes after the structure.
            if parsed != nil, p != base + buf.count {
                EVP_PKEY_free(parsed)
                return nil
            }
            return parsed
        }
        guard let key = result else { throw CryptoError.invalidKey("not a DER SubjectPublicKeyInfo (\(drainOpenSSLErrors()))") }
        return EVPKey(taking: key)
    }

    /// DER SubjectPublicKeyInfo of this key.
    func spkiDER() throws(CryptoError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_PUBKEY(pointer, &out)
        guard n > 0, let bytes = out else { throw openSSLError("encoding a public key") }
        defer { signet_openssl_free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(n)))
    }

    /// Unencrypted PKCS#8 DER of this private key, as secret bytes.
    func pkcs8DER() throws(CryptoError) -> SecretBytes {
        guard let info = EVP_PKEY2PKCS8(pointer) else { throw openSSLError("exporting a private key") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_PKCS8_PRIV_KEY_INFO(info, &out)
        guard n > 0, let bytes = out else { throw openSSLError("encoding a private key") }
        defer {
            OPENSSL_cleanse(bytes, Int(n))
            signet_openssl_free(bytes)
        }
        return SecretBytes(copying: UnsafeRawBufferPointer(start: bytes, count: Int(n)))
    }

    /// Parses unencrypted PKCS#8 DER.
    static func fromPKCS8(_ der: SecretBytes) throws(CryptoError) -> EVPKey {
        ERR_clear_error()
        let info: OpaquePointer? = der.withUnsafeBytes { raw in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let parsed = d2i_PKCS8_PRIV_KEY_INFO(nil, &p, raw.count)
            if parsed != nil, p != base + raw.count {
                PKCS8_PRIV_KEY_INFO_free(parsed)
                return nil
            }
            return parsed
        }
        guard let info else { throw CryptoError.invalidKey("not an unencrypted PKCS#8 private key (\(drainOpenSSLErrors()))") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else { throw CryptoError.invalidKey("unusable PKCS#8 private key (\(drainOpenSSLErrors()))") }
        return EVPKey(taking: key)
    }

    /// Decrypts an `EncryptedPrivateKeyInfo` (PKCS#8, PBES1/PBES2) DER structure.
    static func fromEncryptedPKCS8(_ der: [UInt8], passphrase: SecretBytes) throws(CryptoError) -> EVPKey {
        ERR_clear_error()
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let parsed = d2i_X509_SIG(nil, &p, buf.count)
            if parsed != nil, p != base + buf.count {
                X509_SIG_free(parsed)
                return nil
            }
            return parsed
        }
        guard let sig else { throw CryptoError.invalidKey("not an encrypted PKCS#8 private key (\(drainOpenSSLErrors()))") }
        defer { X509_SIG_free(sig) }
        let info: OpaquePointer? = passphrase.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                PKCS8_decrypt(sig, chars.baseAddress, Int32(chars.count))
            }
        }
        guard let info else {
            _ = drainOpenSSLErrors()
            throw CryptoError.wrongPassphraseOrTampered("encrypted PKCS#8 key")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else { throw CryptoError.invalidKey("unusable PKCS#8 private key (\(drainOpenSSLErrors()))") }
        return EVPKey(taking: key)
    }

    /// Raw public key bytes (for Ed25519 keys).
    func rawPublicKey() throws(CryptoError) -> [UInt8] {
        var len = 0
        guard EVP_PKEY_get_raw_public_key(pointer, nil, &len) == 1 else { throw openSSLError("reading a raw public key") }
        var out = [UInt8](repeating: 0, count: len)
        guard EVP_PKEY_get_raw_public_key(pointer, &out, &len) == 1 else { throw openSSLError("reading a raw public key") }
        return Array(out.prefix(len))
    }

    /// Raw private key bytes (for Ed25519 keys: the 32-byte seed).
    func rawPrivateKey() throws(CryptoError) -> SecretBytes {
        var len = 0
        guard EVP_PKEY_get_raw_private_key(pointer, nil, &len) == 1 else { throw openSSLError("reading a raw private key") }
        var failed = false
        let secret = SecretBytes(count: len) { buf in
            var l = len
            if EVP_PKEY_get_raw_private_key(pointer, buf.baseAddress?.assumingMemoryBound(to: UInt8.self), &l) != 1 || l != len {
                failed = true
            }
        }
        if failed { throw openSSLError("reading a raw private key") }
        return secret
    }

    /// A big-number parameter of the key (for example "qx", "qy", "n", "e") as unsigned big-endian
    /// bytes, left-padded with zeros to `width` when given.
    func bigNumberParameter(_ name: String, width: Int? = nil) throws(CryptoError) -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pointer, name, &bn) == 1, let bn else { throw openSSLError("reading the key parameter \(name)") }
        defer { BN_free(bn) }
        let natural = Int((BN_num_bits(bn) + 7) / 8)
        let length = max(width ?? natural, natural)
        var out = [UInt8](repeating: 0, count: length)
        guard BN_bn2binpad(bn, &out, Int32(length)) == Int32(length) else { throw openSSLError("encoding the key parameter \(name)") }
        return out
    }

    /// The curve name of an EC key, such as "prime256v1" or "secp384r1".
    func ecCurveName() -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var len = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &len) == 1 else {
            _ = drainOpenSSLErrors()
            return nil
        }
        return String(decoding: buffer.prefix(len).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Owns one `EVP_MD` fetched once and reused (explicit fetching avoids a lookup per operation).
final class FetchedDigest: @unchecked Sendable {
    let pointer: OpaquePointer
    private init?(name: String) {
        guard let md = EVP_MD_fetch(nil, name, nil) else { return nil }
        pointer = md
    }
    deinit { EVP_MD_free(pointer) }

    static let sha256 = FetchedDigest(name: "SHA256")
    static let sha384 = FetchedDigest(name: "SHA384")
    static let sha512 = FetchedDigest(name: "SHA512")

    static func get(_ algorithm: DigestAlgorithm) throws(CryptoError) -> OpaquePointer {
        Sodium.openSSLDigestsReady()
        let md: FetchedDigest?
        switch algorithm {
        case .sha256: md = sha256
        case .sha384: md = sha384
        case .sha512: md = sha512
        }
        guard let md else { throw openSSLError("loading the \(algorithm.rawValue) implementation") }
        return md.pointer
    }
}

/// Owns one `EVP_MD_CTX`.
final class DigestContext: @unchecked Sendable {
    let pointer: OpaquePointer
    let algorithm: DigestAlgorithm
    init(_ algorithm: DigestAlgorithm) throws(CryptoError) {
        let md = try FetchedDigest.get(algorithm)
        guard let ctx = EVP_MD_CTX_new() else { throw openSSLError("allocating a digest context") }
        guard EVP_DigestInit_ex2(ctx, md, nil) == 1 else {
            EVP_MD_CTX_free(ctx)
            throw openSSLError("initialising \(algorithm.rawValue)")
        }
        pointer = ctx
        self.algorithm = algorithm
    }
    deinit { EVP_MD_CTX_free(pointer) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // EVP_DigestUpdate only fails on a misconfigured context, which `init` rules out.
        _ = EVP_DigestUpdate(pointer, base, bytes.count)
    }

    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(signet_evp_max_md_size()))
        var len: UInt32 = 0
        _ = EVP_DigestFinal_ex(pointer, &out, &len)
        return Array(out.prefix(Int(len)))
    }

    func copy() throws(CryptoError) -> DigestContext {
        let other = try DigestContext(algorithm)
        guard EVP_MD_CTX_copy_ex(other.pointer, pointer) == 1 else { throw openSSLError("copying a digest context") }
        return other
    }

    /// The digest of `bytes`; short inputs go to libsodium (`Sodium.shortDigest`), the rest to OpenSSL.
    static func oneShot(_ algorithm: DigestAlgorithm, _ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        if let short = Sodium.shortDigest(algorithm, bytes) { return short }
        return try openSSLOneShot(algorithm, bytes)
    }

    /// The digest of `bytes` computed by OpenSSL whatever its length.
    static func openSSLOneShot(_ algorithm: DigestAlgorithm, _ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        let md = try FetchedDigest.get(algorithm)
        var out = [UInt8](repeating: 0, count: Int(signet_evp_max_md_size()))
        var len: UInt32 = 0
        let ok = EVP_Digest(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), bytes.count, &out, &len, md, nil)
        guard ok == 1 else { throw openSSLError("computing \(algorithm.rawValue)") }
        return Array(out.prefix(Int(len)))
    }
}

/// Constant-time comparison of two equal-length buffers.
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return CRYPTO_memcmp(pa, pb, a.count) == 0
}
