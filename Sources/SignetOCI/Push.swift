import FoundationEssentials
import Glibc
import SignetCrypto
import SignetJSON

/// Settings of a push.
public struct PushOptions: Sendable {
    /// Which `index.json` entry to push, by its `org.opencontainers.image.ref.name`. Default: the
    /// only entry, or the entry named like the destination tag.
    public var refName: String?
    /// Repositories of the same registry to mount blobs from when the target lacks them.
    public var mountFrom: [String]
    /// How many blobs are uploaded at the same time. Default 4.
    public var concurrency: Int

    /// Creates options; defaults as documented on each property.
    public init(refName: String? = nil, mountFrom: [String] = [], concurrency: Int = 4) {
        self.refName = refName
        self.mountFrom = mountFrom
        self.concurrency = concurrency
    }
}

/// One blob of a push result.
public struct PushedBlob: Sendable {
    /// The blob's descriptor.
    public var descriptor: Descriptor
    /// What the upload did.
    public var outcome: BlobUploadOutcome
}

/// The outcome of a push.
public struct PushResult: Sendable {
    /// The destination with the pushed manifest's digest.
    public var reference: ImageReference
    /// The top-level manifest or index pushed.
    public var manifest: Descriptor
    /// Child manifests pushed before an index.
    public var childManifests: [Descriptor]
    /// Every config and layer blob and what happened to it.
    public var blobs: [PushedBlob]
}

/// Uploads an image from an OCI image layout: blobs first (skipped when present, mounted from
/// other repositories when possible), then child manifests by digest, then the top-level manifest
/// under the destination's tag (or digest). Manifests are sent as the exact bytes stored in the
/// layout, after checking them against their descriptors.
public struct ImagePusher: Sendable {
    /// The registry client used for every request.
    public let client: RegistryClient
    /// Receives progress events, possibly from several threads.
    public let progress: (@Sendable (TransferEvent) -> Void)?

    /// Creates a pusher.
    public init(client: RegistryClient, progress: (@Sendable (TransferEvent) -> Void)? = nil) {
        self.client = client
        self.progress = progress
    }

    /// Pushes the image selected from the layout at `layoutPath` to `destination`.
    ///
    /// - Throws: `OCIError.invalidLayout` (no or ambiguous entry, missing or corrupt blob),
    ///   `.invalidArgument` (the destination's digest differs from the manifest's), manifest
    ///   verification errors, registry and network failures, `.io`.
    public func push(layoutPath: String, to destination: ImageReference, options: PushOptions = PushOptions()) throws(OCIError) -> PushResult {
        guard options.concurrency >= 1 else {
            throw .invalidArgument("concurrency must be at least 1, got \(options.concurrency)")
        }
        let layout = try OCILayout(existingAt: layoutPath)
        let entry = try ImagePusher.selectEntry(try layout.readIndex(), refName: options.refName, tag: destination.tag,
                                                layoutPath: layoutPath)
        if let digest = destination.digest, digest != entry.digest {
            throw .invalidArgument("the destination names digest \(digest) but the layout's manifest is \(entry.digest)")
        }
        let maxManifest = client.options.maxManifestBytes
        let topWhat = "manifest \(entry.digest) in \(layoutPath)"
        let top = try VerifiedManifest.verify(try layout.readVerifiedBlob(entry, maxBytes: maxManifest, what: topWhat),
                                              expectedDigest: entry.digest, expectedSize: entry.size,
                                              declaredMediaType: entry.mediaType, what: topWhat)
        var children: [VerifiedManifest] = []
        var images: [ImageManifest] = []
        switch top.content {
        case .image(let image):
            images.append(image)
        case .index(let index):
            for child in index.manifests {
                let what = "manifest \(child.digest) (entry of index \(top.digest)) in \(layoutPath)"
                guard MediaType.isImageManifest(child.mediaType) else {
                    throw .unsupportedMediaType(what: what + " (nested indexes are not pushed)", mediaType: child.mediaType)
                }
                let verified = try VerifiedManifest.verify(try layout.readVerifiedBlob(child, maxBytes: maxManifest, what: what),
                                                           expectedDigest: child.digest, expectedSize: child.size,
                                                           declaredMediaType: child.mediaType, what: what)
                guard case .image(let image) = verified.content else {
                    throw .invalidManifest(what: what, reason: "expected an image manifest")
                }
                children.append(verified)
                images.append(image)
            }
        }

        var blobs: [Descriptor] = []
        var linkedOutside = Set<Digest>()
        let layoutRoot = ImagePusher.resolved(layoutPath) ?? layoutPath
        var seen = Set<Digest>()
        for image in images {
            for descriptor in [image.config] + image.layers where seen.insert(descriptor.digest).inserted {
                let path = layout.blobPath(descriptor.digest)
                var info = stat()
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                    throw .invalidLayout(path: layoutPath, reason: "blob \(descriptor.digest) is missing")
                }
                guard Int64(info.st_size) == descriptor.size else {
                    throw .sizeMismatch(what: "blob \(descriptor.digest) in \(layoutPath)", expected: descriptor.size,
                                        received: Int64(info.st_size))
                }
                // A blob that is a link to a file outside the layout (layout builders link build outputs)
                // is hashed before any byte of it is sent (in its upload job, once the registry turns out
                // not to have it): a layout must not make a push send some other file of this machine (a
                // key, a credential file) to a registry.
                if !(ImagePusher.resolved(path).map { $0.hasPrefix(layoutRoot + "/") } ?? false) { linkedOutside.insert(descriptor.digest) }
                blobs.append(descriptor)
            }
        }
        progress?(.plan(blobs: blobs.count, bytes: blobs.reduce(Int64(0)) { $0.addingReportingOverflow($1.size).overflow ? Int64.max : $0 + $1.size }))

