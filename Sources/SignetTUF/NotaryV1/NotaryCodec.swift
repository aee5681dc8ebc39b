import SignetCrypto
import SignetJSON

/// The Notary v1 / Docker Content Trust dialect of TUF (notary 0.7), as observed on a real server and
/// read in notary's source. Only this folder knows it; it produces `Key`s for the one threshold
/// function and small typed roles for `NotaryTrustedSet`.
///
/// Differences from TUF 1.0 it handles: `_type` capitalised (`Root`, `Targets`, `Snapshot`,
/// `Timestamp`), no `spec_version`; key objects `{"keytype","keyval":{"private":null,"public":B64}}`
/// with no scheme, key IDs over that canonical form; key types `ecdsa`, `ecdsa-x509`, `ed25519`, `rsa`,
/// `rsa-x509` (x509: PEM certificates in base64); signatures base64 with a `method`; hashes base64;
/// snapshot `meta` keyed by role name (root included, no versions); timestamp `meta.snapshot`; dates in
/// RFC 3339 with up to nine fractional digits and any offset; delegations named `targets/…` with path
/// prefixes.
public enum NotaryCodec {
    /// Byte limit for any metadata file (notary's own cap is 100 MiB; no real file comes near 16 MiB).
    public static let maxFileBytes = 16 << 20

