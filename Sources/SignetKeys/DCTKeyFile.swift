import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles

/// A private key file of the `notary` CLI or Docker Content Trust (`~/.docker/trust/private/*.key`,
/// `~/.notary/private/`): PEM `ENCRYPTED PRIVATE KEY` (PBES2) with `role` and `gun` headers, or the
/// legacy types of older trust directories (`private/root_keys/<id>_root.key`,
/// `private/tuf_keys/<GUN>/<id>_<role>.key`).
public struct DCTKeyFile: Sendable {
    /// The file.
    public let path: String
    /// The PEM block label.
    public let label: String
    /// The key's role (`root`, `targets`, `snapshot`, `targets/releases`, a signer name…), from the
    /// `role` header or a legacy file name.
    public let role: String?
    /// The repository the key belongs to, from the `gun` header or a legacy path.
    public let gun: String?
    /// Whether the key is encrypted.
    public let encrypted: Bool
    let pem: String

    /// Largest key file read.
    static let maxBytes = 64 << 10

    /// Reads and classifies a key file (nothing is decrypted).
    /// - Throws: `KeyringError.storage` for unreadable files, `.crypto` for files that are not a PEM key.
    public static func read(_ path: String) throws(KeyringError) -> DCTKeyFile {
        var bytes: [UInt8]
        // A key file named on the command line may be a link; it must lead to a regular file (a FIFO or
        // device is refused rather than waited on).
        let read: [UInt8]?
        do throws(FileError) { read = try AtomicFile.readRegularFile(path, limit: maxBytes, followingLinks: true) } catch {
            throw KeyringError.storage(path: path, detail: error.detail)
        }
        guard let read else { throw KeyringError.storage(path: path, detail: "no such file") }
        bytes = read
        let pem = String(decoding: bytes, as: UTF8.self)
        for i in bytes.indices { bytes[i] = 0 }
        let doc: PEMDocument
        do {
            doc = try PEMDocument.parse(pem, expecting: ["ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "ED25519 PRIVATE KEY", "RSA PRIVATE KEY"])
        } catch { throw KeyringError.crypto(path: path, error) }
        var role = doc.headers.first { $0.0 == "role" }?.1
        var gun = doc.headers.first { $0.0 == "gun" }?.1
        // Legacy layout: private/root_keys/<id>_root.key and private/tuf_keys/<GUN>/<id>_<role>.key.
        let name = AtomicFile.name(of: path)
        if role == nil, name.hasSuffix(".key"), let underscore = name.lastIndex(of: "_") {
            role = String(name[name.index(after: underscore)...].dropLast(4))
        }
        if gun == nil, let range = path.firstRange(of: "/private/tuf_keys/") {
            let rest = path[range.upperBound...]
            if let slash = rest.lastIndex(of: "/") { gun = String(rest[..<slash]) }
        }
        let encrypted = doc.label == "ENCRYPTED PRIVATE KEY" || doc.headers.contains { $0.0 == "Proc-Type" && $0.1.contains("ENCRYPTED") }
        return DCTKeyFile(path: path, label: doc.label, role: role, gun: gun, encrypted: encrypted, pem: pem)
    }

    /// The environment variables that hold this key's passphrase for Docker and the `notary` CLI, in the
    /// order they are tried: Docker uses `DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE` for root keys and
    /// `DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE` for all others; notary uses `NOTARY_ROOT_PASSPHRASE`,
    /// `NOTARY_TARGETS_PASSPHRASE`, `NOTARY_SNAPSHOT_PASSPHRASE`, and `NOTARY_DELEGATION_PASSPHRASE` for
    /// delegation and signer keys. Docker's pre-1.10 names come last.
    public var passphraseVariables: [String] {
        switch role {
        case "root": return ["DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "NOTARY_ROOT_PASSPHRASE", "DOCKER_CONTENT_TRUST_OFFLINE_PASSPHRASE"]
        case "targets": return ["NOTARY_TARGETS_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "DOCKER_CONTENT_TRUST_TAGGING_PASSPHRASE"]
        case "snapshot": return ["NOTARY_SNAPSHOT_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "DOCKER_CONTENT_TRUST_TAGGING_PASSPHRASE"]
        case "timestamp": return ["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"]
        default: return ["NOTARY_DELEGATION_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "DOCKER_CONTENT_TRUST_TAGGING_PASSPHRASE"]
        }
    }

    /// Whether the key signs root (its Signet passphrase is then the root passphrase).
    public var isRoot: Bool { role == "root" }

    /// Decrypts the key with the first of `passphrases` that opens it.
    /// - Returns: the key and the index of the passphrase that worked (nil for an unencrypted key).
    /// - Throws: `KeyringError.crypto` naming the file when none works (or none was given for an
    ///   encrypted key), or when the key cannot be used.
    public func open(passphrases: [(source: String, secret: SecretBytes)]) throws(KeyringError) -> (PrivateKey, source: String?) {
        if !encrypted {
            do { return (try PrivateKey(pem: pem, passphrase: nil), nil) } catch { throw KeyringError.crypto(path: path, error) }
        }
        for (source, secret) in passphrases {
            do {
                return (try PrivateKey(pem: pem, passphrase: secret), source)
            } catch {
                if case .wrongPassphraseOrTampered = error { continue }
                throw KeyringError.crypto(path: path, error)
            }
        }
        let tried = passphrases.map(\.source)
        let what = (role.map { "\($0) key" } ?? "key") + (gun.map { " of \($0)" } ?? "")
        guard !tried.isEmpty else {
            throw KeyringError.storage(path: path, detail: "no passphrase was given for this encrypted \(what): set \(passphraseVariables.prefix(2).joined(separator: " or ")), use --pem-passphrase-file, or run on a terminal")
        }
        throw KeyringError.crypto(path: path, .wrongPassphraseOrTampered("wrong passphrase for this encrypted \(what) (tried \(tried.joined(separator: ", ")))"))
    }

    /// The key files of a trust directory (its `private/` folder, searched to two levels below for the
    /// legacy layout) or of a folder of key files; a file is returned as itself.
    public static func files(at path: String) -> [String] {
        // The given path and its `private/` may be symbolic links (a trust directory kept elsewhere).
        guard let kind = fileKind(path, following: true) else { return [] }
        guard kind == S_IFDIR else { return [path] }
        let base = fileKind(path + "/private", following: true) == S_IFDIR ? path + "/private" : path
        var out: [String] = []
        collectKeyFiles(in: base, depth: 0, into: &out)
        return out.sorted()
    }

    /// The file type bits of `path` (of a final symbolic link itself unless `following`), nil when it is
    /// missing.
    private static func fileKind(_ path: String, following: Bool = false) -> mode_t? {
        var info = stat()
        guard (following ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// Adds the `.key` regular files below `directory` (not links, FIFOs or devices), descending into
    /// real directories (not symbolic links) at most eight levels.
    private static func collectKeyFiles(in directory: String, depth: Int, into out: inout [String]) {
        guard depth < 8, let names = try? AtomicFile.list(directory) else { return }
        for name in names.sorted() {
            let full = directory + "/" + name
            switch fileKind(full) {
            case S_IFDIR: collectKeyFiles(in: full, depth: depth + 1, into: &out)
            // Only regular files: a link could import a key from elsewhere on the disk, and a FIFO
            // would block the read.
            case S_IFREG where name.hasSuffix(".key"): out.append(full)
            default: break
            }
        }
    }
}

extension Keyring {
    /// Imports an opened DCT key, re-encrypted under `passphrase`, labelled with its role and GUN and
    /// `source=dct`.
    /// - Returns: the entry, and whether it was new (an existing key with the same ID is left as it is).
    /// - Throws: `KeyringError`.
    public func importDCT(_ key: PrivateKey, from file: DCTKeyFile, passphrase: SecretBytes) throws(KeyringError) -> (KeyringEntry, added: Bool) {
        var labels: [(String, String)] = [("source", "dct")]
        if let role = file.role { labels.insert(("role", role), at: 0) }
        if let gun = file.gun { labels.append(("gun", gun)) }
        do {
            return (try add(key, passphrase: passphrase, labels: labels), true)
        } catch {
            if case .exists(let id) = error { return (try find(id), false) }
            throw error
        }
    }
}
