import FoundationEssentials
import Glibc
import SignetFiles
import SignetCrypto
import SignetJSON

/// Which manifests of an index to pull.
public enum PlatformSelection: Sendable, Equatable {
    /// The platform this program runs on (`Platform.host`).
    case host
    /// One given platform.
    case platform(Platform)
    /// Every manifest of the index.
    case all
}

/// What the top-level manifest is checked against.
public enum ManifestTrust: Sendable {
    /// The manifest must hash to this digest (and have this size, when given). The digest comes
    /// from the reference itself or from trust data the caller verified.
    case digest(Digest, size: Int64?)
    /// Resolve the tag and accept whatever manifest the registry returns for it. Removes the
    /// guarantee that the image is the one intended: anyone who controls the registry or the
    /// network path can substitute another image. Everything below the manifest is still verified.
    case unsafeUnverifiedTag
}

/// Where pulled content goes.
public enum PullDestination: Sendable, Equatable {
    /// An OCI image layout directory (created if needed; existing verified blobs are reused).
    case layout(String)
    /// Nowhere: every byte is downloaded and verified, nothing is stored.
    case verifyOnly
}

/// Settings of a pull.
public struct PullOptions: Sendable {
    /// Which manifests of an index to pull. Default: the host's platform.
    public var platforms: PlatformSelection
    /// How many blobs are fetched at the same time. Default 4.
    public var concurrency: Int
    /// The `org.opencontainers.image.ref.name` written to `index.json`. Default: the tag, else
    /// the manifest digest.
    public var refName: String?
    /// Skip `fsync` before moving verified blobs into place; see `OCILayout.unsafeSkipFsync` for
    /// the guarantee this removes. Default false.
    public var unsafeSkipFsync: Bool
    /// When set (for example from a signal handler), transfers stop at their next chunk, staging
    /// files are deleted and the pull throws `OCIError.cancelled`. Default nil.
    public var cancellation: CancellationFlag?

    /// Creates options; defaults as documented on each property.
    public init(platforms: PlatformSelection = .host, concurrency: Int = 4, refName: String? = nil,
                unsafeSkipFsync: Bool = false, cancellation: CancellationFlag? = nil) {
        self.platforms = platforms
        self.concurrency = concurrency
        self.refName = refName
        self.unsafeSkipFsync = unsafeSkipFsync
        self.cancellation = cancellation
    }
}

/// One blob of a pull result.
public struct PulledBlob: Sendable {
    /// The blob's descriptor (from a verified manifest).
    public var descriptor: Descriptor
    /// `config` or `layer`.
    public var role: String
    /// True when an already present, re-verified copy in the layout was used.
    public var reused: Bool
}

/// The outcome of a verified pull.
public struct PullResult: Sendable {
    /// The reference pulled, with the verified manifest digest filled in.
    public var reference: ImageReference
    /// The top-level manifest or index (digest, media type, size).
    public var manifest: Descriptor
    /// False when the tag was resolved without trust data (`ManifestTrust.unsafeUnverifiedTag`).
    public var tagVerified: Bool
    /// The image manifests pulled, each with its platform when known.
    public var images: [Descriptor]
    /// Every config and layer blob, verified.
    public var blobs: [PulledBlob]
    /// The entry written to the layout's `index.json` (nil for `.verifyOnly`).
    public var indexEntry: Descriptor?
    /// Bytes downloaded for blobs (reused blobs excluded).
    public var bytesDownloaded: Int64
}

/// Pulls images and verifies every byte: the manifest against a trusted digest, and each config
/// and layer blob against the digest and size in the verified manifest.
///
/// The flow (OCI distribution spec "Pulling manifests" / "Pulling blobs"): fetch the manifest by
/// digest, bounded by its expected size (or 4 MiB); verify; for an index, pick the platform(s) and
/// fetch those manifests by digest the same way; then fetch config and layers concurrently, each
/// streamed through a hash into a staging file that is renamed into `blobs/` only when its digest
/// and size match. Manifests are stored as the exact bytes received; `index.json` is written last.
public struct ImagePuller: Sendable {
    /// The registry client used for every request.
    public let client: RegistryClient
    /// Receives progress events, possibly from several threads.
    public let progress: (@Sendable (TransferEvent) -> Void)?

