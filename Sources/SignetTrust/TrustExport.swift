import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetOCI
import SignetTUF

/// Signed images with their trust data for sites without network: `export` writes an OCI image layout
/// (every platform; `index.json` names each image by its tag, so skopeo and umoci read it) plus the
/// complete verified trust data in `signet-trust/`; `importLayout` checks it offline from this machine's
/// pinned root for the original repository, pushes it into a registry inside, and verifies it there.
public enum TrustExport {
    /// `signet-trust/export.json`: what was exported (not trusted; the metadata decides).
    static let descriptionFile = "signet-trust/export.json"
    /// The metadata files, as the trust index lists them.
    static let metadataDirectory = "signet-trust/remote"
    /// All metadata files of an export together (each at most 64 MiB).
    static let maxMetadataBytes = 512 << 20

    /// Writes `tags` (nil: every signed tag) of the verified `trust` into the layout at `directory`.
    /// - Returns: the tags and digests written.
    public static func export(_ trust: RegistryTrust, root: RootChoice, tags wanted: [String]?, to directory: String,
                              progress: (@Sendable (TransferEvent) -> Void)? = nil) throws(TrustError) -> [(tag: String, digest: Digest)] {
        let (state, verified) = try trust.verifiedState(root, expired: .refuse)
        let all = TrustCopy.signedTags(trust, state: state, verified: verified)
        var targets: [TrustedTarget] = []
        if let wanted {
            for tag in wanted {
                guard let t = all.first(where: { $0.tag == tag }) else { throw TrustError.unsignedTag(tag: tag, repository: trust.reference.name) }
                targets.append(t)
            }
        } else {
            targets = all
        }
        var out: [(String, Digest)] = []
        do {
            for target in targets {
                _ = try ImagePuller(client: trust.client, progress: progress).pull(
                    trust.reference.with(digest: target.digest), trust: .digest(target.digest, size: target.length), to: .layout(directory),
                    options: PullOptions(platforms: .all, refName: target.tag))
                out.append((target.tag, target.digest))
            }
            let metadata = directory + "/" + metadataDirectory
            try? FileManager.default.removeItem(atPath: metadata)
            try AtomicFile.makeDirectory(metadata)
            for (name, bytes) in verified.files { try AtomicFile.write(bytes, to: metadata + "/" + name) }
            var tagObject = JSONObject()
            for (tag, digest) in out { tagObject[tag] = .string(digest.ociString) }
            var description = JSONObject()
            description["format"] = .integer(1)
            description["repository"] = .string(trust.identity)
            description["exported"] = .string(TUFDate.format(trust.options.clock()))
            description["tags"] = .object(tagObject)
            try AtomicFile.write(JSONWriter.encode(.object(description), pretty: true), to: directory + "/" + descriptionFile)
        } catch let e as TrustError { throw e } catch let e as OCIError { throw TrustError.oci(e) } catch { throw TrustError.wrap(error) }
        return out
    }

    /// What an import did.
    public struct Imported: Sendable {
        /// The repository whose trust data the export carries (its identity).
        public let original: String
        public let tags: [(tag: String, digest: Digest)]
    }