    /// Reads a Notary date: `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `±HH:MM`.
    /// - Returns: whole seconds since the epoch (the fraction truncated) and whether a fraction was
    ///   present; nil when malformed.
    public static func parseDate(_ text: String) -> (seconds: Int64, fraction: Bool)? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<from + count {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == 0x2d, let month = digits(5, 2), b[7] == 0x2d, let day = digits(8, 2),
              b[10] == 0x54, let hour = digits(11, 2), b[13] == 0x3a, let minute = digits(14, 2), b[16] == 0x3a, let second = digits(17, 2) else {
            return nil
        }
        var i = 19
        var fraction = false
        if i < b.count, b[i] == 0x2e {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i - start >= 1, i - start <= 9 else { return nil }
            fraction = true
        }
        var offset: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5a {
            i += 1
        } else if b[i] == 0x2b || b[i] == 0x2d, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3a, let om = digits(i + 4, 2),
                  oh < 24, om < 60 {
            offset = (oh * 3600 + om * 60) * (b[i] == 0x2b ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count, (1...12).contains(month), hour < 24, minute < 60, second < 60 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day >= 1, day <= lengths[Int(month - 1)] else { return nil }
        // Days from civil (proleptic Gregorian), then seconds.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return (days * 86400 + hour * 3600 + minute * 60 + second - offset, fraction)
    }

    /// Whether a Notary expiry has passed at `now`: expired when `expires` is before `now` (notary
    /// compares instants; a fraction of a second keeps it alive through that second).
    static func isExpired(_ expires: (seconds: Int64, fraction: Bool), at now: Int64) -> Bool {
        expires.seconds < now
    }

    /// The key ID Notary computes: lowercase hex SHA-256 of `{"keytype":T,"keyval":{"private":null,"public":B64}}`.
    static func keyID(keyType: String, publicValue: String) throws(TUFError) -> String {
        var keyval = JSONObject()
        keyval["private"] = .null
        keyval["public"] = .string(publicValue)
        var o = JSONObject()
        o["keytype"] = .string(keyType)
        o["keyval"] = .object(keyval)
        do { return try SHA256.hash(try CanonicalJSON.encode(.object(o))).hex } catch { throw TUFError.misuse("hashing a key: \(error)") }
    }
}

/// A Notary key as listed in metadata.
public struct NotaryKey: Sendable {
    /// The key ID it is listed under (checked to be its content ID).
    public let id: String
    /// `ecdsa`, `ecdsa-x509`, `ed25519`, `rsa`, `rsa-x509`.
    public let keyType: String
    /// For x509 key types: the certificate chain, leaf first.
    public let certificates: [X509Certificate]
    /// The key for the threshold function (never verifies when the public value could not be read).
    let key: Key

    /// The public key, when it could be read.
    public var publicKey: PublicKey? { key.publicKey }

    /// Whether the key is an x509 certificate key.
    public var isCertificate: Bool { keyType.hasSuffix("-x509") }

    /// Parses a key object and checks that `id` is the ID notary computes for it: a key listed under
    /// another ID makes the file invalid (as in notary).
    init(id: String, json: JSONValue, file: String) throws(TUFError) {
        guard case .object(let o) = json, let keyType = o["keytype"]?.stringValue, case .object(let keyval)? = o["keyval"],
              let publicValue = keyval["public"]?.stringValue else {
            throw TUFError.invalidMetadata(file: file, reason: "key \(id) is not {keytype, keyval: {public}}")
        }
        let computed = try NotaryCodec.keyID(keyType: keyType, publicValue: publicValue)
        guard computed == id else {
            throw TUFError.invalidMetadata(file: file, reason: "key listed as \(id) has the ID \(computed)")
        }
        self.id = id
        self.keyType = keyType
        var certificates: [X509Certificate] = []
        var publicKey: PublicKey?
        var pemRSA = false
        if let raw = Base64.decode(publicValue) {
            switch keyType {
            case "ecdsa-x509", "rsa-x509":
                // Notary verifies a delegation's signature with its certificate's key whatever the
                // certificate's CA flag (OpenSSL's self-signed certificates carry CA:TRUE); only root
                // keys must be leaf certificates (`isRootCertificate`).
                if let chain = try? X509Certificate.parseChain(pem: String(decoding: raw, as: UTF8.self)), let leaf = chain.first {
                    certificates = chain
                    publicKey = leaf.publicKey
                }
            case "ecdsa":
                publicKey = try? PublicKey(spkiDER: raw)
            case "ed25519":
                publicKey = (try? Ed25519PublicKey(rawRepresentation: raw)).map { .ed25519($0) }
            case "rsa":
                if let k = try? PublicKey(spkiDER: raw) {
                    publicKey = k
                } else if let k = try? PublicKey(pem: String(decoding: raw, as: UTF8.self)) {
                    publicKey = k
                    pemRSA = true
                }
            default:
                break
            }
        }
        // The key type must agree with the key material.
        switch (keyType, publicKey) {
        case ("ecdsa", .ecdsa?), ("ecdsa-x509", .ecdsa?), ("ed25519", .ed25519?), ("rsa", .rsa?), ("rsa-x509", .rsa?): break
        default: publicKey = nil
        }
        self.certificates = certificates
        key = Key(notaryKeyType: keyType, publicValue: publicValue, publicKey: publicKey, pemRSA: pemRSA)
    }

    /// Whether this is a usable root key for `gun` at `time`: an x509 leaf whose common name is the GUN
    /// (or a `prefix*` wildcard matching it), not signed with SHA-1, and, when `checkExpiry`, valid at
    /// `time` (one day of slack before NotBefore), as notary's trust pinning requires.
    public func isRootCertificate(for gun: String, at time: Int64, checkExpiry: Bool) -> Bool {
        guard isCertificate, key.publicKey != nil, let leaf = certificates.first, let cn = leaf.commonName else { return false }
        let matches = cn == gun || (cn.hasSuffix("*") && gun.hasPrefix(String(cn.dropLast())))
        guard matches, !leaf.isCA, !leaf.signedWithSHA1, leaf.notBefore <= leaf.notAfter else { return false }
        if checkExpiry && !leaf.isValid(at: time, notBeforeSlack: 86400) { return false }
        return true
    }
}

/// One role's keys and threshold in Notary metadata.
public struct NotaryRoleKeys: Sendable {
    public let keyIDs: [String]
    public let threshold: Int
}

/// A file's hashes and length as its parent lists them (base64 hashes, by algorithm name).
public struct NotaryFileMeta: Sendable {
    public let length: Int64
    public let hashes: [String: [UInt8]]

    init(json: JSONValue, file: String, what: String) throws(TUFError) {
        guard case .object(let o) = json, case .integer(let length)? = o["length"], length >= 0, case .object(let h)? = o["hashes"] else {
            throw TUFError.invalidMetadata(file: file, reason: "\(what): needs length and hashes")
        }
        var hashes: [String: [UInt8]] = [:]
        for m in h {
            guard let text = m.value.stringValue, let raw = Base64.decode(text) else {
                throw TUFError.invalidMetadata(file: file, reason: "\(what): hash \(m.key) is not base64")
            }
            hashes[m.key] = raw
        }
        self.length = length
        self.hashes = hashes
    }

    /// Checks `bytes` against the listed length (exactly) and every known hash (sha256, sha512); at least
    /// one known hash is required.
    func verify(_ bytes: [UInt8], file: String) throws(TUFError) {
        guard Int64(bytes.count) == length else { throw TUFError.lengthMismatch(file: file, expected: length, received: Int64(bytes.count)) }
        var checked = 0
        for (name, algorithm) in [("sha256", DigestAlgorithm.sha256), ("sha512", DigestAlgorithm.sha512)] {
            guard let expected = hashes[name] else { continue }
            guard let actual = try? Digest.compute(algorithm, over: bytes), actual.bytes == expected else {
                throw TUFError.hashMismatch(file: file, algorithm: name)
            }
            checked += 1
        }
        guard checked > 0 else { throw TUFError.noSupportedHash(file: file) }
    }

    /// The listed sha256, if any.
    public var sha256: [UInt8]? { hashes["sha256"] }
}