    /// Creates a puller.
    public init(client: RegistryClient, progress: (@Sendable (TransferEvent) -> Void)? = nil) {
        self.client = client
        self.progress = progress
    }

    /// Pulls `reference` into `destination`.
    ///
    /// - Parameter trust: what the top-level manifest must match. When `reference` carries a
    ///   digest, a `.digest` trust must name the same digest, and `.unsafeUnverifiedTag` is
    ///   treated as that digest.
    /// - Throws: `OCIError.invalidArgument` (conflicting digests, concurrency < 1), verification
    ///   failures (`.digestMismatch`, `.sizeMismatch`, `.tooLarge`, `.invalidManifest`,
    ///   `.unsupportedMediaType`, `.platformNotFound`), registry and network failures, `.io`.
    ///   After a failure, `blobs/` holds only verified blobs and `index.json` is unchanged.
    public func pull(_ reference: ImageReference, trust: ManifestTrust, to destination: PullDestination,
                     options: PullOptions = PullOptions()) throws(OCIError) -> PullResult {
        guard options.concurrency >= 1 else {
            throw .invalidArgument("concurrency must be at least 1, got \(options.concurrency)")
        }
        let repository = reference.repository
        let maxManifest = client.options.maxManifestBytes

        // 1. The top-level manifest, by digest when trusted.
        // A digest written in the reference is always checked, even when the tag is not trusted.
        var effectiveTrust = trust
        if case .unsafeUnverifiedTag = trust, let own = reference.digest {
            effectiveTrust = .digest(own, size: nil)
        }
        let top: VerifiedManifest
        let tagVerified: Bool
        switch effectiveTrust {
        case .digest(let digest, let size):
            if let own = reference.digest, own != digest {
                throw .invalidArgument("the reference names digest \(own) but the trusted digest is \(digest)")
            }
            if let size, size < 0 {
                throw .invalidArgument("the trusted manifest size is negative (\(size))")
            }
            if let size, size > Int64(maxManifest) {
                throw .descriptorTooLarge(what: "manifest \(digest)", size: size, limit: Int64(maxManifest))
            }
            let what = "manifest \(reference.name)@\(digest)"
            let fetched = try client.fetchManifest(repository: repository, reference: digest.ociString,
                                                   maxBytes: size.map { Int($0) }, what: what)
            top = try VerifiedManifest.verify(fetched.bytes, expectedDigest: digest, expectedSize: size,
                                              declaredMediaType: fetched.contentType, what: what)
            tagVerified = true
        case .unsafeUnverifiedTag:
            let what = "manifest \(reference.name):\(reference.tagOrDefault) (unverified tag)"
            let fetched = try client.fetchManifest(repository: repository, reference: reference.tagOrDefault, what: what)
            let digest = try computeDigest(.sha256, fetched.bytes)
            top = try VerifiedManifest.parse(fetched.bytes, digest: digest, declaredMediaType: fetched.contentType, what: what)
            tagVerified = false
        }

        // 2. The image manifests to pull.
        var images: [(manifest: VerifiedManifest, image: ImageManifest, platform: Platform?)] = []
        var indexEntry: Descriptor
        switch top.content {
        case .image(let image):
            images.append((top, image, nil))
            indexEntry = top.descriptor
        case .index(let index):
            let chosen = try ImagePuller.select(index, options.platforms, indexDigest: top.digest)
            for entry in chosen {
                let label = entry.platform.map { " (\($0))" } ?? ""
                let what = "manifest \(entry.digest)\(label) of index \(reference.name)@\(top.digest)"
                guard MediaType.isImageManifest(entry.mediaType) else {
                    throw .unsupportedMediaType(what: what + " (nested indexes are not pulled)", mediaType: entry.mediaType)
                }
                if entry.size > Int64(maxManifest) { throw .descriptorTooLarge(what: what, size: entry.size, limit: Int64(maxManifest)) }
                let fetched = try client.fetchManifest(repository: repository, reference: entry.digest.ociString,
                                                       maxBytes: Int(entry.size), what: what)
                let child = try VerifiedManifest.verify(fetched.bytes, expectedDigest: entry.digest, expectedSize: entry.size,
                                                        declaredMediaType: entry.mediaType, what: what)
                guard case .image(let image) = child.content else {
                    throw .invalidManifest(what: what, reason: "the index entry is an image manifest but the document is an index")
                }
                images.append((child, image, entry.platform))
            }
            if options.platforms == .all {
                indexEntry = top.descriptor
            } else {
                indexEntry = chosen[0]
                indexEntry.annotations = nil
            }
        }

        // 3. Blobs, each once.
        var blobs: [(descriptor: Descriptor, role: String)] = []
        var seen = Set<Digest>()
        for (_, image, _) in images {
            for (descriptor, role) in [(image.config, "config")] + image.layers.map({ ($0, "layer") })
            where seen.insert(descriptor.digest).inserted {
                blobs.append((descriptor, role))
            }
        }
        progress?(.plan(blobs: blobs.count, bytes: blobs.reduce(Int64(0)) { $0.addingReportingOverflow($1.descriptor.size).overflow ? Int64.max : $0 + $1.descriptor.size }))

        var layout: OCILayout? = nil
        if case .layout(let path) = destination {
            layout = try OCILayout(creatingAt: path)
            layout?.unsafeSkipFsync = options.unsafeSkipFsync
            layout?.removeStaleStagingFiles()
        }
        defer { layout?.removeStagingDirectoryIfEmpty() }

        // 4. Fetch config and layers concurrently.
        let count = blobs.count
        let name = reference.name
        let jobs = blobs
        let fetcher = BlobFetcher(client: client, repository: repository, layout: layout, progress: progress)
        let outcomes = try runConcurrently(count, concurrency: options.concurrency, cancellation: options.cancellation) { (index, flag) throws(OCIError) -> BlobOutcome in
            let (descriptor, role) = jobs[index]
            let what = "\(role) \(descriptor.digest) of \(name)"
            return try fetcher.fetch(descriptor, role: role, what: what, cancel: flag)
        }

        // 5. Manifests, then index.json: only now is the image complete and verified.
        var imageDescriptors: [Descriptor] = []
        for (manifest, image, platform) in images {
            var descriptor = manifest.descriptor
            descriptor.platform = platform ?? ImagePuller.platform(fromConfigOf: image, outcomes: outcomes, blobs: blobs)
            imageDescriptors.append(descriptor)
            if let layout, !(try layout.hasVerifiedBlob(manifest.descriptor)) {
                try layout.storeVerified(manifest.bytes, digest: manifest.digest)
            }
        }
        if case .image = top.content, let platform = imageDescriptors.first?.platform {
            indexEntry.platform = platform
        }
        var written: Descriptor? = nil
        if let layout {
            if options.platforms == .all, case .index = top.content, !(try layout.hasVerifiedBlob(top.descriptor)) {
                try layout.storeVerified(top.bytes, digest: top.digest)
            }
            var annotations = JSONObject()
            annotations[Descriptor.refNameAnnotation] = .string(options.refName ?? reference.tag ?? top.digest.ociString)
            indexEntry.annotations = annotations
            try layout.addToIndex(indexEntry)
            written = indexEntry
        }

        var pulled: [PulledBlob] = []
        var downloaded: Int64 = 0
        for (index, blob) in blobs.enumerated() {
            pulled.append(PulledBlob(descriptor: blob.descriptor, role: blob.role, reused: outcomes[index].reused))
            if !outcomes[index].reused { downloaded += blob.descriptor.size }
        }
        return PullResult(reference: reference.with(digest: top.digest), manifest: top.descriptor, tagVerified: tagVerified,
                          images: imageDescriptors, blobs: pulled, indexEntry: written, bytesDownloaded: downloaded)
    }

