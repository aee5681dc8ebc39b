/// The NIST curves Signet signs and verifies with.
public enum ECDSACurve: String, Sendable, CaseIterable, CustomStringConvertible {
    case p256 = "P-256"
    case p384 = "P-384"

    /// The hash that goes with the curve: SHA-256 for P-256, SHA-384 for P-384.
    public var digest: DigestAlgorithm { self == .p256 ? .sha256 : .sha384 }
    /// Length of one of r or s in bytes.
    public var componentLength: Int { self == .p256 ? 32 : 48 }
    public var description: String { rawValue }

    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "secp384r1", "P-384": self = .p384
        default: return nil
        }
    }
}

/// An ECDSA signature in ASN.1 DER (`SEQUENCE { r INTEGER, s INTEGER }`), as TUF producers emit.
public struct ECDSASignatureDER: Sendable, Hashable {
    /// The DER bytes.
    public let derRepresentation: [UInt8]

    /// Parses a DER signature, rejecting BER variants and trailing bytes.
    /// - Throws: `CryptoError.invalidSignatureEncoding`.
    public init(derRepresentation: [UInt8]) throws(CryptoError) {
        guard derRepresentation.count <= 256 else { throw CryptoError.invalidSignatureEncoding("DER ECDSA signature of \(derRepresentation.count) bytes is too long") }
        _ = try OpenSSLSignatures.ecdsaDERToRaw(derRepresentation, componentLength: 66)
        self.derRepresentation = derRepresentation
    }

    init(trusted bytes: [UInt8]) { derRepresentation = bytes }

    /// The same signature as fixed-width r‖s for `curve`.
    /// - Throws: `CryptoError.invalidSignatureEncoding` if r or s do not fit the curve.
    public func raw(for curve: ECDSACurve) throws(CryptoError) -> ECDSASignatureRaw {
        ECDSASignatureRaw(trusted: try OpenSSLSignatures.ecdsaDERToRaw(derRepresentation, componentLength: curve.componentLength), curve: curve)
    }
}

/// An ECDSA signature as fixed-width r‖s (IEEE P1363), as Notary v1 emits.
public struct ECDSASignatureRaw: Sendable, Hashable {
    /// r‖s, each half left-padded to the curve size.
    public let rawRepresentation: [UInt8]
    /// The curve the width belongs to.
    public let curve: ECDSACurve

    /// Wraps r‖s for `curve`.
    /// - Throws: `CryptoError.invalidSignatureEncoding` when the length is not twice the curve size.
    public init(rawRepresentation: [UInt8], curve: ECDSACurve) throws(CryptoError) {
        guard rawRepresentation.count == 2 * curve.componentLength else {
            throw CryptoError.invalidSignatureEncoding("a raw \(curve) signature is \(2 * curve.componentLength) bytes, got \(rawRepresentation.count)")
        }
        self.rawRepresentation = rawRepresentation
        self.curve = curve
    }

    init(trusted bytes: [UInt8], curve: ECDSACurve) {
        rawRepresentation = bytes
        self.curve = curve
    }

    /// The same signature in DER.
    /// - Throws: `CryptoError.library` if OpenSSL cannot encode it.
    public func der() throws(CryptoError) -> ECDSASignatureDER {
        ECDSASignatureDER(trusted: try OpenSSLSignatures.ecdsaRawToDER(rawRepresentation))
    }
}

/// An ECDSA public key on P-256 or P-384.
public struct ECDSAPublicKey: Sendable {
    let key: EVPKey
    /// The key's curve.
    public let curve: ECDSACurve

    /// Reads a DER SubjectPublicKeyInfo.
    /// - Throws: `CryptoError.invalidKey` for bad DER or a non-EC key; `.unsupportedKey` for other curves.
    public init(spkiDER: [UInt8]) throws(CryptoError) {
        let key = try EVPKey.fromSPKI(spkiDER)
        try self.init(key: key)
    }

    init(key: EVPKey) throws(CryptoError) {
        guard OpenSSLSignatures.isEC(key) else { throw CryptoError.invalidKey("expected an EC public key") }
        guard let name = key.ecCurveName(), let curve = ECDSACurve(openSSLGroupName: name) else {
            throw CryptoError.unsupportedKey("EC curve \(key.ecCurveName() ?? "unknown") (expected P-256 or P-384)")
        }
        self.key = key
        self.curve = curve
    }

    /// Reads a PEM `PUBLIC KEY` block.
    /// - Throws: `CryptoError.invalidPEM` or the errors of `init(spkiDER:)`.
    public init(pem: String) throws(CryptoError) {
        try self.init(spkiDER: try PEMDocument.parse(pem, expecting: ["PUBLIC KEY"]).der)
    }