        let repository = destination.repository
        let client = self.client
        let progress = self.progress
        let jobs = blobs
        let outside = linkedOutside
        let mountFrom = options.mountFrom
        let outcomes = try runConcurrently(jobs.count, concurrency: options.concurrency) { (index, flag) throws(OCIError) -> BlobUploadOutcome in
            if flag.isCancelled { throw .cancelled }
            let descriptor = jobs[index]
            progress?(.started(digest: descriptor.digest, size: descriptor.size, role: "blob"))
            if outside.contains(descriptor.digest) {
                if try client.blobExists(repository: repository, descriptor: descriptor) {
                    progress?(.finished(digest: descriptor.digest, detail: BlobUploadOutcome.alreadyPresent.rawValue))
                    return .alreadyPresent
                }
                try ImagePusher.checkDigest(of: layout.blobPath(descriptor.digest), descriptor: descriptor, layoutPath: layoutPath)
            }
            let outcome = try client.uploadBlob(repository: repository, descriptor: descriptor,
                                                source: .file(layout.blobPath(descriptor.digest)), mountFrom: mountFrom)
            progress?(.progress(digest: descriptor.digest, bytes: descriptor.size))
            progress?(.finished(digest: descriptor.digest, detail: outcome.rawValue))
            return outcome
        }

        for child in children {
            try client.putManifest(repository: repository, reference: child.digest.ociString, bytes: child.bytes,
                                   mediaType: child.mediaType)
        }
        let pushedDigest = try client.putManifest(repository: repository, reference: destination.tag ?? top.digest.ociString,
                                                  bytes: top.bytes, mediaType: top.mediaType)
        guard pushedDigest == top.digest || top.digest.algorithm != .sha256 else {
            throw .digestMismatch(what: "pushed manifest", expected: top.digest.ociString, received: pushedDigest.ociString)
        }
        return PushResult(reference: destination.with(digest: top.digest), manifest: top.descriptor,
                          childManifests: children.map(\.descriptor),
                          blobs: zip(blobs, outcomes).map { PushedBlob(descriptor: $0, outcome: $1) })
    }

    /// `path` with every link resolved, or nil when it cannot be resolved.
    static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Hashes a blob file (a link outside the layout) and requires its descriptor's digest.
    static func checkDigest(of path: String, descriptor: Descriptor, layoutPath: String) throws(OCIError) {
        let computed = try OCILayout.hashFile(path, algorithm: descriptor.digest.algorithm)
        guard computed == descriptor.digest else {
            throw .digestMismatch(what: "blob \(descriptor.digest) in \(layoutPath) (a link to \(path) outside the layout; nothing of it was sent)",
                                  expected: descriptor.digest.ociString, received: computed.ociString)
        }
    }

    /// The `index.json` entry to push: the one named `refName`; else the only entry; else the
    /// one named like `tag`.
    static func selectEntry(_ entries: [Descriptor], refName: String?, tag: String?, layoutPath: String) throws(OCIError) -> Descriptor {
        let names = entries.compactMap { $0.annotation(Descriptor.refNameAnnotation) }
        if let refName {
            guard let match = entries.first(where: { $0.annotation(Descriptor.refNameAnnotation) == refName }) else {
                throw .invalidLayout(path: layoutPath, reason: "no index.json entry named \(quoted(refName)) (names: \(names.joined(separator: ", ")))")
            }
            return match
        }
        guard !entries.isEmpty else { throw .invalidLayout(path: layoutPath, reason: "index.json lists no manifests") }
        if entries.count == 1 { return entries[0] }
        if let tag, let match = entries.first(where: { $0.annotation(Descriptor.refNameAnnotation) == tag }) {
            return match
        }
        throw .invalidLayout(path: layoutPath, reason: "index.json lists \(entries.count) manifests; choose one by name (names: \(names.joined(separator: ", ")))")
    }
}
