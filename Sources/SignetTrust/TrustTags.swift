import FoundationEssentials
import Glibc
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetJSON
import SignetOCI
import SignetTUF

/// Where a repository keeps its trust index and its waiting change (docs/tuf-on-oci.md, "Storage").
///
/// - `normal`: the tags `_tuf` and `_tuf-staged`, moved on every publish.
/// - `versioned`, for registries whose tags cannot move (immutable tags): `_tuf` holds the first state
///   and is never moved; later states go to `_tuf.2`, `_tuf.3`, …, waiting changes to `_tuf-staged.1`,
///   `_tuf-staged.2`, … Clients find the newest by probing upward from the last one they saw, as root
///   versions are found. Root's `signed` records the mode (`x-signet-storage`), so a client that verified
///   the trust data knows where to look even if the unsigned hint on `_tuf` is stripped.
public enum TrustStorage: String, Sendable {
    case normal
    case versioned
}

extension RegistryTrust {
    /// The field of root's `signed` naming the storage mode ("versioned"; absent for normal).
    public static let storageField = RepositoryEditor.storageField
    /// The annotation of a trust index manifest hinting at versioned storage (unsigned: a hint only).
    public static let storageAnnotation = "org.signet.trust.storage"

    /// The local record of the storage mode and the newest versions seen (`$PIN/storage.json`).
    var storageRecordPath: String { trustDirectory + "/storage.json" }

    struct StorageRecord {
        var index: Int
        var staged: Int
    }

    func readStorageRecord() -> StorageRecord? {
        guard let bytes = try? AtomicFile.read(storageRecordPath, limit: 4096), let v = try? JSONParser.parse(bytes),
              v["storage"]?.stringValue == TrustStorage.versioned.rawValue,
              case .integer(let index)? = v["index"], case .integer(let staged)? = v["staged"], index >= 1, staged >= 0 else { return nil }
        return StorageRecord(index: Int(index), staged: Int(staged))
    }

    func writeStorageRecord(_ r: StorageRecord) {
        var o = JSONObject()
        o["storage"] = .string(TrustStorage.versioned.rawValue)
        o["index"] = .integer(Int64(r.index))
        o["staged"] = .integer(Int64(r.staged))
        try? AtomicFile.makeDirectory(trustDirectory)
        try? AtomicFile.write(JSONWriter.encode(.object(o)), to: storageRecordPath)
    }

    /// The storage mode: what this machine recorded, else the hint on `_tuf` (verified later against
    /// root's field).
    public func storage() throws(TrustError) -> TrustStorage {
        if let known = storageOverride { return known }
        if readStorageRecord() != nil {
            storageOverride = .versioned
            return .versioned
        }
        let fetched: (bytes: [UInt8], contentType: String?)
        do {
            fetched = try fetchTrustTagManifest()
        } catch {
            if case .notFound = error { return .normal }
            if case .tooLarge = error { return .normal }   // not a trust index; fetchIndex reports it
            throw TrustError.oci(error)
        }
        return takeTrustTagManifest(fetched.bytes)
    }

    /// The storage mode a manifest under `_tuf` hints at (unsigned: verified later against root).
    static func storageHint(_ manifest: [UInt8]) -> TrustStorage {
        let hinted = (try? JSONParser.parse(manifest))?["annotations"]?[RegistryTrust.storageAnnotation]?.stringValue
        return hinted == TrustStorage.versioned.rawValue ? .versioned : .normal
    }

    /// Takes a manifest just read under `_tuf`: the storage mode from its hint when none is known yet,
    /// and, in normal storage, the bytes for the next `fetchIndex()` (so the index is read once).
    func takeTrustTagManifest(_ manifest: [UInt8]) -> TrustStorage {
        let mode = storageOverride ?? RegistryTrust.storageHint(manifest)
        storageOverride = mode
        if mode == .normal { trustTagManifest = manifest }
        return mode
    }

    /// The tag of version `n` of a versioned tag family (`_tuf` for the index's first state).
    func versionedTag(_ base: String, _ n: Int) -> String {
        base == options.trustTag && n == 1 ? base : "\(base).\(n)"
    }

    /// Whether a tag exists (HEAD).
    func tagExists(_ tag: String) throws(TrustError) -> Bool {
        do { return try client.headManifest(repository: repository, reference: tag) != nil } catch { throw TrustError.oci(error) }
    }

