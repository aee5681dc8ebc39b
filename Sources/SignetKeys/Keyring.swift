import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetTUF

/// A key in a `Keyring`, as listed without its passphrase.
public struct KeyringEntry: Sendable {
    /// TUF key ID (SHA-256 of the canonical TUF key object).
    public let keyID: String
    /// Algorithm.
    public let algorithm: KeyAlgorithm
    /// Public key.
    public let publicKey: PublicKey
    /// Labels recorded with the key (for example `role` and `repository`).
    public let labels: [(String, String)]
    /// The key file's path.
    public let path: String

    /// The TUF key object.
    /// - Throws: `CryptoError` if the public key cannot be encoded.
    public func tufKey() throws -> Key { try Key(publicKey: publicKey) }

    /// The value of label `name`, if set.
    public func label(_ name: String) -> String? { labels.first { $0.0 == name }?.1 }
}

/// Errors of the key store.
public enum KeyringError: Error, Sendable, CustomStringConvertible {
    /// No key with this ID (or unique ID prefix) exists.
    case notFound(String)
    /// A prefix matched several keys.
    case ambiguous(String, [String])
    /// The key already exists.
    case exists(String)
    /// A key file could not be read or decrypted.
    case crypto(path: String, CryptoError)
    /// A file system problem.
    case storage(path: String, detail: String)
    /// The passphrase did not open the key (or its file was modified).
    case wrongPassphrase(keyID: String, role: String?, path: String)

    public var description: String {
        switch self {
        case .notFound(let id): return "no key \"\(id)\" in the key store"
        case .ambiguous(let id, let m): return "key ID prefix \"\(id)\" matches \(m.count) keys: \(m.joined(separator: ", "))"
        case .exists(let id): return "key \(id) is already in the key store"
        case .crypto(let path, let e): return "\(path): \(e)"
        case .storage(let path, let d): return "\(path): \(d)"
        case .wrongPassphrase(let id, let role, let path):
            return "wrong passphrase for the \(role.map { "\($0) " } ?? "")key \(id.prefix(12)) (or its file \(path) was modified)"
                + "; root keys take SIGNET_ROOT_PASSPHRASE, other keys SIGNET_KEY_PASSPHRASE, or --passphrase-file"
        }
    }
}

/// Encrypted private keys under `$SIGNET_HOME/keys` (directory 0700, files 0600), one file per key named
/// by its key ID, each in Signet's encrypted key file format.
///
/// New key files take the store's Argon2id salt (`keys/.kdf-salt`, created with the first key) instead
/// of one of their own, and every unlock goes through one ``KeyDerivationCache``: so a command that
/// unlocks several keys sharing a passphrase pays for one Argon2id run, not one per key. Files written
/// with their own salt (before the store salt existed, or copied from elsewhere) still open, at one run
/// each.
public struct Keyring: Sendable {
    /// The key directory.
    public let directory: String
    /// Argon2id cost for new files.
    public let kdf: KeyFileKDFParameters
    /// Keys derived from passphrases so far by this key store object.
    public let derivations: KeyDerivationCache

    /// Name of the store-wide salt file in the key directory.
    public static let saltFileName = ".kdf-salt"

    /// Opens (creating if needed) the key store in `home/keys`.
    /// - Throws: `KeyringError.storage`.
    public init(home: String, kdf: KeyFileKDFParameters = .moderate, derivations: KeyDerivationCache = KeyDerivationCache()) throws(KeyringError) {
        directory = (home.hasSuffix("/") ? String(home.dropLast()) : home) + "/keys"
        self.kdf = kdf
        self.derivations = derivations
        do throws(FileError) {
            try AtomicFile.checkOwnDirectory(home)
            try AtomicFile.checkOwnDirectory(directory, followingLinks: false)
            try AtomicFile.makeDirectory(home, mode: 0o700)
            try AtomicFile.makeDirectory(directory, mode: 0o700)
        } catch {
            throw KeyringError.storage(path: directory, detail: "\(error)")
        }
        // Tighten permissions even if the directories existed.
        for path in [home, directory] where chmod(path, 0o700) != 0 {
            throw KeyringError.storage(path: path, detail: "cannot make it private (chmod 700): \(String(cString: strerror(errno)))")
        }
    }

    /// The default home: `$SIGNET_HOME`, else `~/.signet`.
    public static var defaultHome: String {
        if let h = Environment.nonEmpty("SIGNET_HOME") { return h }
        return Environment.homeDirectory + "/.signet"
    }

    func path(for keyID: String) -> String { directory + "/" + keyID + ".key" }

