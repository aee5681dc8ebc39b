import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetTUF

/// A tag's trusted description: what the repository's TUF metadata says the tag must point to.
public struct TrustedTarget: Sendable {
    /// The tag (the TUF target name).
    public let tag: String
    /// The manifest digest.
    public let digest: Digest
    /// The manifest length in bytes.
    public let length: Int64
    /// The manifest media type, from `custom.mediaType`.
    public let mediaType: String?
    /// The TUF target entry.
    public let target: TargetFile
}

/// Settings shared by the content-trust operations.
public struct TrustOptions: Sendable {
    /// `$SIGNET_HOME`.
    public var home: String
    /// The tag holding the trust index.
    public var trustTag = "_tuf"
    /// The tag holding a change that waits for more signatures.
    public var stagedTag = "_tuf-staged"
    /// Current time (seconds since the epoch); injected so tests can move it.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    /// Byte limit for the trust index manifest.
    public var maxIndexBytes = 4 << 20

    /// Options with the given home.
    public init(home: String) { self.home = home }
}

/// Trust data of one OCI repository, stored in that repository (`docs/tuf-on-oci.md`), and the
/// locally pinned root that verifies it.
public final class RegistryTrust {
    /// The repository (`registry/name`).
    public let reference: ImageReference
    /// The registry client.
    public let client: RegistryClient
    /// Options.
    public let options: TrustOptions
    let events: (String) -> Void
    /// The trust index the last refresh verified against (and its manifest digest).
    public private(set) var lastIndex: (TrustIndex, Digest)?

    /// Creates the trust view of `reference`'s repository.
    public init(reference: ImageReference, client: RegistryClient, options: TrustOptions, events: @escaping (String) -> Void = { _ in }) {
        self.reference = reference
        self.client = client
        self.options = options
        self.events = events
    }

    var repository: String { reference.repository }

    /// Where the pinned root and the trusted metadata of this repository live.
    public var trustDirectory: String {
        options.home + "/trust/" + PercentEncoding.encode(reference.registry) + "/" + PercentEncoding.encode(reference.repository)
    }

    /// Whether a root is pinned for this repository.
    public var isPinned: Bool { FileManager.default.fileExists(atPath: trustDirectory + "/root.json") }

    // MARK: Index

    /// The current trust index, or nil when the trust tag does not exist.
    /// - Throws: `TrustError.oci` for registry failures, `.invalidIndex`.
    public func fetchIndex(tag: String? = nil) throws(TrustError) -> (TrustIndex, Digest)? {
        let t = tag ?? options.trustTag
        let fetched: (bytes: [UInt8], contentType: String?)
        do {
            fetched = try client.fetchManifest(repository: repository, reference: t, maxBytes: options.maxIndexBytes, what: "trust index \(repository):\(t)")
        } catch {
            if case .notFound = error { return nil }
            throw TrustError.oci(error)
        }
        let digest: Digest
        do { digest = try SHA256.hash(fetched.bytes) } catch { throw TrustError.invalidIndex("\(error)") }
        return (try TrustIndex(manifestBytes: fetched.bytes), digest)
    }

