import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetOCI
import SignetTUF

/// Copies signed images and the trust data that signs them to another repository (another registry, a
/// mirror): verified at the source first, every manifest and blob fetched by digest and checked, the
/// trust data copied unchanged (so the same pinned root verifies the copy, as the original's identity),
/// and verified again at the destination.
public struct TrustCopy {
    /// What a copy did.
    public struct Report: Sendable {
        /// Tags copied, with the signed digest.
        public var tags: [(tag: String, digest: Digest)] = []
        /// Blobs uploaded, mounted or already present at the destination.
        public var blobsUploaded = 0
        public var blobsMounted = 0
        public var blobsPresent = 0
        /// The trust index published at the destination.
        public var trustIndex: Digest?
    }

    /// The source, with its verified trust data.
    public let source: RegistryTrust
    /// The destination repository and a client for its registry.
    public let destination: ImageReference
    public let destinationClient: RegistryClient

    public init(source: RegistryTrust, destination: ImageReference, destinationClient: RegistryClient) {
        self.source = source
        self.destination = destination
        self.destinationClient = destinationClient
    }

    /// Every tag the verified trust data signs.
    public static func signedTags(_ trust: RegistryTrust, state: TrustState, verified: VerifiedRepository) -> [TrustedTarget] {
        var names: Set<String> = []
        for role in verified.roles { names.formUnion(role.metadata.signed.targetPaths) }
        return names.sorted().compactMap { try? trust.resolve(tag: $0, state: state) }
    }

    /// Copies `tags` (nil: every signed tag) with the trust data.
    /// - Throws: `TrustError` when the source does not verify (nothing is copied), when the destination
    ///   holds newer trust data of the same repository, or when the copy does not verify there.
    public func run(tags wanted: [String]?, root: RootChoice, progress: (@Sendable (TransferEvent) -> Void)? = nil) throws(TrustError) -> Report {
        // 1. Verify everything at the source first.
        let (state, verified) = try source.verifiedState(root, expired: .refuse)
        let all = TrustCopy.signedTags(source, state: state, verified: verified)
        var targets: [TrustedTarget] = []
        if let wanted {
            for tag in wanted {
                guard let t = all.first(where: { $0.tag == tag }) else { throw TrustError.unsignedTag(tag: tag, repository: source.reference.name) }
                targets.append(t)
            }
        } else {
            targets = all
        }
        let trustFiles = verified.files
        var report = Report()
        // 2. Images: every manifest (all platforms of an index) and blob, checked against the signed digests.
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "signet-copy") } catch { throw TrustError.file(error) }
        let sameRegistry = source.reference.registry == destination.registry
        // Nothing is copied over a newer state of the same repository (checked before any tag moves).
        let identity = source.identity
        let check = RegistryTrust(reference: destination, client: destinationClient, options: scratchOptions(scratch, identity: identity))
        if let current = try check.trustTagContent(), current.isIndex,
           let theirs = try? check.refresh(RootChoice(given: (path: "source root", bytes: trustFiles.first { $0.name == "1.root.json" }?.bytes ?? [])), persist: false),
           let theirVersion = theirs.updater.trusted.timestamp?.signed.header.version,
           let ours = state.updater.trusted.timestamp?.signed.header.version, theirVersion > ours {
            throw TrustError.olderThanSeen("\(destination.name) holds newer trust data of \(identity) (timestamp version \(theirVersion), the source's is \(ours)); nothing of it was replaced")
        }
        for target in targets {
            let layout = scratch.path + "/" + target.digest.hex
            do {
                if !FileManager.default.fileExists(atPath: layout) {
                    _ = try ImagePuller(client: source.client, progress: progress).pull(
                        source.reference.with(digest: target.digest), trust: .digest(target.digest, size: target.length), to: .layout(layout),
                        options: PullOptions(platforms: .all, refName: "copy"))
                }
                let pushed = try ImagePusher(client: destinationClient, progress: progress).push(
                    layoutPath: layout, to: try ImageReference(parsing: "\(destination.name):\(target.tag)"),
                    options: PushOptions(refName: "copy", mountFrom: sameRegistry ? [source.reference.repository] : []))
                guard pushed.manifest.digest == target.digest else {
                    throw TrustError.manifestMismatch("the copy of \(target.tag) has digest \(pushed.manifest.digest), the signed one is \(target.digest)")
                }
                for b in pushed.blobs {
                    switch b.outcome {
                    case .uploaded: report.blobsUploaded += 1
                    case .mounted: report.blobsMounted += 1
                    case .alreadyPresent: report.blobsPresent += 1
                    }
                }
            } catch let e as TrustError { throw e } catch let e as OCIError { throw TrustError.oci(e) } catch { throw TrustError.wrap(error) }
            report.tags.append((target.tag, target.digest))
        }
        report.trustIndex = try TrustCopy.publishIndex(trustFiles, at: check)
        // 4. Verify the copy as a client pinned to the source's root would.
        let pinned = try source.pinnedRoot() ?? []
        let destState = try check.refresh(RootChoice(given: (path: "the source's pinned root", bytes: pinned)), persist: false)
        for target in targets {
            let copied = try check.verifyTag(target.tag, state: destState, checkRegistryTag: true)
            guard copied.target.digest == target.digest else {
                throw TrustError.manifestMismatch("at \(destination.name), \(target.tag) verifies as \(copied.target.digest), not \(target.digest)")
            }
        }
        return report
    }

    /// Options for a look at the destination that keeps nothing (a scratch home, the original's identity).
    func scratchOptions(_ scratch: TemporaryDirectory, identity: String) -> TrustOptions {
        var o = TrustOptions(home: scratch.path + "/home")
        o.clock = source.options.clock
        o.expectedIdentity = identity
        return o
    }

    /// Uploads `files` (a complete repository state) to the repository of `destination` and makes them its
    /// current trust index: the moving trust tag, or the next versioned tag when the state's root records
    /// versioned storage.
    @discardableResult
    static func publishIndex(_ files: [(name: String, bytes: [UInt8])], at destination: RegistryTrust) throws(TrustError) -> Digest {
        let roots = files.compactMap { f -> (Int64, Metadata<Root>)? in
            guard f.name.hasSuffix(".root.json"), let m = try? Metadata<Root>(bytes: f.bytes, file: f.name) else { return nil }
            return (m.signed.header.version, m)
        }
        let versioned = roots.max { $0.0 < $1.0 }?.1.signed.unknown[RegistryTrust.storageField]?.stringValue == TrustStorage.versioned.rawValue
        destination.storageOverride = versioned ? .versioned : .normal
        let uploaded = try TrustIndex.upload(files, repository: destination.reference.repository, client: destination.client, tag: nil,
                                             created: destination.options.clock(), storage: versioned ? .versioned : .normal)
        try destination.putIndexManifest(uploaded.bytes, digest: uploaded.digest)
        return uploaded.digest
    }
}
