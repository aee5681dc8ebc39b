import SignetCrypto
import SignetJSON

/// A TUF key object: `keytype`, `scheme`, `keyval` (TUF 1.0.34 §4.2 "Key objects").
///
/// Keys of an unknown type or scheme, or whose public value cannot be read, are kept (so the metadata
/// can be re-signed unchanged) but can never verify a signature, so they never count toward a threshold.
public struct Key: Sendable {
    /// `keytype`, e.g. `ed25519`, `ecdsa`, `ecdsa-sha2-nistp256`, `rsa`.
    public var keyType: String
    /// `scheme`, e.g. `ed25519`, `ecdsa-sha2-nistp256`, `ecdsa-sha2-nistp384`, `rsassa-pss-sha256`.
    public var scheme: String
    /// `keyval`, normally `{"public": …}`.
    public var keyval: JSONObject
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject
    /// The parsed verifier, or nil for unsupported or unreadable keys.
    let verifier: Verifier?
    /// Bytes that identify the key material (see `PublicKey.identity()`), so that one key counts once
    /// toward a threshold however it is spelled; for keys this client cannot read, the canonical JSON of
    /// the key object (they never count anyway).
    public let identity: [UInt8]

    enum Verifier: Sendable {
        case ed25519(Ed25519PublicKey)
        case ecdsa(ECDSAPublicKey)
        case rsaPSS(RSAPublicKey)
        /// Notary v1 keys: signatures are base64 and name their method (`ecdsa`: raw r‖s over SHA-256;
        /// `rsapss` / `rsapkcs1v15` / `pycrypto-pkcs#1 pss` over SHA-256; `eddsa`).
        case notary(PublicKey, pemRSA: Bool)

        var publicKey: PublicKey {
            switch self {
            case .ed25519(let k): return .ed25519(k)
            case .ecdsa(let k): return .ecdsa(k)
            case .rsaPSS(let k): return .rsa(k)
            case .notary(let k, _): return k
            }
        }
    }

    /// Builds a key from its parts.
    public init(keyType: String, scheme: String, keyval: JSONObject, unknown: JSONObject = JSONObject()) {
        self.keyType = keyType
        self.scheme = scheme
        self.keyval = keyval
        self.unknown = unknown
        let verifier = Key.makeVerifier(keyType: keyType, scheme: scheme, keyval: keyval)
        self.verifier = verifier
        if let material = verifier?.publicKey, let id = try? material.identity() {
            identity = id
        } else {
            let object = (try? JSONObject([("keytype", .string(keyType)), ("scheme", .string(scheme)), ("keyval", .object(keyval))])) ?? JSONObject()
            identity = Array("unsupported:".utf8) + ((try? CanonicalJSON.encode(.object(object))) ?? [])
        }
    }

    /// A Notary v1 key object (`{"keytype":T,"keyval":{"private":null,"public":B64}}`) whose public key
    /// was decoded by the Notary codec (for x509 key types, from the certificate). Its signatures are
    /// base64 and verified by their `method`.
    init(notaryKeyType keyType: String, publicValue: String, publicKey: PublicKey?, pemRSA: Bool = false) {
        self.keyType = keyType
        scheme = ""
        var keyval = JSONObject()
        keyval["private"] = .null
        keyval["public"] = .string(publicValue)
        self.keyval = keyval
        unknown = JSONObject()
        verifier = publicKey.map { .notary($0, pemRSA: pemRSA) }
        if let material = publicKey, let id = try? material.identity() {
            identity = id
        } else {
            identity = Array("unsupported:notary:\(keyType):\(publicValue)".utf8)
        }
    }

    /// Whether signatures by this key are Notary v1 signatures (base64, with a method).
    var isNotary: Bool { if case .notary = verifier { return true } else { return false } }

    /// The public key this key object describes, when this client can read it.
    public var publicKey: PublicKey? { verifier?.publicKey }

    /// Whether two key objects describe the same key material.
    public func sameKey(as other: Key) -> Bool { identity == other.identity }

    /// The TUF key object for a Signet public key (ed25519 hex, ECDSA and RSA as PEM).
    /// - Throws: `CryptoError` if the key cannot be encoded.
    public init(publicKey: PublicKey) throws {
        switch publicKey {
        case .ed25519(let k):
            self.init(keyType: "ed25519", scheme: "ed25519", keyval: try JSONObject([("public", .string(Hex.encode(k.rawRepresentation)))]))
        case .ecdsa(let k):
            let scheme = k.curve == .p256 ? "ecdsa-sha2-nistp256" : "ecdsa-sha2-nistp384"
            self.init(keyType: "ecdsa", scheme: scheme, keyval: try JSONObject([("public", .string(try publicKey.pem()))]))
        case .rsa:
            self.init(keyType: "rsa", scheme: "rsassa-pss-sha256", keyval: try JSONObject([("public", .string(try publicKey.pem()))]))
        }
    }

