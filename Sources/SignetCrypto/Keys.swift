/// The key algorithms Signet knows.
public enum KeyAlgorithm: String, Sendable, CaseIterable, CustomStringConvertible {
    case ed25519
    case ecdsaP256 = "ecdsa-p256"
    case ecdsaP384 = "ecdsa-p384"
    case rsa

    public var description: String { rawValue }
}

/// The public half of a key held by another process, and how to ask that process for a signature.
public struct RemoteSigningKey: Sendable {
    /// The key's public half.
    public let publicKey: PublicKey
    let signer: @Sendable ([UInt8]) throws(CryptoError) -> [UInt8]

    /// - Parameter sign: returns the signature of a message (Ed25519: 64 bytes; ECDSA: DER).
    public init(publicKey: PublicKey, sign: @escaping @Sendable ([UInt8]) throws(CryptoError) -> [UInt8]) {
        self.publicKey = publicKey
        signer = sign
    }
}

/// A public key of any supported algorithm.
public enum PublicKey: Sendable {
    case ed25519(Ed25519PublicKey)
    case ecdsa(ECDSAPublicKey)
    case rsa(RSAPublicKey)

    /// The algorithm (for ECDSA including the curve).
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case .ecdsa(let k): return k.curve == .p256 ? .ecdsaP256 : .ecdsaP384
        case .rsa: return .rsa
        }
    }

    /// Reads a DER SubjectPublicKeyInfo of any supported algorithm.
    /// - Throws: `CryptoError.invalidKey` / `.unsupportedKey`.
    public init(spkiDER: [UInt8]) throws(CryptoError) {
        let key = try EVPKey.fromSPKI(spkiDER)
        if OpenSSLSignatures.isEd25519(key) {
            self = .ed25519(try Ed25519PublicKey(rawRepresentation: try key.rawPublicKey()))
        } else if OpenSSLSignatures.isEC(key) {
            self = .ecdsa(try ECDSAPublicKey(key: key))
        } else if OpenSSLSignatures.isRSA(key) {
            self = .rsa(try RSAPublicKey(spkiDER: spkiDER))
        } else {
            throw CryptoError.unsupportedKey("public key algorithm is not Ed25519, ECDSA or RSA")
        }
    }

    /// Reads a PEM `PUBLIC KEY` block.
    /// - Throws: `CryptoError.invalidPEM`, `.invalidKey`, `.unsupportedKey`.
    public init(pem: String) throws(CryptoError) {
        try self.init(spkiDER: try PEMDocument.parse(pem, expecting: ["PUBLIC KEY"]).der)
    }

    /// Bytes that identify the key material whatever its encoding: the algorithm, then the raw Ed25519
    /// key, the uncompressed ECDSA point, or the RSA modulus and exponent. Two spellings of one key
    /// (hex case, PEM line breaks, compressed or uncompressed point, another key type name) give the
    /// same identity.
    /// - Throws: `CryptoError.library` if OpenSSL cannot export the key.
    public func identity() throws(CryptoError) -> [UInt8] {
        switch self {
        case .ed25519(let k): return Array("ed25519:".utf8) + k.rawRepresentation
        case .ecdsa(let k): return Array("ecdsa-\(k.curve.rawValue):".utf8) + (try k.uncompressedPoint())
        case .rsa(let k):
            let (n, e) = try k.components()
            let nLength = [UInt8(truncatingIfNeeded: n.count >> 24), UInt8(truncatingIfNeeded: n.count >> 16),
                           UInt8(truncatingIfNeeded: n.count >> 8), UInt8(truncatingIfNeeded: n.count)]
            return Array("rsa:".utf8) + nLength + n + e
        }
    }

    /// DER SubjectPublicKeyInfo.
    /// - Throws: `CryptoError.library` if OpenSSL cannot encode the key.
    public func spkiDER() throws(CryptoError) -> [UInt8] {
        switch self {
        case .ed25519(let k): return k.spkiDER
        case .ecdsa(let k): return try k.spkiDER()
        case .rsa(let k): return try k.spkiDER()
        }
    }

    /// PEM `PUBLIC KEY` text.
    /// - Throws: `CryptoError.library` if OpenSSL cannot encode the key.
    public func pem() throws(CryptoError) -> String {
        PEMDocument.encode(label: "PUBLIC KEY", der: try spkiDER())
    }
}

/// A private key Signet can sign with.
public enum PrivateKey: Sendable {
    case ed25519(Ed25519PrivateKey)
    case ecdsa(ECDSAPrivateKey)
    /// A key held by another process (the agent): this process only sees its public half.
    case remote(RemoteSigningKey)

    /// Generates a new key.
    /// - Throws: `CryptoError.unsupportedKey` for RSA (Signet only verifies RSA), `.library` on failure.
    public static func generate(_ algorithm: KeyAlgorithm) throws(CryptoError) -> PrivateKey {
        switch algorithm {
        case .ed25519: return .ed25519(try Ed25519PrivateKey())
        case .ecdsaP256: return .ecdsa(try ECDSAPrivateKey(curve: .p256))
        case .ecdsaP384: return .ecdsa(try ECDSAPrivateKey(curve: .p384))
        case .rsa: throw CryptoError.unsupportedKey("Signet verifies RSA-PSS signatures but does not create RSA keys")
        }
    }