    /// The index entries to pull for `selection`.
    static func select(_ index: ImageIndex, _ selection: PlatformSelection, indexDigest: Digest) throws(OCIError) -> [Descriptor] {
        switch selection {
        case .all:
            guard !index.manifests.isEmpty else {
                throw .invalidManifest(what: "index \(indexDigest)", reason: "the index lists no manifests")
            }
            return index.manifests
        case .host:
            return [try pick(index, Platform.host)]
        case .platform(let platform):
            return [try pick(index, platform)]
        }
    }

    private static func pick(_ index: ImageIndex, _ wanted: Platform) throws(OCIError) -> Descriptor {
        if let match = index.manifests.first(where: { entry in
            MediaType.isImageManifest(entry.mediaType) && (entry.platform.map(wanted.isSatisfied) ?? false)
        }) {
            return match
        }
        let available = index.manifests.compactMap { $0.platform?.description }
        throw .platformNotFound(requested: wanted.description, available: available)
    }

    /// The platform named by an image's config (`os`, `architecture`, `variant`), when the config
    /// was kept in memory during the pull.
    static func platform(fromConfigOf image: ImageManifest, outcomes: [BlobOutcome],
                         blobs: [(descriptor: Descriptor, role: String)]) -> Platform? {
        guard let position = blobs.firstIndex(where: { $0.descriptor.digest == image.config.digest }),
              let bytes = outcomes[position].configBytes,
              let json = try? JSONParser.parse(bytes, limits: JSONLimits(maxBytes: BlobFetcher.maxConfigCapture, maxDepth: 64)),
              let os = json["os"]?.stringValue, let architecture = json["architecture"]?.stringValue
        else { return nil }
        return Platform(os: os, architecture: architecture, variant: json["variant"]?.stringValue)
    }
}

