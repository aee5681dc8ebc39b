import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetOCI
import SignetTUF

/// The trust index manifest (`docs/tuf-on-oci.md`): an OCI image manifest whose layers are the TUF
/// metadata files of one repository state, each titled with its TUF file name. It is untrusted: only
/// a directory listing for the TUF client.
public struct TrustIndex: Sendable {
    public static let artifactType = "application/vnd.signet.tuf.index.v1"
    public static let metadataMediaType = "application/vnd.signet.tuf.metadata.v1+json"
    public static let emptyMediaType = "application/vnd.oci.empty.v1+json"
    public static let titleAnnotation = "org.opencontainers.image.title"
    public static let emptyBlob: [UInt8] = Array("{}".utf8)
    /// Most files one index may list. A repository state has its root versions, timestamp, snapshot and
    /// one file per targets role; 16 384 leaves room for 8 192 hash bins with every root version.
    public static let maxFiles = 16_384

    /// Metadata files by TUF file name.
    public var files: [String: Descriptor]

    /// Parses a trust index manifest (already bounded and digest-checked by the caller or not: it is untrusted).
    /// - Throws: `TrustError.invalidIndex`.
    public init(manifestBytes: [UInt8]) throws(TrustError) {
        let json: JSONValue
        do { json = try JSONParser.parse(manifestBytes, limits: JSONLimits(maxBytes: max(manifestBytes.count, 1), maxDepth: 16)) } catch {
            throw TrustError.invalidIndex("not strict JSON: \(error)")
        }
        guard json["artifactType"]?.stringValue == TrustIndex.artifactType else {
            throw TrustError.invalidIndex("artifactType is not \(TrustIndex.artifactType)")
        }
        guard let layers = json["layers"]?.arrayValue else { throw TrustError.invalidIndex("no layers") }
        guard layers.count <= TrustIndex.maxFiles else {
            throw TrustError.invalidIndex("it lists \(layers.count) files, more than the \(TrustIndex.maxFiles) a repository state can have")
        }
        var files: [String: Descriptor] = [:]
        for layer in layers {
            let d: Descriptor
            do { d = try Descriptor(json: layer, what: "trust index layer") } catch { throw TrustError.invalidIndex("\(error)") }
            guard let title = d.annotation(TrustIndex.titleAnnotation), SafeName.isFileName(title) else {
                throw TrustError.invalidIndex("layer \(d.digest) has no usable title (a file name other than \".\" and \"..\", without \"/\")")
            }
            guard files[title] == nil else { throw TrustError.invalidIndex("file \(title) listed twice") }
            files[title] = d
        }
        self.files = files
    }

    init(files: [String: Descriptor]) { self.files = files }

    /// The manifest bytes for a set of metadata files (sorted by name for a deterministic index).
    public static func manifest(for files: [(String, [UInt8])], created: String, storage: TrustStorage = .normal) throws -> [UInt8] {
        var layers: [JSONValue] = []
        for (name, bytes) in files.sorted(by: { $0.0 < $1.0 }) {
            var annotations = JSONObject()
            annotations[titleAnnotation] = .string(name)
            let d = Descriptor(mediaType: metadataMediaType, digest: try SHA256.hash(bytes), size: Int64(bytes.count), annotations: annotations)
            layers.append(d.jsonValue)
        }
        var manifest = JSONObject()
        manifest["schemaVersion"] = .integer(2)
        manifest["mediaType"] = .string(MediaType.ociManifest)
        manifest["artifactType"] = .string(artifactType)
        manifest["config"] = Descriptor(mediaType: emptyMediaType, digest: try SHA256.hash(emptyBlob), size: 2).jsonValue
        manifest["layers"] = .array(layers)
        var annotations = JSONObject()
        annotations["org.opencontainers.image.created"] = .string(created)
        if storage == .versioned { annotations[RegistryTrust.storageAnnotation] = .string(TrustStorage.versioned.rawValue) }
        manifest["annotations"] = .object(annotations)
        return try CanonicalJSON.encode(.object(manifest))
    }

    /// Uploads the metadata blobs and an index manifest listing them to `repository`: by digest, and
    /// under `tag` when given.
    /// - Returns: the manifest's bytes and digest.
    /// Uploads the metadata blobs (and the empty config) of `files`, then the index manifest by digest
    /// (unless `putByDigest` is false: the caller tags it itself), then `tag` when given. Blobs whose digests are in `present` (those the current verified index
    /// lists, which the registry keeps while that index references them) are not sent again; with a
    /// `present` set, other blobs are new by construction and sent without asking first. Up to four
    /// uploads run at once.
    static func upload(_ files: [(name: String, bytes: [UInt8])], repository: String, client: RegistryClient, tag: String?,
                       created: Int64, storage: TrustStorage = .normal, present: Set<Digest> = [],
                       putByDigest: Bool = true) throws(TrustError) -> (bytes: [UInt8], digest: Digest) {
        do {
            var pending: [(Descriptor, [UInt8])] = []
            let empty = Descriptor(mediaType: emptyMediaType, digest: try SHA256.hash(emptyBlob), size: 2)
            if present.isEmpty { pending.append((empty, emptyBlob)) }   // an existing index has it as its config
            var seen = present
            for (_, bytes) in files {
                let d = Descriptor(mediaType: metadataMediaType, digest: try SHA256.hash(bytes), size: Int64(bytes.count))
                if seen.insert(d.digest).inserted { pending.append((d, bytes)) }
            }
            let checkExisting = present.isEmpty
            let work = pending
            // Up to four uploads at once, each on its own thread (they wait on the network, not the CPU).
            _ = try runConcurrently(work.count, concurrency: 4) { i, _ throws(OCIError) in
                _ = try client.uploadBlob(repository: repository, descriptor: work[i].0, source: .bytes(work[i].1), checkExisting: checkExisting)
            }
            let manifest = try TrustIndex.manifest(for: files.map { ($0.name, $0.bytes) }, created: TUFDate.format(created), storage: storage)
            let digest = try SHA256.hash(manifest)
            let put: Result<Digest, OCIError>
            do throws(OCIError) {
                if putByDigest {
                    put = .success(try client.putManifest(repository: repository, reference: digest.ociString, bytes: manifest, mediaType: MediaType.ociManifest))
                } else {
                    put = .success(digest)
                }
            } catch { put = .failure(error) }
            if case .failure(let e) = put {
                // A blob the previous index lists is gone (deleted through the API): send everything.
                if !present.isEmpty, case .registry(_, _, let code, _) = e, code?.hasSuffix("BLOB_UNKNOWN") == true {
                    return try upload(files, repository: repository, client: client, tag: tag, created: created, storage: storage, present: [],
                                      putByDigest: putByDigest)
                }
                throw e
            }
            if let tag { _ = try client.putManifest(repository: repository, reference: tag, bytes: manifest, mediaType: MediaType.ociManifest) }
            return (manifest, digest)
        } catch let e as OCIError { throw TrustError.oci(e) } catch { throw TrustError.wrap(error) }
    }
}