    /// The algorithm.
    public var algorithm: KeyAlgorithm { publicKey.algorithm }

    /// The matching public key.
    public var publicKey: PublicKey {
        switch self {
        case .ed25519(let k): return .ed25519(k.publicKey)
        case .ecdsa(let k): return .ecdsa(k.publicKey)
        case .remote(let k): return k.publicKey
        }
    }

    /// Signs `message`. Ed25519 gives 64 bytes; ECDSA gives DER with the curve's hash.
    /// A remote key's signature is checked against its public key before it is returned, so a faulty
    /// or impersonated agent cannot make Signet publish a signature that does not verify.
    /// - Throws: `CryptoError.library` on failure.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        switch self {
        case .ed25519(let k): return try k.signature(for: message)
        case .ecdsa(let k): return try k.signature(for: message).derRepresentation
        case .remote(let k):
            let signature = try k.signer(message)
            let valid: Bool
            switch k.publicKey {
            case .ed25519(let p): valid = p.isValidSignature(signature, for: message)
            case .ecdsa(let p):
                guard let der = try? ECDSASignatureDER(derRepresentation: signature) else { valid = false; break }
                valid = p.isValidSignature(der, for: message)
            case .rsa: valid = false
            }
            guard valid else {
                throw CryptoError.library(operation: "signing through the agent", detail: "the agent returned a signature that does not verify with the key's public half")
            }
            return signature
        }
    }

    /// Unencrypted PKCS#8 DER (the form private keys are exchanged in).
    /// - Throws: `CryptoError.library` on failure.
    public func pkcs8DER() throws(CryptoError) -> SecretBytes {
        switch self {
        case .ed25519(let k):
            // RFC 8410: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
            let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
            let seed = k.seed
            return SecretBytes(count: prefix.count + seed.count) { out in
                out.copyBytes(from: prefix)
                seed.withUnsafeBytes { s in
                    UnsafeMutableRawBufferPointer(rebasing: out[prefix.count...]).copyMemory(from: s)
                }
            }
        case .ecdsa(let k): return try k.pkcs8DER()
        case .remote: throw CryptoError.unsupportedKey("a key held by the agent cannot be exported")
        }
    }

    /// Reads an unencrypted PKCS#8 DER private key (Ed25519 or ECDSA P-256/P-384).
    /// - Throws: `CryptoError.invalidKey` / `.unsupportedKey`.
    public init(pkcs8DER: SecretBytes) throws(CryptoError) {
        let key = try EVPKey.fromPKCS8(pkcs8DER)
        try self.init(evp: key)
    }

    init(evp key: EVPKey) throws(CryptoError) {
        if OpenSSLSignatures.isEd25519(key) {
            self = .ed25519(try Ed25519PrivateKey(seed: try key.rawPrivateKey()))
        } else if OpenSSLSignatures.isEC(key) {
            self = .ecdsa(try ECDSAPrivateKey(key: key))
        } else if OpenSSLSignatures.isRSA(key) {
            throw CryptoError.unsupportedKey("RSA private keys cannot sign in Signet (verification only)")
        } else {
            throw CryptoError.unsupportedKey("private key algorithm is not Ed25519 or ECDSA")
        }
    }

    /// Reads a PEM private key: `PRIVATE KEY` (unencrypted PKCS#8) or `ENCRYPTED PRIVATE KEY` (PKCS#8 with
    /// PBES2, as OpenSSL and the Notary / Docker Content Trust clients write; extra header lines such as
    /// `role:` and `gun:` are ignored), including Notary's own Ed25519 PKCS#8 encoding; and the legacy
    /// types `EC PRIVATE KEY`, `ED25519 PRIVATE KEY` (optionally RFC 1423-encrypted).
    /// - Throws: `CryptoError.invalidPEM`; `.wrongPassphraseOrTampered` when the passphrase is wrong or
    ///   missing for an encrypted key; `.invalidKey` / `.unsupportedKey` (RSA keys cannot sign in Signet).
    public init(pem: String, passphrase: SecretBytes?) throws(CryptoError) {
        let doc = try PEMDocument.parse(pem, expecting: ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "ED25519 PRIVATE KEY", "RSA PRIVATE KEY"])
        let decoded: OpenSSLPrivateKeys.Decoded
        switch doc.label {
        case "PRIVATE KEY":
            decoded = try OpenSSLPrivateKeys.decodePKCS8(doc.body)
        case "ENCRYPTED PRIVATE KEY":
            guard let passphrase else { throw CryptoError.wrongPassphraseOrTampered("the key is encrypted and no passphrase was given") }
            decoded = try OpenSSLPrivateKeys.decryptPKCS8(doc.der, passphrase: passphrase)
        default:
            decoded = try OpenSSLPrivateKeys.decodeLegacy(label: doc.label, headers: doc.headers, body: doc.body, passphrase: passphrase)
        }
        switch decoded {
        case .evp(let key): try self.init(evp: key)
        case .ed25519Seed(let seed): self = .ed25519(try Ed25519PrivateKey(seed: seed))
        }
    }
}