    /// Generates a key, encrypts it under `passphrase` and stores it.
    /// - Throws: `KeyringError`.
    @discardableResult
    public func generate(_ algorithm: KeyAlgorithm, passphrase: SecretBytes, labels: [(String, String)] = []) throws(KeyringError) -> KeyringEntry {
        let key: PrivateKey
        do { key = try PrivateKey.generate(algorithm) } catch { throw KeyringError.crypto(path: directory, error) }
        return try add(key, passphrase: passphrase, labels: labels)
    }

    /// Imports a PEM private key (PKCS#8, encrypted or not), re-encrypting it under `passphrase`.
    /// - Throws: `KeyringError.crypto` for unreadable PEM or a wrong `pemPassphrase`; `.exists`.
    @discardableResult
    public func importPEM(_ pem: String, pemPassphrase: SecretBytes?, passphrase: SecretBytes, labels: [(String, String)] = []) throws(KeyringError) -> KeyringEntry {
        let key: PrivateKey
        do { key = try PrivateKey(pem: pem, passphrase: pemPassphrase) } catch { throw KeyringError.crypto(path: "PEM input", error) }
        return try add(key, passphrase: passphrase, labels: labels)
    }

    /// Stores an in-memory key.
    /// - Throws: `KeyringError`.
    @discardableResult
    public func add(_ key: PrivateKey, passphrase: SecretBytes, labels: [(String, String)] = []) throws(KeyringError) -> KeyringEntry {
        let keyID: String
        do { keyID = try Key(publicKey: key.publicKey).keyID() } catch { throw KeyringError.storage(path: directory, detail: "cannot compute key ID: \(error)") }
        let path = path(for: keyID)
        guard !FileManager.default.fileExists(atPath: path) else { throw KeyringError.exists(keyID) }
        let salt = try storeSalt()
        let bytes: [UInt8]
        do {
            bytes = try EncryptedKeyFile.seal(key, passphrase: passphrase, kdf: kdf, labels: labels + [("keyid", keyID)],
                                              salt: salt, cache: derivations)
        } catch { throw KeyringError.crypto(path: path, error) }
        do throws(FileError) { try AtomicFile.write(bytes, to: path, mode: 0o600) } catch { throw KeyringError.storage(path: path, detail: "\(error)") }
        return KeyringEntry(keyID: keyID, algorithm: key.algorithm, publicKey: key.publicKey, labels: labels, path: path)
    }

    /// The store's Argon2id salt, created (16 random bytes, base64 on one line, mode 0600) if there is
    /// none yet. Two processes creating it at once agree on one file: the loser reads the winner's.
    /// - Throws: `KeyringError.storage` when the file exists but is not a salt (it is never overwritten:
    ///   move it away and a new one is made; existing key files keep opening, each records its salt).
    public func storeSalt() throws(KeyringError) -> [UInt8] {
        let path = directory + "/" + Keyring.saltFileName
        func read() throws(KeyringError) -> [UInt8]? {
            let bytes: [UInt8]?
            do throws(FileError) { bytes = try AtomicFile.read(path, limit: 256) } catch { throw KeyringError.storage(path: path, detail: error.detail) }
            guard let bytes else { return nil }
            let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
            guard let salt = Base64.decode(text), salt.count == 16 else {
                throw KeyringError.storage(path: path, detail: "not a key store salt (one line of base64 holding 16 bytes); move it away to start a new one")
            }
            return salt
        }
        if let salt = try read() { return salt }
        let salt: [UInt8]
        do { salt = try EncryptedKeyFile.randomSalt() } catch { throw KeyringError.crypto(path: path, error) }
        let temporary = directory + "/.kdf-salt.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).new"
        do throws(FileError) { try AtomicFile.write(Array((Base64.encode(salt) + "\n").utf8), to: temporary, mode: 0o600) } catch {
            throw KeyringError.storage(path: path, detail: error.detail)
        }
        defer { unlink(temporary) }
        // link(2) never replaces: if another process got there first, its salt stands.
        if link(temporary, path) == 0 {
            AtomicFile.syncDirectory(directory)
            return salt
        }
        guard errno == EEXIST, let existing = try read() else {
            throw KeyringError.storage(path: path, detail: "cannot create the key store salt: \(String(cString: strerror(errno)))")
        }
        return existing
    }

    /// Lists every key (no passphrase needed). Unreadable files are reported, not skipped.
    /// - Throws: `KeyringError`.
    public func list() throws(KeyringError) -> [KeyringEntry] {
        let names: [String]
        do throws(FileError) { names = try AtomicFile.list(directory) } catch {
            throw KeyringError.storage(path: directory, detail: error.detail)
        }
        var out: [KeyringEntry] = []
        for name in names.sorted() where name.hasSuffix(".key") {
            out.append(try entry(atPath: directory + "/" + name))
        }
        return out
    }

