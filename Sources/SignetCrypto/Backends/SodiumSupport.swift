import CSodium
import SignetPlatform

/// libsodium must be initialised once before use; `sodium_init` is itself thread-safe and idempotent.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    static func ensureReady() throws(CryptoError) {
        guard ready else { throw CryptoError.library(operation: "initialising libsodium", detail: "sodium_init failed") }
    }

    static func zero(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        sodium_memzero(base, buffer.count)
    }

    static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        try ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buf in
            if let base = buf.baseAddress { randombytes_buf(base, buf.count) }
        }
        return out
    }

    static func randomSecret(_ count: Int) throws(CryptoError) -> SecretBytes {
        try ensureReady()
        return SecretBytes(count: count) { buf in
            if let base = buf.baseAddress { randombytes_buf(base, buf.count) }
        }
    }

    // MARK: Ed25519

    static let ed25519PublicKeyBytes = Int(signet_sodium_ed25519_publickeybytes())
    static let ed25519SecretKeyBytes = Int(signet_sodium_ed25519_secretkeybytes())
    static let ed25519SeedBytes = Int(signet_sodium_ed25519_seedbytes())
    static let ed25519SignatureBytes = Int(signet_sodium_ed25519_bytes())

    /// Derives a key pair from a 32-byte seed; returns (public key, 64-byte secret key).
    static func ed25519KeyPair(seed: SecretBytes) throws(CryptoError) -> ([UInt8], SecretBytes) {
        try ensureReady()
        guard seed.count == ed25519SeedBytes else {
            throw CryptoError.invalidKey("an Ed25519 seed is \(ed25519SeedBytes) bytes, got \(seed.count)")
        }
        var pk = [UInt8](repeating: 0, count: ed25519PublicKeyBytes)
        var rc: Int32 = -1
        let sk = SecretBytes(count: ed25519SecretKeyBytes) { (skPtr: UnsafeMutablePointer<UInt8>) in
            seed.withPointer { seedPtr, _ in
                rc = crypto_sign_seed_keypair(&pk, skPtr, seedPtr)
            }
        }
        guard rc == 0 else { throw CryptoError.library(operation: "deriving an Ed25519 key pair", detail: "crypto_sign_seed_keypair returned \(rc)") }
        return (pk, sk)
    }

    static func ed25519Sign(_ message: UnsafeRawBufferPointer, secretKey: SecretBytes) throws(CryptoError) -> [UInt8] {
        try ensureReady()
        var sig = [UInt8](repeating: 0, count: ed25519SignatureBytes)
        var rc: Int32 = -1
        var dummy: UInt8 = 0
        withUnsafePointer(to: &dummy) { fallback in
            let m = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            secretKey.withPointer { sk, _ in
                rc = crypto_sign_detached(&sig, nil, m, UInt64(message.count), sk)
            }
        }
        guard rc == 0 else { throw CryptoError.library(operation: "Ed25519 signing", detail: "crypto_sign_detached returned \(rc)") }
        return sig
    }

    /// Messages from this length on are checked by `ed25519VerifyLong`. Below it libsodium's own verify
    /// is faster: the other path's separate scalar multiplications (one fixed-base, one variable-base
    /// with its subgroup check) cost about 0.1 ms more, which its faster hash pays back somewhere
    /// between 64 and 128 KiB (measured over 256 B to 1 MiB with both in one C loop).
    static let ed25519LongMessage = 1 << 17

    /// L, the order of Ed25519's prime-order subgroup (RFC 8032 §5.1), little-endian.
    static let ed25519Order: [UInt8] = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]

    /// The encoding of the identity point.
    static let ed25519Identity: [UInt8] = [1] + [UInt8](repeating: 0, count: 31)

    /// Whether the 32 little-endian bytes are a scalar below L.
    static func isReducedScalar(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count == 32 else { return false }
        for i in stride(from: 31, through: 0, by: -1) {
            let a = s[s.startIndex + i], b = ed25519Order[i]
            if a != b { return a < b }
        }
        return false
    }

    /// RFC 8032 §5.1.7 verification of a long message: libsodium's group operations, with the hash
    /// k = SHA-512(R ‖ A ‖ M) computed by OpenSSL. libsodium's one-call verify hashes with its portable
    /// SHA-512, about half of OpenSSL's speed here: 68 against 29 ms over a 17 MB message.
    ///
    /// Accepts exactly when S < L (and S ≠ 0), A is a canonical encoding of a point of the prime-order
    /// subgroup that is not of small order (`crypto_scalarmult_ed25519_noclamp` refuses any other), and
    /// [S]B − [k]A is not the identity and encodes to R byte for byte. Everything it accepts,
    /// `crypto_sign_verify_detached` accepts too: S is canonical; R, equal to a canonical encoding of a
    /// point of the prime-order subgroup other than the identity, is not of small order; A is canonical
    /// and not of small order; and the equation is the same cofactorless one. It refuses a few
    /// signatures libsodium takes, none of which an honest signer makes: keys or R with a small-order
    /// component, S = 0. Tests run every Wycheproof case and random signatures through both.
    static func ed25519VerifyLong(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: [UInt8]) -> Bool {
        guard let hasher = ed25519StartHash(signature: signature, publicKey: publicKey) else { return false }
        hasher.update(message)
        return ed25519CheckEquation(signature: signature, publicKey: publicKey, hash: hasher.finalize())
    }

    /// The first half of `ed25519VerifyLong`: checks the lengths and that S < L, and returns an OpenSSL
    /// SHA-512 hasher already fed R ‖ A, to be fed the message. Nil when the signature is refused early.
    static func ed25519StartHash(signature: [UInt8], publicKey: [UInt8]) -> StreamingDigest? {
        guard ready, signature.count == ed25519SignatureBytes, publicKey.count == ed25519PublicKeyBytes,
              isReducedScalar(signature[32..<64]), let hasher = try? StreamingDigest(.sha512) else { return nil }
        hasher.update(Array(signature[0..<32]))
        hasher.update(publicKey)
        return hasher
    }

    /// The second half of `ed25519VerifyLong`: the group equation, given k's SHA-512 over R ‖ A ‖ M.
    static func ed25519CheckEquation(signature: [UInt8], publicKey: [UInt8], hash: Digest) -> Bool {
        guard ready, signature.count == ed25519SignatureBytes, publicKey.count == ed25519PublicKeyBytes,
              hash.algorithm == .sha512, isReducedScalar(signature[32..<64]) else { return false }
        let r = Array(signature[0..<32]), s = Array(signature[32..<64])
        var k = [UInt8](repeating: 0, count: 32), sB = [UInt8](repeating: 0, count: 32)
        var kA = [UInt8](repeating: 0, count: 32), check = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&k, hash.bytes)
        // Each call refuses a zero scalar or an identity result; the second also any A that is not a
        // canonical point of the prime-order subgroup other than the identity.
        guard crypto_scalarmult_ed25519_base_noclamp(&sB, s) == 0,
              crypto_scalarmult_ed25519_noclamp(&kA, k, publicKey) == 0,
              crypto_core_ed25519_sub(&check, sB, kA) == 0,
              sodium_memcmp(check, ed25519Identity, 32) != 0 else { return false }
        return sodium_memcmp(check, r, 32) == 0
    }

    static func ed25519Verify(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: [UInt8]) -> Bool {
        guard ready, signature.count == ed25519SignatureBytes, publicKey.count == ed25519PublicKeyBytes else { return false }
        if message.count >= ed25519LongMessage { return ed25519VerifyLong(signature: signature, message: message, publicKey: publicKey) }
        // An empty message may have no base address; libsodium accepts any pointer with length 0.
        var dummy: UInt8 = 0
        return withUnsafePointer(to: &dummy) { fallback in
            let m = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            return crypto_sign_verify_detached(signature, m, UInt64(message.count), publicKey) == 0
        }
    }

    // MARK: SHA-2 for short inputs

    /// Inputs shorter than this may be hashed with libsodium's SHA-256/SHA-512 rather than OpenSSL's. The
    /// first OpenSSL digest in a process costs about 1.3 ms (the default provider's algorithm tables are
    /// built then), while libsodium's portable code hashes 64 KiB in about 0.28 ms with nothing to set
    /// up: for a command that hashes only a few metadata files and a manifest (a warm `verify`, whose
    /// largest file at 10 000 tags is a 28 KB hash bin), that is most of the hashing cost. Longer inputs
    /// go to OpenSSL's faster code (about 6× here).
    static let shortDigestLimit = 64 * 1024

    /// libsodium hashes at most this many bytes in all in one process; from then on, and as soon as
    /// OpenSSL's digests are set up anyway, OpenSSL hashes everything. 256 KiB in libsodium costs about
    /// what OpenSSL's set-up does, so a process that hashes a lot pays at most about twice the better
    /// choice, and one that hashes little never pays the set-up.
    static let shortDigestBudget = 256 * 1024

    private static let shortDigestLock = Lock()
    nonisolated(unsafe) private static var shortDigestSpent = 0

    /// Takes `count` bytes from the budget; false when they do not fit (then OpenSSL hashes them).
    private static func takeShortDigestBudget(_ count: Int) -> Bool {
        shortDigestLock.withLock {
            guard shortDigestSpent + count <= shortDigestBudget else { return false }
            shortDigestSpent += count
            return true
        }
    }

    /// Called when OpenSSL's digests are set up: libsodium's budget is spent, OpenSSL is now the cheaper.
    static func openSSLDigestsReady() {
        shortDigestLock.withLock { shortDigestSpent = shortDigestBudget }
    }

    /// Restores the whole budget (tests).
    static func resetShortDigestBudget() {
        shortDigestLock.withLock { shortDigestSpent = 0 }
    }

    /// SHA-256 (32 bytes) or SHA-512 (64 bytes) of `bytes` with libsodium; nil for another algorithm,
    /// a longer input, once the budget is spent or OpenSSL's digests are set up, or when libsodium
    /// could not be initialised.
    static func shortDigest(_ algorithm: DigestAlgorithm, _ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard ready, algorithm != .sha384, bytes.count < shortDigestLimit, takeShortDigestBudget(bytes.count) else { return nil }
        var dummy: UInt8 = 0
        return withUnsafePointer(to: &dummy) { fallback in
            let m = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            switch algorithm {
            case .sha256:
                var out = [UInt8](repeating: 0, count: 32)
                return crypto_hash_sha256(&out, m, UInt64(bytes.count)) == 0 ? out : nil
            case .sha512:
                var out = [UInt8](repeating: 0, count: 64)
                return crypto_hash_sha512(&out, m, UInt64(bytes.count)) == 0 ? out : nil
            case .sha384:
                return nil
            }
        }
    }

    // MARK: Argon2id

    static let pwhashSaltBytes = Int(signet_sodium_pwhash_saltbytes())
    static let opsLimitModerate = UInt64(signet_sodium_pwhash_opslimit_moderate())
    static let memLimitModerate = UInt64(signet_sodium_pwhash_memlimit_moderate())
    static let opsLimitMin = UInt64(signet_sodium_pwhash_opslimit_min())
    static let memLimitMin = UInt64(signet_sodium_pwhash_memlimit_min())

    static func argon2id(passphrase: SecretBytes, salt: [UInt8], opsLimit: UInt64, memLimit: UInt64, outputLength: Int) throws(CryptoError) -> SecretBytes {
        try ensureReady()
        guard salt.count == pwhashSaltBytes else { throw CryptoError.corruptKeyFile("Argon2id salt must be \(pwhashSaltBytes) bytes, got \(salt.count)") }
        var rc: Int32 = -1
        let key = SecretBytes(count: outputLength) { (out: UnsafeMutablePointer<UInt8>) in
            passphrase.withPointer { pw, pwCount in
                pw.withMemoryRebound(to: CChar.self, capacity: max(pwCount, 1)) { pwChars in
                    rc = crypto_pwhash(out, UInt64(outputLength), pwChars, UInt64(pwCount), salt,
                                       opsLimit, Int(memLimit), signet_sodium_pwhash_alg_argon2id13())
                }
            }
        }
        guard rc == 0 else { throw CryptoError.library(operation: "Argon2id key derivation", detail: "crypto_pwhash failed (out of memory?)") }
        return key
    }

    // MARK: XChaCha20-Poly1305

    static let xchachaKeyBytes = Int(signet_sodium_xchacha_keybytes())
    static let xchachaNonceBytes = Int(signet_sodium_xchacha_npubbytes())
    static let xchachaTagBytes = Int(signet_sodium_xchacha_abytes())

    static func xchachaSeal(plaintext: SecretBytes, associatedData: [UInt8], nonce: [UInt8], key: SecretBytes) throws(CryptoError) -> [UInt8] {
        try ensureReady()
        guard key.count == xchachaKeyBytes, nonce.count == xchachaNonceBytes else {
            throw CryptoError.library(operation: "XChaCha20-Poly1305 encryption", detail: "bad key or nonce length")
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + xchachaTagBytes)
        var outLen: UInt64 = 0
        var rc: Int32 = -1
        plaintext.withPointer { pt, ptCount in
            key.withPointer { k, _ in
                rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &out, &outLen, pt, UInt64(ptCount),
                    associatedData, UInt64(associatedData.count), nil, nonce, k)
            }
        }
        guard rc == 0 else { throw CryptoError.library(operation: "XChaCha20-Poly1305 encryption", detail: "returned \(rc)") }
        return Array(out.prefix(Int(outLen)))
    }

    /// Returns nil when authentication fails.
    static func xchachaOpen(ciphertext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecretBytes) throws(CryptoError) -> SecretBytes? {
        try ensureReady()
        guard key.count == xchachaKeyBytes else {
            throw CryptoError.library(operation: "XChaCha20-Poly1305 decryption", detail: "key must be \(xchachaKeyBytes) bytes")
        }
        guard nonce.count == xchachaNonceBytes else {
            throw CryptoError.invalidKey("XChaCha20-Poly1305 nonce must be \(xchachaNonceBytes) bytes, got \(nonce.count)")
        }
        guard ciphertext.count >= xchachaTagBytes else { return nil }
        var rc: Int32 = -1
        var plainLen: UInt64 = 0
        let plain = SecretBytes(count: ciphertext.count - xchachaTagBytes) { (out: UnsafeMutablePointer<UInt8>) in
            key.withPointer { k, _ in
                rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out, &plainLen, nil,
                    ciphertext, UInt64(ciphertext.count), associatedData, UInt64(associatedData.count),
                    nonce, k)
            }
        }
        guard rc == 0 else { return nil }
        return plain
    }
}
