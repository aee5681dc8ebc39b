import FoundationEssentials
import Glibc
import SignetFiles
import SignetCrypto
import SignetJSON

/// An OCI image layout directory (OCI image spec `image-layout.md`): `oci-layout`, `index.json`
/// and content-addressed `blobs/<algorithm>/<hex>`.
///
/// Blobs are written through a staging file in `.signet-staging/` (same file system) and renamed
/// into `blobs/` only after their digest and size were verified, after an `fsync`; so `blobs/`
/// never holds unverified content, even after a crash. `index.json` is replaced atomically.
public struct OCILayout: Sendable {
    /// The layout's root directory.
    public let root: String
    /// When true, blobs are renamed into place without `fsync`. Removes durability across an
    /// operating-system crash or power loss: afterwards a blob file may be empty or partial (the
    /// next pull re-verifies and replaces it, but other readers of the layout would not notice).
    /// Interrupting the process still never leaves an unverified blob. Default false.
    public var unsafeSkipFsync = false

    /// The content of `oci-layout`.
    static let layoutFileContent = Array("{\"imageLayoutVersion\":\"1.0.0\"}".utf8)
    /// Largest `index.json` read: 16 MiB.
    static let maxIndexBytes = 16 << 20
    /// Name of the staging directory inside the layout.
    static let stagingDirectoryName = ".signet-staging"