    init(json: JSONValue, file: String, context: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: context)
        let keyType = try f.string("keytype")
        let scheme = try f.string("scheme")
        let keyval = try f.objectField("keyval")
        self.init(keyType: keyType, scheme: scheme, keyval: keyval, unknown: f.unknown())
    }

    /// Whether this client can verify signatures made with this key.
    public var isSupported: Bool { verifier != nil }

    /// The key object as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["keytype"] = .string(keyType)
        o["scheme"] = .string(scheme)
        o["keyval"] = .object(keyval)
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// The key ID: lowercase hex SHA-256 of the canonical JSON of the key object.
    /// - Throws: `JSONError` if the key object holds a float, `CryptoError` if hashing fails.
    public func keyID() throws -> String {
        try SHA256.hash(try CanonicalJSON.encode(json)).hex
    }

    /// Verifies `signature` over `message`. Unsupported keys and malformed signatures give `false`.
    /// Verifies one entry of a signature list: TUF signatures are hex; Notary v1 signatures are base64
    /// and verified according to their `method`.
    func verify(_ entry: Signature, message: UnsafeRawBufferPointer) -> Bool {
        guard case .notary(let key, let pemRSA) = verifier else {
            guard let raw = Hex.decode(entry.sig) else { return false }
            return verify(signature: raw, message: message)
        }
        guard let raw = Base64.decode(entry.sig) else { return false }
        let method = (entry.unknown["method"]?.stringValue ?? "").lowercased()
        switch (key, method) {
        case (.ecdsa(let k), "ecdsa"):
            guard let sig = try? ECDSASignatureRaw(rawRepresentation: raw, curve: k.curve) else { return false }
            return k.isValidSignature(sig, for: message, digest: .sha256)
        case (.rsa(let k), "rsapss"):
            return !pemRSA && k.isValidPSSSignature(raw, for: message, digest: .sha256, saltLength: .digestLength)
        case (.rsa(let k), "pycrypto-pkcs#1 pss"):
            return pemRSA && k.isValidPSSSignature(raw, for: message, digest: .sha256, saltLength: .digestLength)
        case (.rsa(let k), "rsapkcs1v15"):
            return !pemRSA && k.isValidPKCS1v15Signature(raw, for: message, digest: .sha256)
        case (.ed25519(let k), "eddsa"):
            return raw.count == 64 && k.isValidSignature(raw, for: message)
        default:
            return false
        }
    }

    func verify(signature: [UInt8], message: UnsafeRawBufferPointer) -> Bool {
        switch verifier {
        case .none: return false
        case .ed25519(let k): return k.isValidSignature(signature, for: message)
        case .ecdsa(let k):
            guard let der = try? ECDSASignatureDER(derRepresentation: signature) else { return false }
            return k.isValidSignature(der, for: message)
        case .rsaPSS(let k):
            return k.isValidPSSSignature(signature, for: message, digest: .sha256, saltLength: .auto)
        case .notary:
            return false   // Notary signatures go through `verify(_:message:)`, which knows their method
        }
    }

    static func makeVerifier(keyType: String, scheme: String, keyval: JSONObject) -> Verifier? {
        guard case .string(let pub) = keyval["public"] else { return nil }
        switch (keyType, scheme) {
        case ("ed25519", "ed25519"):
            guard pub.utf8.count == 64, let raw = Hex.decode(pub), let k = try? Ed25519PublicKey(rawRepresentation: raw) else { return nil }
            return .ed25519(k)
        case ("ecdsa", "ecdsa-sha2-nistp256"), ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"):
            guard let k = try? ECDSAPublicKey(pem: pub), k.curve == .p256 else { return nil }
            return .ecdsa(k)
        case ("ecdsa", "ecdsa-sha2-nistp384"), ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"):
            guard let k = try? ECDSAPublicKey(pem: pub), k.curve == .p384 else { return nil }
            return .ecdsa(k)
        case ("rsa", "rsassa-pss-sha256"):
            guard let k = try? RSAPublicKey(pem: pub) else { return nil }
            return .rsaPSS(k)
        default:
            return nil
        }
    }
}

/// One entry of a metadata file's `signatures` list.
public struct Signature: Sendable {
    /// The signing key's ID.
    public var keyID: String
    /// Hex signature bytes as written.
    public var sig: String
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a signature entry.
    public init(keyID: String, sig: String, unknown: JSONObject = JSONObject()) {
        self.keyID = keyID
        self.sig = sig
        self.unknown = unknown
    }

    init(json: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: "signature")
        keyID = try f.string("keyid")
        sig = try f.string("sig")
        unknown = f.unknown()
    }

    /// The entry as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["keyid"] = .string(keyID)
        o["sig"] = .string(sig)
        o.merge(unknown: unknown)
        return .object(o)
    }
}
