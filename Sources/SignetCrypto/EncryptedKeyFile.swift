import FoundationEssentials
import Glibc
import SignetPlatform

/// Argon2id cost parameters for an encrypted key file.
public struct KeyFileKDFParameters: Sendable, Equatable {
    /// Argon2id passes (libsodium `opslimit`).
    public var opsLimit: UInt64
    /// Argon2id memory in bytes (libsodium `memlimit`).
    public var memLimit: UInt64

    /// Creates parameters; `EncryptedKeyFile` checks them against ``allowedOps`` and ``allowedMemory``.
    public init(opsLimit: UInt64, memLimit: UInt64) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's "moderate" limits (3 passes, 256 MiB): the default for new key files.
    public static var moderate: KeyFileKDFParameters { .init(opsLimit: Sodium.opsLimitModerate, memLimit: Sodium.memLimitModerate) }

    /// libsodium's minimum limits. Removes the brute-force resistance of the passphrase: only for tests.
    public static var unsafeMinimumForTests: KeyFileKDFParameters { .init(opsLimit: Sodium.opsLimitMin, memLimit: Sodium.memLimitMin) }

    /// Pass counts accepted when reading a file (a hostile file must not make unlocking take hours).
    public static let allowedOps: ClosedRange<UInt64> = 1...16
    /// Memory sizes accepted when reading a file: 8 KiB to 2 GiB.
    public static let allowedMemory: ClosedRange<UInt64> = 8192...(2 << 30)
}

/// What can be learnt from an encrypted key file without the passphrase.
public struct KeyFileInfo: Sendable {
    /// Key algorithm.
    public let algorithm: KeyAlgorithm
    /// Public key (authenticated together with the secret when the file is opened).
    public let publicKey: PublicKey
    /// KDF cost recorded in the file.
    public let kdf: KeyFileKDFParameters
    /// Free-form labels (not authenticated: informative only).
    public let labels: [(String, String)]
}

/// Signet's encrypted private-key file (documented in `docs/key-file-format.md`).
///
/// A small line-oriented text file: `name: value` lines; the secret is sealed with XChaCha20-Poly1305
/// under a key derived with Argon2id from the passphrase; the format version, algorithm and public key
/// are the associated data, so swapping any of them makes opening fail.
public enum EncryptedKeyFile {
    static let magic = "signet-encrypted-key"
    static let version = "1"
    /// Largest key file read.
    public static let maxLength = 64 * 1024

