import COpenSSL

/// Signature operations over `EVPKey`s. Every return code is checked; failures drain the error queue.
enum OpenSSLSignatures {
    /// RSA-PSS salt length policy.
    enum PSSSalt { case digestLength, auto }

    static func generateEC(curve: ECDSACurve) throws(CryptoError) -> EVPKey {
        ERR_clear_error()
        guard let ctx = EVP_PKEY_CTX_new_id(signet_evp_pkey_ec(), nil) else { throw openSSLError("creating an EC key context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw openSSLError("initialising EC key generation") }
        let nid = curve == .p256 ? signet_nid_x9_62_prime256v1() : signet_nid_secp384r1()
        guard signet_evp_pkey_ctx_set_ec_paramgen_curve_nid(ctx, nid) == 1 else { throw openSSLError("selecting curve \(curve)") }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw openSSLError("generating an EC key") }
        return EVPKey(taking: key)
    }

    /// Signs with EVP_DigestSign; ECDSA yields DER.
    static func sign(key: EVPKey, digest: DigestAlgorithm, message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        let md = try FetchedDigest.get(digest)
        guard let ctx = EVP_MD_CTX_new() else { throw openSSLError("allocating a signing context") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, md, nil, key.pointer) == 1 else { throw openSSLError("initialising signing") }
        var dummy: UInt8 = 0
        return try withUnsafePointer(to: &dummy) { (fallback) throws(CryptoError) -> [UInt8] in
            let m = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            var len = 0
            guard EVP_DigestSign(ctx, nil, &len, m, message.count) == 1 else { throw openSSLError("signing") }
            var sig = [UInt8](repeating: 0, count: len)
            guard EVP_DigestSign(ctx, &sig, &len, m, message.count) == 1 else { throw openSSLError("signing") }
            return Array(sig.prefix(len))
        }
    }

    /// Verifies with EVP_DigestVerify. Any failure, including malformed signatures, is `false`.
    static func verify(key: EVPKey, digest: DigestAlgorithm, signature: [UInt8], message: UnsafeRawBufferPointer, pss: PSSSalt? = nil) -> Bool {
        defer { ERR_clear_error() }
        guard let md = try? FetchedDigest.get(digest), let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestVerifyInit(ctx, &pctx, md, nil, key.pointer) == 1 else { return false }
        if let pss {
            guard let pctx,
                  signet_evp_pkey_ctx_set_rsa_padding(pctx, signet_rsa_pkcs1_pss_padding()) == 1,
                  signet_evp_pkey_ctx_set_rsa_mgf1_md(pctx, md) == 1 else { return false }
            let salt = pss == .digestLength ? signet_rsa_pss_saltlen_digest() : signet_rsa_pss_saltlen_auto()
            guard signet_evp_pkey_ctx_set_rsa_pss_saltlen(pctx, salt) == 1 else { return false }
        }
        var dummy: UInt8 = 0
        return withUnsafePointer(to: &dummy) { fallback in
            let m = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            return EVP_DigestVerify(ctx, signature, signature.count, m, message.count) == 1
        }
    }

    /// Converts a DER ECDSA signature to fixed-width r‖s. Requires strict DER (re-encoding must match).
    static func ecdsaDERToRaw(_ der: [UInt8], componentLength: Int) throws(CryptoError) -> [UInt8] {
        defer { ERR_clear_error() }
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let sig = d2i_ECDSA_SIG(nil, &p, buf.count)
            if sig != nil, p != base + buf.count { ECDSA_SIG_free(sig); return nil }
            return sig
        }
        guard let sig = parsed else { throw CryptoError.invalidSignatureEncoding("not a DER ECDSA signature") }
        defer { ECDSA_SIG_free(sig) }
        var reencoded: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_ECDSA_SIG(sig, &reencoded)
        guard n > 0, let bytes = reencoded else { throw openSSLError("re-encoding an ECDSA signature") }
        let same = Array(UnsafeBufferPointer(start: bytes, count: Int(n))) == der
        signet_openssl_free(bytes)
        guard same else { throw CryptoError.invalidSignatureEncoding("ECDSA signature is BER, not DER") }
        guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig) else {
            throw CryptoError.invalidSignatureEncoding("ECDSA signature without r or s")
        }
        var out = [UInt8](repeating: 0, count: componentLength * 2)
        let ok = out.withUnsafeMutableBufferPointer { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            return BN_bn2binpad(r, base, Int32(componentLength)) == Int32(componentLength)
                && BN_bn2binpad(s, base + componentLength, Int32(componentLength)) == Int32(componentLength)
        }
        guard ok else { throw CryptoError.invalidSignatureEncoding("ECDSA signature component larger than the curve allows") }
        return out
    }

    /// Converts fixed-width r‖s to DER.
    static func ecdsaRawToDER(_ raw: [UInt8]) throws(CryptoError) -> [UInt8] {
        defer { ERR_clear_error() }
        let half = raw.count / 2
        guard raw.count % 2 == 0, half > 0 else { throw CryptoError.invalidSignatureEncoding("raw ECDSA signature of odd length \(raw.count)") }
        guard let sig = ECDSA_SIG_new() else { throw openSSLError("allocating an ECDSA signature") }
        defer { ECDSA_SIG_free(sig) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
        let s = raw.withUnsafeBufferPointer { buf in BN_bin2bn(buf.baseAddress.map { $0 + half }, Int32(half), nil) }
        guard let r, let s else { BN_free(r); BN_free(s); throw openSSLError("reading r and s") }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else { BN_free(r); BN_free(s); throw openSSLError("building an ECDSA signature") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_ECDSA_SIG(sig, &out)
        guard n > 0, let bytes = out else { throw openSSLError("encoding an ECDSA signature") }
        defer { signet_openssl_free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(n)))
    }

    /// Builds an Ed25519 EVP key from a raw public key (used for reading SPKI-encoded Ed25519 keys).
    static func isEd25519(_ key: EVPKey) -> Bool { key.baseID == signet_evp_pkey_ed25519() }
    static func isEC(_ key: EVPKey) -> Bool { key.baseID == signet_evp_pkey_ec() }
    static func isRSA(_ key: EVPKey) -> Bool { key.baseID == signet_evp_pkey_rsa() || key.baseID == signet_evp_pkey_rsa_pss() }
}