    func entry(atPath path: String) throws(KeyringError) -> KeyringEntry {
        let bytes: [UInt8]
        do throws(FileError) {
            guard let b = try AtomicFile.read(path, limit: EncryptedKeyFile.maxLength) else { throw FileError.io(path: path, detail: "missing") }
            bytes = b
        } catch { throw KeyringError.storage(path: path, detail: error.detail) }
        let info: KeyFileInfo
        do { info = try EncryptedKeyFile.inspect(bytes) } catch { throw KeyringError.crypto(path: path, error) }
        let keyID = ((try? Key(publicKey: info.publicKey).keyID()) ?? "")
        guard path.hasSuffix("/" + keyID + ".key") else {
            throw KeyringError.storage(path: path, detail: "file name does not match the key it holds (key ID \(keyID))")
        }
        return KeyringEntry(keyID: keyID, algorithm: info.algorithm, publicKey: info.publicKey,
                            labels: info.labels.filter { $0.0 != "keyid" }, path: path)
    }

    /// Finds a key by ID or unique ID prefix (at least 8 characters).
    /// - Throws: `KeyringError.notFound` / `.ambiguous`.
    public func find(_ idOrPrefix: String) throws(KeyringError) -> KeyringEntry {
        let all = try list()
        if let exact = all.first(where: { $0.keyID == idOrPrefix }) { return exact }
        guard idOrPrefix.count >= 8 else { throw KeyringError.notFound(idOrPrefix) }
        let matches = all.filter { $0.keyID.hasPrefix(idOrPrefix) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw KeyringError.notFound(idOrPrefix) }
        throw KeyringError.ambiguous(idOrPrefix, matches.map(\.keyID))
    }

    /// Deletes a key file.
    /// - Throws: `KeyringError.storage`.
    public func remove(_ entry: KeyringEntry) throws(KeyringError) {
        guard entry.path == path(for: entry.keyID) else { throw KeyringError.storage(path: entry.path, detail: "not a key file of this store") }
        do throws(FileError) { try AtomicFile.remove(entry.path) } catch { throw KeyringError.storage(path: entry.path, detail: error.detail) }
    }

    /// Where retired keys are kept: out of the store's use, still on disk.
    public var retiredDirectory: String { directory + "/retired" }

    /// Moves a key out of use (`retired/`), keeping its file; it is never used to sign again unless
    /// moved back.
    /// - Throws: `KeyringError.storage`.
    public func retire(_ entry: KeyringEntry) throws(KeyringError) {
        guard entry.path == path(for: entry.keyID) else { throw KeyringError.storage(path: entry.path, detail: "not a key file of this store") }
        let target = retiredDirectory + "/" + entry.keyID + ".key"
        do throws(FileError) { try AtomicFile.makeDirectory(retiredDirectory, mode: 0o700) } catch { throw KeyringError.storage(path: retiredDirectory, detail: error.detail) }
        guard rename(entry.path, target) == 0 else {
            throw KeyringError.storage(path: entry.path, detail: "cannot move it to \(target): \(String(cString: strerror(errno)))")
        }
    }

    /// Retired keys.
    public func listRetired() -> [KeyringEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: retiredDirectory)) ?? []
        return names.sorted().filter { $0.hasSuffix(".key") }.compactMap { try? entry(atPath: retiredDirectory + "/" + $0) }
    }

    /// Decrypts a key.
    /// - Throws: `KeyringError.crypto` (wrong passphrase or damaged file), `.notFound`.
    public func unlock(_ entry: KeyringEntry, passphrase: SecretBytes) throws(KeyringError) -> PrivateKey {
        let bytes: [UInt8]
        let read: [UInt8]?
        do throws(FileError) { read = try AtomicFile.read(entry.path, limit: EncryptedKeyFile.maxLength) } catch {
            throw KeyringError.storage(path: entry.path, detail: error.detail)
        }
        guard let b = read else { throw KeyringError.notFound(entry.keyID) }
        bytes = b
        do { return try EncryptedKeyFile.open(bytes, passphrase: passphrase, cache: derivations) } catch {
            if case .wrongPassphraseOrTampered = error { throw KeyringError.wrongPassphrase(keyID: entry.keyID, role: entry.label("role"), path: entry.path) }
            throw KeyringError.crypto(path: entry.path, error)
        }
    }
}