    /// Encrypts `key` under `passphrase`.
    ///
    /// - Parameters:
    ///   - salt: the Argon2id salt (16 bytes). A key store passes its store-wide salt, so that every key
    ///     it holds under one passphrase opens with a single Argon2id run; nil draws a random salt.
    ///   - cache: derived keys already computed in this process (see ``KeyDerivationCache``).
    /// - Throws: `CryptoError.corruptKeyFile` for an empty passphrase, a salt of the wrong length or
    ///   parameters outside the allowed ranges; `.library` on failure.
    public static func seal(_ key: PrivateKey, passphrase: SecretBytes, kdf: KeyFileKDFParameters = .moderate,
                            labels: [(String, String)] = [], salt givenSalt: [UInt8]? = nil,
                            cache: KeyDerivationCache? = nil) throws(CryptoError) -> [UInt8] {
        guard !passphrase.isEmpty else { throw CryptoError.corruptKeyFile("refusing to encrypt with an empty passphrase") }
        try checkParameters(kdf)
        for (name, value) in labels {
            guard isValidLabelName(name), isValidLabelValue(value) else {
                throw CryptoError.corruptKeyFile("label \(Hex.preview(name)) must be [a-z0-9-]+ with a single-line printable value")
            }
        }
        let publicDER = try key.publicKey.spkiDER()
        let secret: SecretBytes
        switch key {
        case .ed25519(let k): secret = k.seed
        case .ecdsa(let k): secret = try k.pkcs8DER()
        case .remote: throw CryptoError.unsupportedKey("a key held by the agent cannot be written to a file")
        }
        if let givenSalt, givenSalt.count != Sodium.pwhashSaltBytes {
            throw CryptoError.corruptKeyFile("kdf-salt must be \(Sodium.pwhashSaltBytes) bytes")
        }
        let salt: [UInt8]
        if let givenSalt { salt = givenSalt } else { salt = try Sodium.randomBytes(Sodium.pwhashSaltBytes) }
        let nonce = try Sodium.randomBytes(Sodium.xchachaNonceBytes)
        let wrapKey = try KeyDerivationCache.derive(cache, passphrase: passphrase, salt: salt, kdf: kdf)
        let ad = associatedData(algorithm: key.algorithm, publicDER: publicDER)
        let sealed = try Sodium.xchachaSeal(plaintext: secret, associatedData: ad, nonce: nonce, key: wrapKey)
        var lines = [
            "\(magic): \(version)",
            "algorithm: \(key.algorithm.rawValue)",
            "public-key: \(Base64.encode(publicDER))",
            "kdf: argon2id13",
            "kdf-opslimit: \(kdf.opsLimit)",
            "kdf-memlimit: \(kdf.memLimit)",
            "kdf-salt: \(Base64.encode(salt))",
            "cipher: xchacha20-poly1305",
            "nonce: \(Base64.encode(nonce))",
            "ciphertext: \(Base64.encode(sealed))",
        ]
        for (name, value) in labels { lines.append("label-\(name): \(value)") }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// A fresh random Argon2id salt of the length key files use.
    /// - Throws: `CryptoError.library` if the system random source fails.
    public static func randomSalt() throws(CryptoError) -> [UInt8] { try Sodium.randomBytes(Sodium.pwhashSaltBytes) }

    /// Reads the public parts of a key file without decrypting it.
    /// - Throws: `CryptoError.corruptKeyFile` naming the first problem.
    public static func inspect(_ bytes: [UInt8]) throws(CryptoError) -> KeyFileInfo {
        try Parsed(bytes).info
    }

    /// Decrypts a key file.
    /// - Throws: `CryptoError.corruptKeyFile` for a malformed file; `.wrongPassphraseOrTampered` when the
    ///   passphrase is wrong or any authenticated part was changed; `.invalidKey` if the decrypted key does
    ///   not match the recorded public key.
    ///   With a `cache`, files sharing a salt, cost and passphrase cost one Argon2id run together.
    public static func open(_ bytes: [UInt8], passphrase: SecretBytes, cache: KeyDerivationCache? = nil) throws(CryptoError) -> PrivateKey {
        let parsed = try Parsed(bytes)
        let wrapKey = try KeyDerivationCache.derive(cache, passphrase: passphrase, salt: parsed.salt, kdf: parsed.info.kdf)
        let ad = associatedData(algorithm: parsed.info.algorithm, publicDER: parsed.publicDER)
        guard let secret = try Sodium.xchachaOpen(ciphertext: parsed.ciphertext, associatedData: ad, nonce: parsed.nonce, key: wrapKey) else {
            throw CryptoError.wrongPassphraseOrTampered("key file")
        }
        let key: PrivateKey
        switch parsed.info.algorithm {
        case .ed25519: key = .ed25519(try Ed25519PrivateKey(seed: secret))
        case .ecdsaP256, .ecdsaP384: key = .ecdsa(try ECDSAPrivateKey(pkcs8DER: secret))
        case .rsa: throw CryptoError.unsupportedKey("RSA key files are not supported")
        }
        guard try key.publicKey.spkiDER() == parsed.publicDER, key.algorithm == parsed.info.algorithm else {
            throw CryptoError.invalidKey("decrypted private key does not match the public key recorded in the file")
        }
        return key
    }

    static func associatedData(algorithm: KeyAlgorithm, publicDER: [UInt8]) -> [UInt8] {
        Array("\(magic)/\(version)\0\(algorithm.rawValue)\0".utf8) + publicDER
    }

    static func checkParameters(_ kdf: KeyFileKDFParameters) throws(CryptoError) {
        guard KeyFileKDFParameters.allowedOps.contains(kdf.opsLimit) else {
            throw CryptoError.corruptKeyFile("kdf-opslimit \(kdf.opsLimit) outside \(KeyFileKDFParameters.allowedOps)")
        }
        guard KeyFileKDFParameters.allowedMemory.contains(kdf.memLimit) else {
            throw CryptoError.corruptKeyFile("kdf-memlimit \(kdf.memLimit) outside \(KeyFileKDFParameters.allowedMemory)")
        }
    }

    public static func isValidLabelName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    public static func isValidLabelValue(_ s: String) -> Bool {
        s.utf8.count <= 1024 && s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
            && s == s.trimmingSpaces
    }

    struct Parsed {
        let info: KeyFileInfo
        let publicDER: [UInt8]
        let salt: [UInt8]
        let nonce: [UInt8]
        let ciphertext: [UInt8]

        init(_ bytes: [UInt8]) throws(CryptoError) {
            guard bytes.count <= EncryptedKeyFile.maxLength else {
                throw CryptoError.corruptKeyFile("file of \(bytes.count) bytes exceeds \(EncryptedKeyFile.maxLength)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw CryptoError.corruptKeyFile("not UTF-8 text") }
            var fields: [String: String] = [:]
            var labels: [(String, String)] = []
            for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = rawLine.trimmingSpaces
                if line.isEmpty { continue }
                guard let colon = line.firstIndex(of: ":") else {
                    throw CryptoError.corruptKeyFile("line \(number + 1): expected \"name: value\"")
                }
                let name = String(line[..<colon])
                let value = String(line[line.index(after: colon)...]).trimmingSpaces
                if name.hasPrefix("label-") {
                    labels.append((String(name.dropFirst(6)), value))
                    continue
                }
                guard fields[name] == nil else { throw CryptoError.corruptKeyFile("line \(number + 1): field \"\(name)\" repeated") }
                fields[name] = value
            }
            func field(_ name: String) throws(CryptoError) -> String {
                guard let v = fields[name] else { throw CryptoError.corruptKeyFile("missing field \"\(name)\"") }
                return v
            }
            func base64(_ name: String) throws(CryptoError) -> [UInt8] {
                guard let v = Base64.decode(try field(name)) else { throw CryptoError.corruptKeyFile("field \"\(name)\" is not base64") }
                return v
            }
            func integer(_ name: String) throws(CryptoError) -> UInt64 {
                guard let v = UInt64(try field(name)) else { throw CryptoError.corruptKeyFile("field \"\(name)\" is not an integer") }
                return v
            }
            let known: Set<String> = [EncryptedKeyFile.magic, "algorithm", "public-key", "kdf", "kdf-opslimit", "kdf-memlimit",
                                      "kdf-salt", "cipher", "nonce", "ciphertext"]
            if let unknown = fields.keys.first(where: { !known.contains($0) }) {
                throw CryptoError.corruptKeyFile("unknown field \(Hex.preview(unknown))")
            }
            guard fields[EncryptedKeyFile.magic] != nil else { throw CryptoError.corruptKeyFile("not a Signet key file (no \"\(EncryptedKeyFile.magic)\" line)") }
            guard try field(EncryptedKeyFile.magic) == EncryptedKeyFile.version else {
                throw CryptoError.corruptKeyFile("format version \(Hex.preview(try field(EncryptedKeyFile.magic))) (expected \(EncryptedKeyFile.version))")
            }
            guard let algorithm = KeyAlgorithm(rawValue: try field("algorithm")), algorithm != .rsa else {
                throw CryptoError.corruptKeyFile("algorithm \(Hex.preview(try field("algorithm"))) (expected ed25519, ecdsa-p256 or ecdsa-p384)")
            }
            guard try field("kdf") == "argon2id13" else { throw CryptoError.corruptKeyFile("kdf must be argon2id13") }
            guard try field("cipher") == "xchacha20-poly1305" else { throw CryptoError.corruptKeyFile("cipher must be xchacha20-poly1305") }
            let kdf = KeyFileKDFParameters(opsLimit: try integer("kdf-opslimit"), memLimit: try integer("kdf-memlimit"))
            try EncryptedKeyFile.checkParameters(kdf)
            publicDER = try base64("public-key")
            salt = try base64("kdf-salt")
            guard salt.count == Sodium.pwhashSaltBytes else { throw CryptoError.corruptKeyFile("kdf-salt must be \(Sodium.pwhashSaltBytes) bytes") }
            nonce = try base64("nonce")
            guard nonce.count == Sodium.xchachaNonceBytes else { throw CryptoError.corruptKeyFile("nonce must be \(Sodium.xchachaNonceBytes) bytes") }
            ciphertext = try base64("ciphertext")
            guard ciphertext.count > Sodium.xchachaTagBytes else { throw CryptoError.corruptKeyFile("ciphertext too short") }
            let publicKey: PublicKey
            do { publicKey = try PublicKey(spkiDER: publicDER) } catch {
                throw CryptoError.corruptKeyFile("public-key: \(error)")
            }
            guard publicKey.algorithm == algorithm else {
                throw CryptoError.corruptKeyFile("public-key is \(publicKey.algorithm) but algorithm says \(algorithm)")
            }
            info = KeyFileInfo(algorithm: algorithm, publicKey: publicKey, kdf: kdf, labels: labels)
        }
    }
}

/// Argon2id results kept for the life of one command, so that key files sharing a salt (every file of
/// one key store: see `Keyring`) and a passphrase cost a single derivation however many are opened.
///
/// An entry holds a copy of the passphrase (compared in constant time) and the derived key, both in
/// zeroed-on-release memory; ``clear()`` forgets them. A long-running process (the agent) uses one
/// cache per request and clears it at the end.
public final class KeyDerivationCache: @unchecked Sendable {
    private struct Entry {
        let salt: [UInt8]
        let kdf: KeyFileKDFParameters
        let passphrase: SecretBytes
        let key: SecretBytes
    }
    private let lock = Lock()
    private var entries: [Entry] = []

    public init() {}

    /// Argon2id runs made by this process, cached or not (shown by benchmarks and `SIGNET_KDF_STATS`).
    public static var derivationCount: Int { counter.withLock { $0 } }
    private static let counter = LockedCounter()

    /// Forgets every passphrase and derived key.
    public func clear() {
        lock.lock()
        entries.removeAll()
        lock.unlock()
    }

    static func derive(_ cache: KeyDerivationCache?, passphrase: SecretBytes, salt: [UInt8], kdf: KeyFileKDFParameters) throws(CryptoError) -> SecretBytes {
        guard let cache else { return try run(passphrase: passphrase, salt: salt, kdf: kdf) }
        // Held across the derivation: two threads asking for the same key wait for one run, not two.
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let hit = cache.entries.first(where: { $0.salt == salt && $0.kdf == kdf && $0.passphrase == passphrase }) { return hit.key }
        let key = try run(passphrase: passphrase, salt: salt, kdf: kdf)
        cache.entries.append(Entry(salt: salt, kdf: kdf, passphrase: passphrase, key: key))
        return key
    }

    private static func run(passphrase: SecretBytes, salt: [UInt8], kdf: KeyFileKDFParameters) throws(CryptoError) -> SecretBytes {
        counter.withLock { $0 += 1 }
        return try Sodium.argon2id(passphrase: passphrase, salt: salt, opsLimit: kdf.opsLimit, memLimit: kdf.memLimit,
                                   outputLength: Sodium.xchachaKeyBytes)
    }
}

/// An integer behind a lock.
final class LockedCounter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    func withLock<R>(_ body: (inout Int) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// XChaCha20-Poly1305 (libsodium IETF construction) exposed for key files and for known-answer tests.
public enum XChaCha20Poly1305 {
    /// Encrypts; returns ciphertext‖tag.
    /// - Throws: `CryptoError.library` for wrong key (32) or nonce (24) lengths.
    public static func seal(_ plaintext: SecretBytes, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Sodium.xchachaSeal(plaintext: plaintext, associatedData: associatedData, nonce: nonce, key: key)
    }

    /// Decrypts ciphertext‖tag; nil when authentication fails.
    /// - Throws: `CryptoError` for wrong key (32) or nonce (24) lengths.
    public static func open(_ sealed: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> SecretBytes? {
        try Sodium.xchachaOpen(ciphertext: sealed, associatedData: associatedData, nonce: nonce, key: key)
    }
}
