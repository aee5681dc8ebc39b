import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetHTTP
import SignetTUF

/// A TUF repository in a directory (`metadata/`, `targets/`, and `staged/` for a change waiting for
/// signatures), as `signet tuf` maintains it, and this machine's trust in it.
///
/// The repository is loaded only through the TUF client workflow, starting from the root this machine
/// pinned for the directory (in `HOME/tuf/<directory>/`, kept with the metadata it last verified), so
/// files replaced in the directory by someone else are refused, not re-signed. New files are written
/// with `timestamp.json` last: until it is replaced, clients see the previous state.
public struct DiskRepository: Sendable {
    /// The repository directory (absolute).
    public let directory: String
    /// Where this machine keeps the pinned root and trusted metadata of the directory.
    public let pinDirectory: String

    /// Byte limit for files read from the directory.
    static let readLimit = 64 << 20

    /// The repository in `directory`, with pins under `home`.
    public init(directory: String, home: String) {
        var absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        absolute = URL(fileURLWithPath: absolute).standardizedFileURL.path
        self.directory = absolute
        pinDirectory = home + "/tuf/" + PercentEncoding.encode(absolute)
    }

    var metadataDirectory: String { directory + "/metadata" }
    var stagedDirectory: String { directory + "/staged" }

    /// Whether the directory holds a published repository.
    public var exists: Bool { AtomicFile.exists(metadataDirectory + "/timestamp.json") || AtomicFile.exists(metadataDirectory + "/1.root.json") }

    /// Whether this machine pinned a root for the directory.
    public var isPinned: Bool { AtomicFile.exists(pinDirectory + "/root.json") }

    /// Where the trusted root for opening comes from.
    public enum Anchor: Sendable {
        /// The root pinned on this machine (an error when there is none).
        case pinned
        /// A root file given by the user: pinned when nothing is pinned (after the repository verified);
        /// when a root is pinned, it must be a version of the pinned chain.
        case given([UInt8])
        /// The directory's own `1.root.json`, pinned after the repository verified (trust on first use).
        case trustOnFirstUse
    }

    /// Errors specific to opening a repository on disk.
    public enum OpenError: Error, Sendable, CustomStringConvertible {
        case notPinned(String)
        case rootDisagrees(given: String, pinned: String, directory: String)

        public var description: String {
            switch self {
            case .notPinned(let d):
                return "no trusted root is pinned on this machine for the repository \(d): pass --root ROOT_FILE (the root you trust for it), or --trust-on-first-use to trust its metadata/1.root.json"
            case .rootDisagrees(let g, let p, let d):
                return "the root given (\(g)) is not a version of the root pinned for \(d) (\(p)); pins only move forward through signed root rotations"
            }
        }
    }

