/// An Ed25519 public key (RFC 8032), verified with libsodium.
public struct Ed25519PublicKey: Sendable, Hashable {
    /// The 32-byte encoded point.
    public let rawRepresentation: [UInt8]

    /// Wraps a raw 32-byte public key.
    /// - Throws: `CryptoError.invalidKey` when the length is not 32.
    public init(rawRepresentation: [UInt8]) throws(CryptoError) {
        guard rawRepresentation.count == 32 else {
            throw CryptoError.invalidKey("an Ed25519 public key is 32 bytes, got \(rawRepresentation.count)")
        }
        self.rawRepresentation = rawRepresentation
    }

    /// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }.
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// DER SubjectPublicKeyInfo.
    public var spkiDER: [UInt8] { Ed25519PublicKey.spkiPrefix + rawRepresentation }

    /// Checks a 64-byte signature over `message`. Malformed input yields `false`.
    public func isValidSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer) -> Bool {
        Sodium.ed25519Verify(signature: signature, message: message, publicKey: rawRepresentation)
    }

    /// Checks a 64-byte signature over `message`. Malformed input yields `false`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }
}

/// One Ed25519 signature checked over a message that arrives in pieces: the SHA-512 the check needs
/// runs as the pieces are fed, the group equation when `finish` is called. It accepts exactly what
/// `Ed25519PublicKey.isValidSignature` accepts for a message of 128 KiB or more (a subset of what
/// libsodium's one-call verify accepts; see `Sodium.ed25519VerifyLong`).
///
/// Not for concurrent use: one thread at a time feeds it.
public final class Ed25519StreamingCheck {
    private let signature: [UInt8]
    private let publicKey: Ed25519PublicKey
    private let hasher: StreamingDigest
    private var verdict: Bool?

    /// Starts checking `signature` by `publicKey`. Nil when the signature is refused before any
    /// message byte matters (wrong length, S not below the group order) or no SHA-512 is available;
    /// `isValidSignature` refuses such a signature for any message.
    public init?(signature: [UInt8], publicKey: Ed25519PublicKey) {
        guard let hasher = Sodium.ed25519StartHash(signature: signature, publicKey: publicKey.rawRepresentation) else { return nil }
        self.signature = signature
        self.publicKey = publicKey
        self.hasher = hasher
    }

    /// From this message length on, `Ed25519PublicKey.isValidSignature` makes exactly this check (below
    /// it, libsodium's one-call verify, which accepts a few more signatures; see `Sodium.ed25519VerifyLong`).
    public static let sameAsOneCallFrom = Sodium.ed25519LongMessage

    /// Feeds the next piece of the message. Ignored after `finish`.
    public func update(_ piece: UnsafeRawBufferPointer) {
        guard verdict == nil else { return }
        hasher.update(piece)
    }

    /// The number of message bytes fed so far.
    public var messageLength: Int64 { hasher.byteCount - 64 }

    /// Whether the signature is valid over everything fed. The answer is kept: later calls repeat it.
    public func finish() -> Bool {
        if let verdict { return verdict }
        let valid = Sodium.ed25519CheckEquation(signature: signature, publicKey: publicKey.rawRepresentation, hash: hasher.finalize())
        verdict = valid
        return valid
    }
}

/// An Ed25519 private key. The 64-byte libsodium secret key lives in `SecretBytes`.
public struct Ed25519PrivateKey: Sendable {
    private let secretKey: SecretBytes
    /// The matching public key.
    public let publicKey: Ed25519PublicKey

    /// Generates a new key from the operating system's random source.
    /// - Throws: `CryptoError.library` if libsodium cannot be initialised.
    public init() throws(CryptoError) {
        try self.init(seed: try Sodium.randomSecret(Sodium.ed25519SeedBytes))
    }

    /// Derives the key from a 32-byte seed (RFC 8032 private key).
    /// - Throws: `CryptoError.invalidKey` for a seed that is not 32 bytes.
    public init(seed: SecretBytes) throws(CryptoError) {
        let (pk, sk) = try Sodium.ed25519KeyPair(seed: seed)
        secretKey = sk
        publicKey = try Ed25519PublicKey(rawRepresentation: pk)
    }

    /// The 32-byte seed (the RFC 8032 private key).
    public var seed: SecretBytes { secretKey.slice(0..<32) }

    /// Signs `message` (pure Ed25519, 64-byte signature).
    /// - Throws: `CryptoError.library` if libsodium fails.
    public func signature(for message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        try Sodium.ed25519Sign(message, secretKey: secretKey)
    }

    /// Signs `message` (pure Ed25519, 64-byte signature).
    /// - Throws: `CryptoError.library` if libsodium fails.
    public func signature(for message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try withBytes(message) { (m) throws(CryptoError) -> [UInt8] in try signature(for: m) }
    }
}