    /// Checks the export at `directory` offline — its trust data from this machine's pinned root for
    /// the original repository (or `root` when nothing is pinned), under `expired`; each image named in
    /// `index.json` must be what the trust data signs for that tag — then pushes the images and the trust
    /// data, unchanged, to `destination` and verifies them there.
    /// - Throws: `TrustError` (nothing is pushed when the export does not verify).
    public static func importLayout(_ directory: String, to destination: ImageReference, client: RegistryClient, home: String,
                                    root: RootChoice, expired: ExpiredMetadata, clock: @escaping @Sendable () -> Int64,
                                    progress: (@Sendable (TransferEvent) -> Void)? = nil) throws(TrustError) -> Imported {
        // The untrusted description only says which repository's pin applies.
        let descriptionBytes: [UInt8]
        do {
            guard let b = try AtomicFile.readRegularFile(directory + "/" + descriptionFile, limit: 1 << 20) else {
                throw TrustError.usage("\(directory) is not a Signet export (no \(descriptionFile)); make one with `signet export`")
            }
            descriptionBytes = b
        } catch let e as TrustError { throw e } catch { throw TrustError.wrap(error) }
        guard let description = try? JSONParser.parse(descriptionBytes), let original = description["repository"]?.stringValue,
              let originalReference = try? ImageReference(parsing: original), originalReference.tag == nil, originalReference.digest == nil else {
            throw TrustError.usage("\(directory)/\(descriptionFile) does not name a repository")
        }
        // The metadata files.
        var files: [(name: String, bytes: [UInt8])] = []
        do {
            let names = try AtomicFile.list(directory + "/" + metadataDirectory).sorted()
            guard names.count <= TrustIndex.maxFiles else { throw TrustError.invalidIndex("the export holds more than \(TrustIndex.maxFiles) metadata files") }
            var total = 0
            for name in names where name.hasSuffix(".json") && SafeName.isFileName(name) {
                guard let bytes = try AtomicFile.readRegularFile(directory + "/" + metadataDirectory + "/" + name, limit: 64 << 20) else { continue }
                total += bytes.count
                guard total <= TrustExport.maxMetadataBytes else {
                    throw TrustError.invalidIndex("the export's metadata is larger than \(TrustExport.maxMetadataBytes >> 20) MiB")
                }
                files.append((name, bytes))
            }
        } catch let e as TrustError { throw e } catch { throw TrustError.usage("cannot read \(directory)/\(metadataDirectory): \(error)") }
        // Verify them offline from this machine's trust for the original repository.
        let pinDirectory = RegistryTrust.trustDirectory(home: home, reference: originalReference)
        let pinned: [UInt8]?
        do { pinned = try AtomicFile.read(pinDirectory + "/root.json", limit: UpdaterConfig().rootMaxLength) } catch { throw TrustError.file(error) }
        guard let anchor = pinned ?? root.given?.bytes else { throw TrustError.notPinnedOffline(original) }
        var descriptors: [String: Descriptor] = [:]
        var local: [Digest: [UInt8]] = [:]
        for (name, bytes) in files {
            guard let d = try? SHA256.hash(bytes) else { continue }
            descriptors[name] = Descriptor(mediaType: TrustIndex.metadataMediaType, digest: d, size: Int64(bytes.count))
            local[d] = bytes
        }
        let transport = IndexTransport(client: client, repository: destination.repository, index: TrustIndex(files: descriptors), local: local)
        let updater: Updater
        let verified: VerifiedRepository
        do {
            let floors = try DirectoryMetadataStore(directory: pinDirectory)
            let store = TransactionalMetadataStore(base: floors, seed: pinned == nil ? ["root": anchor] : [:])
            var config = UpdaterConfig()
            config.expiredMetadata = expired
            updater = try Updater(metadataBaseURL: IndexTransport.base, transport: transport, store: store, clock: clock, config: config)
            verified = try updater.verifiedRepository(earlierRoots: { v in local.values.first { b in
                (try? Metadata<Root>(bytes: b, file: "root.json"))?.signed.header.version == v } })
        } catch { throw TrustError.refreshFailed(error, repository: original) }
        try TrustChecks.identity(of: updater.trusted, is: original, display: "\(original) (the export's trust data)", where: "\(directory)/\(metadataDirectory)/")
        // Each image must be what the trust data signs for its tag.
        let layout: OCILayout
        let entries: [Descriptor]
        do {
            layout = try OCILayout(existingAt: directory)
            entries = try layout.readIndex()
        } catch { throw TrustError.oci(error) }
        var images: [(tag: String, digest: Digest)] = []
        for entry in entries {
            guard let tag = entry.annotation(Descriptor.refNameAnnotation) else { continue }
            let target: TargetFile
            do { target = try updater.lookup(tag) } catch {
                throw TrustError.unsignedTag(tag: tag, repository: "\(original) (in the export)")
            }
            guard target.sha256 == entry.digest else {
                throw TrustError.manifestMismatch("the export's image for \(tag) is \(entry.digest), but the trust data signs \(target.sha256?.ociString ?? "another digest")")
            }
            images.append((tag, entry.digest))
        }
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "signet-import") } catch { throw TrustError.file(error) }
        var options = TrustOptions(home: scratch.path + "/home")
        options.clock = clock
        options.expectedIdentity = original
        let check = RegistryTrust(reference: destination, client: client, options: options)
        // Not over a newer state of the same repository (an older export replayed would roll it back).
        let anchorChoice = RootChoice(given: (path: "this machine's root for \(original)", bytes: anchor))
        if let current = try check.trustTagContent(), current.isIndex,
           let theirs = try? check.refresh(anchorChoice, expired: expired, persist: false),
           let theirVersion = theirs.updater.trusted.timestamp?.signed.header.version,
           let ours = updater.trusted.timestamp?.signed.header.version, theirVersion > ours {
            throw TrustError.olderThanSeen("\(destination.name) holds newer trust data of \(original) (timestamp version \(theirVersion), the export's is \(ours)); nothing of it was replaced")
        }
        // Push, publish the trust data unchanged, verify at the destination.
        do {
            for (tag, digest) in images {
                let pushed = try ImagePusher(client: client, progress: progress).push(layoutPath: directory, to: try ImageReference(parsing: "\(destination.name):\(tag)"),
                                                                                     options: PushOptions(refName: tag))
                guard pushed.manifest.digest == digest else { throw TrustError.manifestMismatch("pushed \(pushed.manifest.digest) for \(tag), expected \(digest)") }
            }
        } catch let e as TrustError { throw e } catch let e as OCIError { throw TrustError.oci(e) } catch { throw TrustError.wrap(error) }
        // Only what verified is published: the files the TUF workflow read, never the directory's listing.
        try TrustCopy.publishIndex(verified.files, at: check)
        let state = try check.refresh(anchorChoice, expired: expired, persist: false)
        for (tag, digest) in images {
            guard try check.verifyTag(tag, state: state, checkRegistryTag: true).target.digest == digest else {
                throw TrustError.manifestMismatch("at \(destination.name), \(tag) does not verify as \(digest)")
            }
        }
        return Imported(original: original, tags: images)
    }
}