    /// The small metadata files stored for this repository, by digest (large ones are cheaper to fetch
    /// only when they changed than to hash on every run).
    func locallyHeldFiles() -> [Digest: [UInt8]] {
        var out: [Digest: [UInt8]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: trustDirectory)) ?? [] where name.hasSuffix(".json") {
            let path = trustDirectory + "/" + name
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size <= 1 << 20,
                  let bytes = try? AtomicFile.read(path, limit: 1 << 20), let d = try? SHA256.hash(bytes) else { continue }
            out[d] = bytes
        }
        return out
    }

    // MARK: Pinning

    /// Pins `rootFile` as this repository's trusted root (replacing an earlier pin only with `replace`).
    /// - Throws: `TrustError.tuf` when the file is not valid root metadata, `.usage` when a different root is already pinned.
    public func pin(rootFile: String, replace: Bool = false) throws(TrustError) {
        if !replace && isPinned {
            events("a root is already pinned for \(reference.name) in \(trustDirectory); \(rootFile) is not used")
            return
        }
        let bytes: [UInt8]
        do {
            guard let b = try AtomicFile.read(rootFile, limit: UpdaterConfig().rootMaxLength) else { throw TUFError.storage(path: rootFile, detail: "no such file") }
            bytes = b
            _ = try TrustedMetadataSet(rootBytes: bytes, referenceTime: options.clock())
        } catch let e as TUFError { throw TrustError.tuf(e) } catch { throw TrustError.usage("\(error)") }
        try pin(rootBytes: bytes, replace: replace)
    }

    func pin(rootBytes: [UInt8], replace: Bool) throws(TrustError) {
        do {
            let store = try DirectoryMetadataStore(directory: trustDirectory)
            if !replace, try store.load(role: "root", limit: UpdaterConfig().rootMaxLength) != nil {
                // An existing pin stays: later roots are followed through the chain, and a root file given
                // again (or by mistake) must not replace what already verifies.
                events("a root is already pinned for \(reference.name) in \(trustDirectory); the given root file is not used")
                return
            }
            try store.save(role: "root", bytes: rootBytes)
        } catch { throw TrustError.tuf(error) }
    }

    // MARK: Reading

    /// Runs the TUF client workflow against the registry's trust data.
    /// - Parameter trustOnFirstUse: with no pinned root, accept the registry's first root (and say so).
    /// - Parameter allowExpired: for publishers: accept expired metadata (signatures, versions and hashes
    ///   are still verified) so that it can be renewed.
    /// - Throws: `TrustError.noTrustData`, `.trustDataRemoved`, `.notPinned`, `.tuf` for any verification failure.
    public func refresh(trustOnFirstUse: Bool = false, allowExpired: Bool = false) throws(TrustError) -> Updater {
        guard let (index, indexDigest) = try fetchIndex() else {
            if isPinned { throw TrustError.trustDataRemoved(reference.name) }
            throw TrustError.noTrustData(reference.name)
        }
        lastIndex = (index, indexDigest)
        let transport = IndexTransport(client: client, repository: repository, index: index, local: locallyHeldFiles())
        if !isPinned {
            guard trustOnFirstUse else { throw TrustError.notPinned(reference.name) }
            let first: [UInt8]
            do { first = try transport.get(IndexTransport.base + "1.root.json", maxBodyBytes: UpdaterConfig().rootMaxLength) } catch {
                throw TrustError.invalidIndex("no 1.root.json: \(error)")
            }
            do { _ = try TrustedMetadataSet(rootBytes: first, referenceTime: options.clock()) } catch { throw TrustError.tuf(error) }
            try pin(rootBytes: first, replace: false)
            let id = (try? SHA256.hash(first).hex.prefix(16)).map(String.init) ?? "?"
            events("trust on first use: pinned the registry's root (1.root.json, sha256 \(id)…) for \(reference.name) in \(trustDirectory)")
        }
        var clock = options.clock
        var attempts = 0
        while true {
            do {
                let updater = try Updater(metadataBaseURL: IndexTransport.base, transport: transport,
                                          store: try DirectoryMetadataStore(directory: trustDirectory), clock: clock,
                                          events: { [events] e in events(e.description) })
                try updater.refresh()
                return updater
            } catch {
                // A publisher may build on metadata that has expired but is otherwise fully valid: that is
                // exactly what renewing is for. Everything except freshness is still verified.
                if allowExpired, attempts < 8, case .expired(let file, let expires) = error, let at = TUFDate.parse(expires) {
                    events("warning: \(file) expired at \(expires); verifying everything else and renewing it")
                    let before = at - 1
                    clock = { before }
                    attempts += 1
                    continue
                }
                throw TrustError.tuf(error)
            }
        }
    }

    /// Moves the pinned state forward to a repository state this machine just published, by running the
    /// TUF client workflow over the local copy of its files (no network; everything is verified as usual).
    /// - Throws: `TrustError.tuf` if the files do not verify.
    public func adopt(publishedMetadataDirectory directory: String) throws(TrustError) {
        do {
            let updater = try Updater(metadataBaseURL: "file://" + directory + "/", transport: FileTransport(),
                                      store: try DirectoryMetadataStore(directory: trustDirectory), clock: options.clock)
            try updater.refresh()
        } catch { throw TrustError.tuf(error) }
    }

    /// The trusted target for `tag`.
    /// - Throws: `TrustError.unsignedTag` when no role signs it, other `TrustError`s from refresh.
    public func resolve(tag: String, updater: Updater) throws(TrustError) -> TrustedTarget {
        let target: TargetFile
        do { target = try updater.lookup(tag) } catch {
            if case .targetNotFound = error { throw TrustError.unsignedTag(tag: tag, repository: reference.name) }
            throw TrustError.tuf(error)
        }
        guard let digest = target.sha256 else {
            throw TrustError.tuf(.noSupportedHash(file: tag))
        }
        let mediaType = target.custom?["mediaType"]?.stringValue
        return TrustedTarget(tag: tag, digest: digest, length: target.length, mediaType: mediaType, target: target)
    }

    /// Fetches the signed manifest of `target` by digest, bounded by its signed length, and checks it.
    /// - Throws: `TrustError.oci` (digest or size mismatch is a verification failure).
    public func fetchVerifiedManifest(_ target: TrustedTarget) throws(TrustError) -> VerifiedManifest {
        do {
            let fetched = try client.fetchManifest(repository: repository, reference: target.digest.ociString,
                                                   maxBytes: Int(clamping: target.length), what: "manifest \(reference.name)@\(target.digest)")
            return try VerifiedManifest.verify(fetched.bytes, expectedDigest: target.digest, expectedSize: target.length,
                                               declaredMediaType: target.mediaType, what: "signed manifest of \(reference.name):\(target.tag)")
        } catch { throw TrustError.oci(error) }
    }

    /// Writes the trust metadata that verified `tag` into `layout/signet-trust/`: the trusted root, and the
    /// exact verified files as a small static repository, so `signet verify --layout` can check the layout
    /// again without network.
    /// - Throws: `TrustError.tuf` for file errors.
    public func exportForLayout(_ layout: String, tag: String, digest: Digest, updater: Updater) throws(TrustError) {
        let out = layout + "/signet-trust"
        let set = updater.trusted
        do {
            try? FileManager.default.removeItem(atPath: out)
            try AtomicFile.makeDirectory(out + "/remote")
            func copy(_ role: String, _ name: String) throws(TUFError) {
                let src = trustDirectory + "/" + PercentEncoding.encode(role) + ".json"
                guard let bytes = try AtomicFile.read(src, limit: 64 << 20) else { return }
                try AtomicFile.write(bytes, to: out + "/remote/" + name)
            }
            try copy("root", "\(set.root.signed.header.version).root.json")
            if let rootBytes = try AtomicFile.read(trustDirectory + "/root.json", limit: 1 << 20) {
                try AtomicFile.write(rootBytes, to: out + "/root.json")
            }
            try copy("timestamp", "timestamp.json")
            if let snap = set.snapshot {
                try copy("snapshot", "\(snap.signed.header.version).snapshot.json")
                for (name, meta) in snap.signed.meta where name.hasSuffix(".json") {
                    let role = String(name.dropLast(5))
                    try copy(role, "\(meta.version).\(PercentEncoding.encode(role)).json")
                }
            }
            var info = JSONObject()
            info["repository"] = .string(reference.name)
            info["tag"] = .string(tag)
            info["digest"] = .string(digest.ociString)
            try AtomicFile.write(JSONWriter.encode(.object(info)), to: out + "/pull.json")
        } catch { throw TrustError.tuf(error) }
    }
}