/// What happened to one blob of a pull.
struct BlobOutcome: Sendable {
    var reused: Bool
    /// The bytes of a small config blob, kept to report the image's platform.
    var configBytes: [UInt8]?
}

/// Fetches one blob into a layout's staging area (or nowhere, for verify-only) and commits it.
struct BlobFetcher: Sendable {
    let client: RegistryClient
    let repository: String
    let layout: OCILayout?
    let progress: (@Sendable (TransferEvent) -> Void)?

    /// Config blobs up to this size are kept in memory to read the platform.
    static let maxConfigCapture = 1 << 20

    func fetch(_ descriptor: Descriptor, role: String, what: String, cancel: CancellationFlag) throws(OCIError) -> BlobOutcome {
        progress?(.started(digest: descriptor.digest, size: descriptor.size, role: role))
        let capture = role == "config" && descriptor.size <= Int64(BlobFetcher.maxConfigCapture)
        if let layout, try layout.hasVerifiedBlob(descriptor) {
            var bytes: [UInt8]? = nil
            if capture {
                bytes = try? layout.readVerifiedBlob(descriptor, maxBytes: BlobFetcher.maxConfigCapture, what: what)
            }
            progress?(.progress(digest: descriptor.digest, bytes: descriptor.size))
            progress?(.finished(digest: descriptor.digest, detail: "reused"))
            return BlobOutcome(reused: true, configBytes: bytes)
        }
        var meter = ProgressMeter(digest: descriptor.digest, sink: progress)
        var captured: [UInt8] = []
        let staging = try layout?.makeStagingFile(for: descriptor.digest)
        do {
            try client.fetchBlob(
                repository: repository, descriptor: descriptor, what: what,
                restart: { () throws(OCIError) in
                    do throws(FileError) { try staging?.reset() } catch { throw OCIError.io(path: error.path, detail: error.detail) }
                    captured.removeAll()
                    meter.reset()
                },
                consume: { chunk in
                    if cancel.isCancelled { throw OCIError.cancelled }
                    do throws(FileError) { try staging?.write(chunk) } catch { throw OCIError.io(path: error.path, detail: error.detail) }
                    if capture { captured.append(contentsOf: chunk) }
                    meter.add(chunk.count)
                })
            if let staging, let layout {
                try layout.commit(staging, digest: descriptor.digest)
            }
        } catch {
            staging?.discard()
            throw error
        }
        meter.flush()
        progress?(.finished(digest: descriptor.digest, detail: "verified"))
        return BlobOutcome(reused: false, configBytes: capture ? captured : nil)
    }
}