    /// Opens an existing layout (for reading, or adding to it).
    ///
    /// - Throws: `OCIError.invalidLayout` when `oci-layout` is missing or names another version.
    public init(existingAt root: String) throws(OCIError) {
        self.root = OCILayout.trimmed(root)
        let marker = self.root + "/oci-layout"
        let bytes = try OCILayout.readFile(marker, limit: 64 * 1024)
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .invalidLayout(path: root, reason: "oci-layout is not valid JSON: \(error)")
        }
        guard let version = json["imageLayoutVersion"]?.stringValue else {
            throw .invalidLayout(path: root, reason: "oci-layout has no string \"imageLayoutVersion\"")
        }
        guard version.hasPrefix("1.") else {
            throw .invalidLayout(path: root, reason: "unsupported imageLayoutVersion \(quoted(version)) (expected 1.x)")
        }
    }

    /// Opens the layout at `root`, creating the directory, `oci-layout`, `blobs/` and an empty
    /// `index.json` when they do not exist yet.
    ///
    /// - Throws: `OCIError.io` when the directory cannot be created or written;
    ///   `.invalidLayout` when `root` holds an `oci-layout` of another version.
    public init(creatingAt root: String) throws(OCIError) {
        let trimmed = OCILayout.trimmed(root)
        try OCILayout.makeDirectory(trimmed)
        try OCILayout.makeDirectory(trimmed + "/blobs")
        if !FileManager.default.fileExists(atPath: trimmed + "/oci-layout") {
            try OCILayout.writeAtomically(OCILayout.layoutFileContent, to: trimmed + "/oci-layout", in: trimmed)
        }
        try self.init(existingAt: trimmed)
        if !FileManager.default.fileExists(atPath: trimmed + "/index.json") {
            try writeIndex([])
        }
    }

    /// The path of a blob (whether or not it exists).
    public func blobPath(_ digest: Digest) -> String {
        root + "/blobs/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    /// The entries of `index.json`.
    ///
    /// - Throws: `OCIError.invalidLayout` when `index.json` is missing, too large or malformed.
    public func readIndex() throws(OCIError) -> [Descriptor] {
        let path = root + "/index.json"
        let bytes: [UInt8]
        do {
            bytes = try OCILayout.readFile(path, limit: OCILayout.maxIndexBytes)
        } catch {
            throw .invalidLayout(path: root, reason: "cannot read index.json: \(error)")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .invalidLayout(path: root, reason: "index.json is not valid JSON: \(error)")
        }
        guard json["schemaVersion"]?.integerValue == 2 else {
            throw .invalidLayout(path: root, reason: "index.json needs \"schemaVersion\": 2")
        }
        guard let entries = json["manifests"]?.arrayValue else {
            throw .invalidLayout(path: root, reason: "index.json has no \"manifests\" array")
        }
        var result: [Descriptor] = []
        for (position, entry) in entries.enumerated() {
            do {
                result.append(try Descriptor(json: entry, what: "index.json entry \(position + 1)"))
            } catch {
                throw .invalidLayout(path: root, reason: "\(error)")
            }
        }
        return result
    }

    /// Replaces `index.json` atomically with an index of `manifests`.
    ///
    /// - Throws: `OCIError.io`.
    public func writeIndex(_ manifests: [Descriptor]) throws(OCIError) {
        let index: JSONValue = [
            "schemaVersion": 2,
            "mediaType": .string(MediaType.ociIndex),
            "manifests": .array(manifests.map(\.jsonValue)),
        ]
        try OCILayout.writeAtomically(JSONWriter.encode(index, pretty: true), to: root + "/index.json", in: root)
    }

    /// Adds `descriptor` to `index.json`, replacing entries with the same `ref.name` annotation
    /// (or, without one, the same digest).
    ///
    /// - Throws: `OCIError.invalidLayout` for an unreadable index, `.io`.
    public func addToIndex(_ descriptor: Descriptor) throws(OCIError) {
        let name = descriptor.annotation(Descriptor.refNameAnnotation)
        var entries = try readIndex().filter { entry in
            if let name { return entry.annotation(Descriptor.refNameAnnotation) != name }
            return entry.digest != descriptor.digest
        }
        entries.append(descriptor)
        try writeIndex(entries)
    }

    /// Whether the blob exists with exactly the descriptor's size and digest. A file that is
    /// present but wrong is deleted (it can only be corrupt), so that it is fetched again.
    ///
    /// - Throws: `OCIError.io` when the file cannot be read or removed.
    public func hasVerifiedBlob(_ descriptor: Descriptor) throws(OCIError) -> Bool {
        let path = blobPath(descriptor.digest)
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        guard (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) == descriptor.size,
              try OCILayout.hashFile(path, algorithm: descriptor.digest.algorithm) == descriptor.digest
        else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .io(path: path, detail: "cannot remove a corrupt blob: \(errnoText())")
            }
            return false
        }
        return true
    }

    /// Reads a file of the layout (which someone else may have written): bounded, and only a regular
    /// file (a FIFO or device is refused without waiting on it). Symbolic links are followed, as layout
    /// builders link blobs to their build outputs; what is read is checked against its digest.
    static func readFile(_ path: String, limit: Int) throws(OCIError) -> [UInt8] {
        do throws(FileError) {
            guard let bytes = try AtomicFile.readRegularFile(path, limit: limit, followingLinks: true) else { throw .io(path: path, detail: "no such file") }
            return bytes
        } catch {
            if case .tooLarge = error { throw .tooLarge(what: path, limit: Int64(limit)) }
            throw .io(path: path, detail: error.detail)
        }
    }

    /// Reads a blob of at most `maxBytes` and verifies its size and digest against `descriptor`.
    ///
    /// - Throws: `OCIError.invalidLayout` when it is missing, `.tooLarge`, `.sizeMismatch`,
    ///   `.digestMismatch`.
    public func readVerifiedBlob(_ descriptor: Descriptor, maxBytes: Int, what: String) throws(OCIError) -> [UInt8] {
        let path = blobPath(descriptor.digest)
        guard FileManager.default.fileExists(atPath: path) else {
            throw .invalidLayout(path: root, reason: "\(what): blob \(descriptor.digest) is missing")
        }
        guard descriptor.size <= Int64(maxBytes) else { throw .tooLarge(what: what, limit: Int64(maxBytes)) }
        let bytes = try OCILayout.readFile(path, limit: maxBytes)
        guard Int64(bytes.count) == descriptor.size else {
            throw .sizeMismatch(what: "\(what) (\(path))", expected: descriptor.size, received: Int64(bytes.count))
        }
        let computed = try computeDigest(descriptor.digest.algorithm, bytes)
        guard computed == descriptor.digest else {
            throw .digestMismatch(what: "\(what) (\(path))", expected: descriptor.digest.ociString, received: computed.ociString)
        }
        return bytes
    }

    /// Stores bytes already verified against `digest` (a manifest) atomically.
    ///
    /// - Throws: `OCIError.io`.
    func storeVerified(_ bytes: [UInt8], digest: Digest) throws(OCIError) {
        let directory = root + "/blobs/" + digest.algorithm.rawValue
        try OCILayout.makeDirectory(directory)
        let staging = try makeStagingFile(for: digest)
        do throws(FileError) { try staging.write(bytes) } catch {
            staging.discard()
            throw .io(path: error.path, detail: error.detail)
        }
        try commit(staging, digest: digest)
    }

    /// A new staging file for the blob `digest`, in the layout's staging directory.
    func makeStagingFile(for digest: Digest) throws(OCIError) -> AtomicFileWriter {
        let directory = root + "/" + OCILayout.stagingDirectoryName
        try OCILayout.makeDirectory(directory)
        do throws(FileError) { return try AtomicFileWriter(directory: directory, name: digest.hex, durable: !unsafeSkipFsync, locked: true) } catch {
            throw .io(path: error.path, detail: error.detail)
        }
    }

    /// Moves a completely written, verified staging file to its place in `blobs/`: fsync, rename,
    /// fsync of the directory.
    func commit(_ staging: AtomicFileWriter, digest: Digest) throws(OCIError) {
        let directory = root + "/blobs/" + digest.algorithm.rawValue
        try OCILayout.makeDirectory(directory)
        do throws(FileError) { try staging.commit(to: blobPath(digest)) } catch {
            throw .io(path: error.path, detail: "cannot move the verified blob into place: \(error.detail)")
        }
    }

    /// Removes the staging directory if it is empty.
    func removeStagingDirectoryIfEmpty() {
        rmdir(root + "/" + OCILayout.stagingDirectoryName)
    }

    /// Deletes staging files left by a process that was killed: a pull holds a lock on each file it
    /// writes, so a `.partial` file nobody holds is abandoned (killed processes lose their locks).
    /// Files caught between creation and locking (`.locking`) are removed once older than `age`
    /// seconds. Never throws; files that cannot be removed are left alone.
    public func removeStaleStagingFiles(olderThan age: Double = 3600) {
        let directory = root + "/" + OCILayout.stagingDirectoryName
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let cutoff = Date().addingTimeInterval(-age)
        for name in names {
            let path = directory + "/" + name
            if name.hasSuffix(AtomicFileWriter.temporarySuffix) {
                if AtomicFileWriter.isAbandoned(path) { unlink(path) }
            } else if name.hasSuffix(AtomicFileWriter.lockingSuffix),
                      let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff {
                unlink(path)
            }
        }
    }

    // MARK: - File helpers

    static func trimmed(_ path: String) -> String {
        var text = path
        while text.count > 1 && text.hasSuffix("/") { text.removeLast() }
        return text.isEmpty ? "." : text
    }

    static func makeDirectory(_ path: String) throws(OCIError) {
        do throws(FileError) { try AtomicFile.makeDirectory(path) } catch { throw .io(path: path, detail: error.detail) }
    }

    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
    static func writeAtomically(_ bytes: [UInt8], to path: String, in directory: String) throws(OCIError) {
        do throws(FileError) { try AtomicFile.write(bytes, to: path) } catch { throw .io(path: path, detail: error.detail) }
    }

    /// The digest of a file's content, read in 1 MiB pieces.
    static func hashFile(_ path: String, algorithm: DigestAlgorithm) throws(OCIError) -> Digest {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, detail: "cannot open: \(errnoText())") }
        defer { close(descriptor) }
        let hasher = try makeHasher(algorithm)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, detail: "read failed: \(errnoText())")
            }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return hasher.finalize()
    }
}
