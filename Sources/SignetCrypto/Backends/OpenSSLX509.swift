import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// X.509 parsing through OpenSSL.
enum OpenSSLX509 {
    struct Parsed {
        var commonName: String?
        var notBefore: Int64
        var notAfter: Int64
        var isCA: Bool
        var signedWithSHA1: Bool
        var spki: [UInt8]
    }

    static func parse(_ der: [UInt8]) throws(CryptoError) -> Parsed {
        ERR_clear_error()
        let cert: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let c = d2i_X509(nil, &p, buf.count)
            if c != nil, p != base + buf.count { X509_free(c); return nil }
            return c
        }
        guard let cert else { throw CryptoError.invalidKey("not a DER X.509 certificate (\(drainOpenSSLErrors()))") }
        defer { X509_free(cert) }
        var cn: String?
        if let name = X509_get_subject_name(cert) {
            let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
            if index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) {
                var utf8: UnsafeMutablePointer<UInt8>? = nil
                let n = ASN1_STRING_to_UTF8(&utf8, data)
                if n >= 0, let utf8 {
                    cn = String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self)
                    signet_openssl_free(utf8)
                }
            }
        }
        guard let before = X509_get0_notBefore(cert), let after = X509_get0_notAfter(cert) else {
            throw CryptoError.invalidKey("certificate without validity")
        }
        let sigNID = X509_get_signature_nid(cert)
        let sha1 = [NID_sha1WithRSAEncryption, NID_ecdsa_with_SHA1, NID_dsaWithSHA1, NID_sha1WithRSA].contains(sigNID)
        guard let pkey = X509_get0_pubkey(cert) else { throw CryptoError.invalidKey("certificate without a usable public key (\(drainOpenSSLErrors()))") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let len = i2d_PUBKEY(pkey, &out)
        guard len > 0, let out else { throw openSSLError("encoding a certificate's public key") }
        let spki = Array(UnsafeBufferPointer(start: out, count: Int(len)))
        signet_openssl_free(out)
        return Parsed(commonName: cn, notBefore: try seconds(before), notAfter: try seconds(after),
                      isCA: (X509_get_extension_flags(cert) & UInt32(EXFLAG_CA)) != 0, signedWithSHA1: sha1, spki: spki)
    }

    static func seconds(_ t: UnsafePointer<ASN1_TIME>) throws(CryptoError) -> Int64 {
        var tm = Glibc.tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { throw openSSLError("reading a certificate time") }
        return Int64(timegm(&tm))
    }
}

extension OpenSSLX509 {
    /// Whether `leaf` chains to one of `roots` (through `intermediates`) with every certificate valid at
    /// `time`, by OpenSSL's standard verification.
    static func verifies(leaf: [UInt8], intermediates: [[UInt8]], roots: [[UInt8]], at time: Int64) -> Bool {
        defer { ERR_clear_error() }
        func load(_ der: [UInt8]) -> OpaquePointer? {
            der.withUnsafeBufferPointer { buf in
                guard let base = buf.baseAddress else { return nil }
                var p: UnsafePointer<UInt8>? = base
                return d2i_X509(nil, &p, buf.count)
            }
        }
        guard let store = X509_STORE_new() else { return false }
        defer { X509_STORE_free(store) }
        for r in roots {
            guard let c = load(r) else { return false }
            let ok = X509_STORE_add_cert(store, c)
            X509_free(c)
            guard ok == 1 else { return false }
        }
        guard let leafCert = load(leaf) else { return false }
        defer { X509_free(leafCert) }
        guard let chain = OPENSSL_sk_new_null() else { return false }
        var loaded: [OpaquePointer] = []
        defer {
            OPENSSL_sk_free(chain)
            for c in loaded { X509_free(c) }
        }
        for i in intermediates {
            guard let c = load(i) else { return false }
            loaded.append(c)
            guard OPENSSL_sk_push(chain, UnsafeRawPointer(c)) > 0 else { return false }
        }
        guard let ctx = X509_STORE_CTX_new() else { return false }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leafCert, chain) == 1 else { return false }
        X509_STORE_CTX_set_time(ctx, 0, time_t(time))
        return X509_verify_cert(ctx) == 1
    }
}