    /// The newest version of `base` at or after `known` (0: none; for the index, 1 is `_tuf` itself):
    /// exponential probing upward, then bisection. Versions are published one after the other, so there
    /// are no gaps.
    func latestVersion(_ base: String, from known: Int) throws(TrustError) -> Int {
        var low = known
        // A remembered version that is not there (a record pushed up by a registry that answered for
        // tags it did not hold) is not trusted as a starting point: the search starts again from 1.
        if low > 1, try !tagExists(versionedTag(base, low)) { low = 0 }
        if low == 0 {
            guard try tagExists(versionedTag(base, 1)) else { return 0 }
            low = 1
        }
        var step = 1
        while try tagExists(versionedTag(base, low + step)) {
            low += step
            step *= 2
            guard step < 1 << 20 else { break }
        }
        var high = low + step
        while high - low > 1 {
            let mid = (low + high) / 2
            if try tagExists(versionedTag(base, mid)) { low = mid } else { high = mid }
        }
        return low
    }

    /// The tag holding the current trust index, and its version (1 in normal storage; 0 when a versioned
    /// repository has no trust index yet).
    public func currentIndexTag() throws(TrustError) -> (tag: String, version: Int) {
        guard try storage() == .versioned else { return (options.trustTag, 1) }
        let n = try latestVersion(options.trustTag, from: readStorageRecord()?.index ?? 0)
        return (versionedTag(options.trustTag, max(1, n)), n)
    }

    /// The tag holding the waiting change, if any, and its version (0 in normal storage).
    public func currentStagedTag() throws(TrustError) -> (tag: String, version: Int)? {
        guard try storage() == .versioned else { return (options.stagedTag, 0) }
        let n = try latestVersion(options.stagedTag, from: readStorageRecord()?.staged ?? 0)
        return n == 0 ? nil : (versionedTag(options.stagedTag, n), n)
    }

    /// Publishes a trust index manifest as the new current index: moves `_tuf` (normal), or tags the next
    /// version, which must not exist yet (versioned). Reads it back.
    /// - Throws: `TrustError.conflict` when another publisher got there first.
    func putIndexManifest(_ bytes: [UInt8], digest: Digest) throws(TrustError) {
        let tag: String
        if try storage() == .versioned {
            let (_, n) = try currentIndexTag()
            tag = versionedTag(options.trustTag, n + 1)
            guard try !tagExists(tag) else {
                throw TrustError.conflict("another publisher published \(tag) of \(reference.name) at the same time; run the command again")
            }
        } else {
            tag = options.trustTag
        }
        TestHooks.faultPoint("before-trust-tag", path: tag)
        trustTagManifest = nil
        publishAttempted = true
        do { _ = try client.putManifest(repository: repository, reference: tag, bytes: bytes, mediaType: MediaType.ociManifest) } catch {
            if case .registry(_, _, let code, _) = error, code?.hasSuffix("BLOB_UNKNOWN") == true { throw TrustError.oci(error) }
            if case .registry(_, let status, _, _) = error, status == 400 || status == 409 {
                throw TrustError.conflict("the registry refused to tag \(tag) of \(reference.name) (HTTP \(status)); another publisher may have published first; run the command again")
            }
            throw TrustError.oci(error)
        }
        if tag == options.trustTag { keepIndex(bytes) }   // the read-back below is then answered 304
        guard try fetchIndex()?.1 == digest else {
            throw TrustError.conflict("another publisher moved the trust data of \(reference.name) at the same time; their change won; run the command again")
        }
    }

    /// Publishes a waiting change (or, with no files, says none waits): `_tuf-staged` (normal) or the
    /// next `_tuf-staged.K` (versioned).
    func putStagedIndex(_ files: [(name: String, bytes: [UInt8])]) throws(TrustError) {
        if !files.isEmpty { publishAttempted = true }
        if try storage() == .versioned {
            let current = try currentStagedTag()?.version ?? 0
            if files.isEmpty && current == 0 { return }   // nothing ever waited
            let tag = versionedTag(options.stagedTag, current + 1)
            _ = try TrustIndex.upload(files, repository: repository, client: client, tag: tag, created: options.clock(), storage: .versioned)
            var record = readStorageRecord() ?? StorageRecord(index: 1, staged: 0)
            record.staged = current + 1
            writeStorageRecord(record)
        } else {
            _ = try TrustIndex.upload(files, repository: repository, client: client, tag: options.stagedTag, created: options.clock())
        }
    }

    /// Records what a successful refresh saw (versioned storage only).
    func recordStorage(indexVersion: Int) {
        var record = readStorageRecord() ?? StorageRecord(index: 1, staged: 0)
        record.index = max(record.index, indexVersion)
        writeStorageRecord(record)
    }
}