    /// DER SubjectPublicKeyInfo (in the point format the key was read in: compressed points stay compressed).
    /// - Throws: `CryptoError.library` if OpenSSL cannot encode the key.
    public func spkiDER() throws(CryptoError) -> [UInt8] { try key.spkiDER() }

    /// The public point in uncompressed form (`04 || X || Y`), whatever form it was read in: the same key
    /// always gives the same bytes.
    /// - Throws: `CryptoError.library` if OpenSSL cannot export the point.
    public func uncompressedPoint() throws(CryptoError) -> [UInt8] {
        let x = try key.bigNumberParameter("qx", width: curve.componentLength)
        let y = try key.bigNumberParameter("qy", width: curve.componentLength)
        return [0x04] + x + y
    }

    /// Verifies a raw r‖s signature over `message` hashed with `digest` (Notary v1 uses SHA-256 whatever
    /// the curve). The signature must have exactly the curve's width.
    public func isValidSignature(_ signature: ECDSASignatureRaw, for message: UnsafeRawBufferPointer, digest: DigestAlgorithm) -> Bool {
        guard signature.curve == curve, let der = try? signature.der() else { return false }
        return isValidSignature(der, for: message, digest: digest)
    }

    /// Verifies a DER signature over `message`, hashing with the curve's digest.
    public func isValidSignature(_ signature: ECDSASignatureDER, for message: UnsafeRawBufferPointer) -> Bool {
        OpenSSLSignatures.verify(key: key, digest: curve.digest, signature: signature.derRepresentation, message: message)
    }

    /// Verifies a DER signature over `message` with an explicit digest (Notary v1 signs P-384 keys with SHA-256).
    public func isValidSignature(_ signature: ECDSASignatureDER, for message: UnsafeRawBufferPointer, digest: DigestAlgorithm) -> Bool {
        OpenSSLSignatures.verify(key: key, digest: digest, signature: signature.derRepresentation, message: message)
    }

    /// Verifies a raw r‖s signature over `message`. A signature for another curve's width is `false`.
    public func isValidSignature(_ signature: ECDSASignatureRaw, for message: UnsafeRawBufferPointer) -> Bool {
        guard signature.curve == curve, let der = try? signature.der() else { return false }
        return isValidSignature(der, for: message)
    }

    /// Convenience over `[UInt8]` messages.
    public func isValidSignature(_ signature: ECDSASignatureDER, for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    /// Convenience over `[UInt8]` messages.
    public func isValidSignature(_ signature: ECDSASignatureRaw, for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }
}

/// An ECDSA private key on P-256 or P-384, held by OpenSSL (freed and cleansed by OpenSSL on release).
public struct ECDSAPrivateKey: Sendable {
    let key: EVPKey
    /// The key's curve.
    public let curve: ECDSACurve
    /// The matching public key.
    public let publicKey: ECDSAPublicKey

    /// Generates a new key.
    /// - Throws: `CryptoError.library` if OpenSSL fails.
    public init(curve: ECDSACurve) throws(CryptoError) {
        let key = try OpenSSLSignatures.generateEC(curve: curve)
        try self.init(key: key)
    }

    init(key: EVPKey) throws(CryptoError) {
        guard OpenSSLSignatures.isEC(key) else { throw CryptoError.invalidKey("expected an EC private key") }
        let pub = try ECDSAPublicKey(key: try EVPKey.fromSPKI(try key.spkiDER()))
        self.key = key
        self.curve = pub.curve
        self.publicKey = pub
    }

    /// Reads an unencrypted PKCS#8 DER private key.
    /// - Throws: `CryptoError.invalidKey` / `.unsupportedKey`.
    public init(pkcs8DER: SecretBytes) throws(CryptoError) {
        try self.init(key: try EVPKey.fromPKCS8(pkcs8DER))
    }

    /// Unencrypted PKCS#8 DER of the key.
    /// - Throws: `CryptoError.library` if OpenSSL fails.
    public func pkcs8DER() throws(CryptoError) -> SecretBytes { try key.pkcs8DER() }

    /// Signs `message`, hashing with the curve's digest; returns DER.
    /// - Throws: `CryptoError.library` if OpenSSL fails.
    public func signature(for message: UnsafeRawBufferPointer) throws(CryptoError) -> ECDSASignatureDER {
        ECDSASignatureDER(trusted: try OpenSSLSignatures.sign(key: key, digest: curve.digest, message: message))
    }

    /// Signs `message`; returns DER.
    /// - Throws: `CryptoError.library` if OpenSSL fails.
    public func signature(for message: [UInt8]) throws(CryptoError) -> ECDSASignatureDER {
        try withBytes(message) { (m) throws(CryptoError) -> ECDSASignatureDER in try signature(for: m) }
    }
}