    /// Verifies the repository from the trusted root and builds an editor on it. On success, the pin
    /// store moves forward to the verified state (and a new pin is recorded); on failure nothing changes.
    /// - Parameter expired: whether expired metadata may be accepted (renewal: only at or above the
    ///   versions this machine already trusts).
    /// - Throws: `OpenError`, `RepositoryError.notARepository`, `TUFError` for anything that does not verify.
    public func open(anchor: Anchor, expired: ExpiredMetadata = .refuse, expiries: Expiries = Expiries(),
                     clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws -> RepositoryEditor {
        guard exists else { throw RepositoryError.notARepository(directory) }
        let pins = try DirectoryMetadataStore(directory: pinDirectory)
        let pinned = try pins.load(role: "root", limit: UpdaterConfig().rootMaxLength)
        var seed: [String: [UInt8]] = [:]
        var given: [UInt8]?
        switch anchor {
        case .pinned:
            guard pinned != nil else { throw OpenError.notPinned(directory) }
        case .given(let bytes):
            _ = try TrustedMetadataSet(rootBytes: bytes, referenceTime: clock())
            if pinned == nil { seed["root"] = bytes } else { given = bytes }
        case .trustOnFirstUse:
            if pinned == nil {
                guard let first = try AtomicFile.read(metadataDirectory + "/1.root.json", limit: UpdaterConfig().rootMaxLength) else {
                    throw RepositoryError.notARepository(directory)
                }
                _ = try TrustedMetadataSet(rootBytes: first, referenceTime: clock())
                seed["root"] = first
            }
        }
        let store = TransactionalMetadataStore(base: pins, seed: seed)
        var config = UpdaterConfig()
        config.expiredMetadata = expired
        let updater = try Updater(metadataBaseURL: "file://" + PercentEncoding.encode(metadataDirectory, keepSlash: true) + "/",
                                  transport: FileTransport(), store: store, clock: clock, config: config)
        try updater.refresh()
        let metadata = metadataDirectory
        let verified = try updater.verifiedRepository(earlierRoots: { v in try AtomicFile.read(metadata + "/\(v).root.json", limit: UpdaterConfig().rootMaxLength) })
        if let given {
            let chain = verified.rootChain
            let agreement = try RootPin.compare(given: given) { v in v >= 1 && v <= Int64(chain.count) ? chain[Int(v - 1)] : nil }
            if case .differs = agreement {
                throw OpenError.rootDisagrees(given: RootPin.describe(given), pinned: RootPin.describe(pinned ?? []), directory: directory)
            }
        }
        try store.commit()
        return try RepositoryEditor(verified: verified, expiries: expiries, source: directory, clock: clock)
    }

    /// Writes a published change: target files, then root versions and targets roles, the snapshot, and
    /// `timestamp.json` last; then moves this machine's pin store to the new state and removes any staged
    /// change the publish completed.
    /// - Throws: `FileError`, `TUFError`.
    public func write(_ change: PublishedChange, durable: Bool = true) throws {
        let targets = directory + "/targets"
        for (path, content) in change.targetContents {
            guard SafeName.isRelativePath(path) else { throw FileError.unsafeName(path) }
            let digest = try SHA256.hash(content).hex
            let dir = AtomicFile.directory(of: targets + "/" + path)
            try AtomicFile.makeDirectory(dir)
            try AtomicFile.write(content, to: dir + "/" + digest + "." + AtomicFile.name(of: path), durable: durable)
        }
        try AtomicFile.makeDirectory(metadataDirectory)
        for (name, bytes) in change.metadata {
            guard SafeName.isFileName(name) else { throw FileError.unsafeName(name) }
            try AtomicFile.write(bytes, to: metadataDirectory + "/" + name, durable: durable)
        }
        try adopt(change)
        try? FileManager.default.removeItem(atPath: stagedDirectory)
    }

    /// Records files this machine just published (and so trusts) in its pin store.
    public func adopt(_ change: PublishedChange) throws {
        let pins = try DirectoryMetadataStore(directory: pinDirectory)
        for (name, bytes) in change.metadata {
            guard let role = DiskRepository.role(ofFile: name) else { continue }
            try pins.save(role: role, bytes: bytes)
        }
    }

    /// The role a metadata file name stands for (`3.root.json` → root, `timestamp.json` → timestamp,
    /// `7.a%2Fb.json` → a/b); nil for other names.
    public static func role(ofFile name: String) -> String? {
        guard name.hasSuffix(".json") else { return nil }
        let body = String(name.dropLast(5))
        if body == "timestamp" { return "timestamp" }
        guard let dot = body.firstIndex(of: "."), Int64(body[..<dot]) != nil else { return nil }
        return PercentEncoding.decode(String(body[body.index(after: dot)...]))
    }

    /// Writes a staged change to `staged/` (replacing any earlier one).
    /// - Throws: `FileError`.
    public func writeStaged(_ change: StagedChange) throws {
        try? FileManager.default.removeItem(atPath: stagedDirectory)
        try AtomicFile.makeDirectory(stagedDirectory + "/metadata")
        for (name, bytes) in change.storedFiles {
            guard SafeName.isFileName(name) else { throw FileError.unsafeName(name) }
            try AtomicFile.write(bytes, to: stagedDirectory + "/metadata/" + name)
        }
        for (path, content) in change.targetContents {
            try AtomicFile.makeDirectory(stagedDirectory + "/targets")
            try AtomicFile.write(content, to: stagedDirectory + "/targets/" + PercentEncoding.encode(path))
        }
    }

    /// Reads the change staged in `staged/`, or nil when there is none. Names are decoded strictly and
    /// checked; contents are checked by `RepositoryEditor.review(_:)`.
    /// - Throws: `RepositoryError.invalidStagedChange`, `FileError`.
    public func readStaged() throws -> StagedChange? {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: stagedDirectory + "/metadata").sorted() } catch { return nil }
        var files: [(String, [UInt8])] = []
        // Temporary files of an interrupted write are not part of the change.
        for name in names where !name.hasSuffix(AtomicFileWriter.temporarySuffix) {
            guard SafeName.isFileName(name), files.count < StagedChange.maxFiles else { throw RepositoryError.invalidStagedChange("unusable file name \"\(name)\"") }
            files.append((name, try AtomicFile.readExisting(stagedDirectory + "/metadata/" + name, limit: DiskRepository.readLimit)))
        }
        var contents: [(String, [UInt8])] = []
        for encoded in ((try? FileManager.default.contentsOfDirectory(atPath: stagedDirectory + "/targets")) ?? []).sorted()
            where !encoded.hasSuffix(AtomicFileWriter.temporarySuffix) {
            // Target names were fully percent-encoded when staged: decode strictly, then apply the path rules.
            guard let path = PercentEncoding.decode(encoded), PercentEncoding.encode(path) == encoded, SafeName.isRelativePath(path) else {
                throw RepositoryError.invalidStagedChange("staged target file \"\(encoded)\" does not name a safe relative path")
            }
            contents.append((path, try AtomicFile.readExisting(stagedDirectory + "/targets/" + encoded, limit: DiskRepository.readLimit)))
        }
        return try StagedChange(storedFiles: files, targetContents: contents)
    }

    /// Whether a change is staged.
    public var hasStagedChange: Bool { AtomicFile.exists(stagedDirectory + "/metadata") }

    /// Removes the staged change.
    public func removeStaged() { try? FileManager.default.removeItem(atPath: stagedDirectory) }

    /// Pins `root` for the directory (a repository this machine just created).
    /// - Throws: `TUFError`.
    public func pin(root: [UInt8]) throws {
        try DirectoryMetadataStore(directory: pinDirectory).save(role: "root", bytes: root)
    }
}
