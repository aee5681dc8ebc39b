/// Salt-length policy for RSA-PSS verification.
public enum RSAPSSSaltLength: Sendable {
    /// Salt length equals the digest length (32 for SHA-256): what TUF and Notary produce.
    case digestLength
    /// Accept any salt length the signature encodes.
    case auto
}

/// An RSA public key of 2048 to 4096 bits, used to verify RSASSA-PSS signatures (interop only).
public struct RSAPublicKey: Sendable {
    let key: EVPKey
    /// Modulus size in bits.
    public let bitCount: Int

    /// Smallest and largest accepted modulus sizes.
    public static let supportedBits = 2048...4096

    /// Reads a DER SubjectPublicKeyInfo.
    /// - Throws: `CryptoError.invalidKey` for bad DER or a non-RSA key; `.unsupportedKey` for sizes outside 2048–4096.
    public init(spkiDER: [UInt8]) throws(CryptoError) {
        let key = try EVPKey.fromSPKI(spkiDER)
        guard OpenSSLSignatures.isRSA(key) else { throw CryptoError.invalidKey("expected an RSA public key") }
        guard RSAPublicKey.supportedBits.contains(key.bits) else {
            throw CryptoError.unsupportedKey("RSA key of \(key.bits) bits (expected 2048 to 4096)")
        }
        self.key = key
        bitCount = key.bits
    }

    /// Reads a PEM `PUBLIC KEY` block.
    /// - Throws: `CryptoError.invalidPEM` or the errors of `init(spkiDER:)`.
    public init(pem: String) throws(CryptoError) {
        try self.init(spkiDER: try PEMDocument.parse(pem, expecting: ["PUBLIC KEY"]).der)
    }

    /// DER SubjectPublicKeyInfo.
    /// - Throws: `CryptoError.library` if OpenSSL cannot encode the key.
    public func spkiDER() throws(CryptoError) -> [UInt8] { try key.spkiDER() }

    /// Modulus and public exponent (unsigned big-endian), which identify the key whatever its encoding.
    /// - Throws: `CryptoError.library` if OpenSSL cannot export them.
    public func components() throws(CryptoError) -> (modulus: [UInt8], exponent: [UInt8]) {
        (try key.bigNumberParameter("n"), try key.bigNumberParameter("e"))
    }

    /// Verifies an RSASSA-PSS signature (MGF1 with the same digest).
    public func isValidPSSSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer,
                                    digest: DigestAlgorithm = .sha256, saltLength: RSAPSSSaltLength = .digestLength) -> Bool {
        OpenSSLSignatures.verify(key: key, digest: digest, signature: signature, message: message,
                                 pss: saltLength == .digestLength ? .digestLength : .auto)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature.
    public func isValidPKCS1v15Signature(_ signature: [UInt8], for message: UnsafeRawBufferPointer, digest: DigestAlgorithm = .sha256) -> Bool {
        OpenSSLSignatures.verify(key: key, digest: digest, signature: signature, message: message, pss: nil)
    }

    /// Convenience over `[UInt8]` messages.
    public func isValidPSSSignature(_ signature: [UInt8], for message: [UInt8],
                                    digest: DigestAlgorithm = .sha256, saltLength: RSAPSSSaltLength = .digestLength) -> Bool {
        message.withUnsafeBytes { isValidPSSSignature(signature, for: $0, digest: digest, saltLength: saltLength) }
    }
}
