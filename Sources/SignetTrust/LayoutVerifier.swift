import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetTUF

/// A transport answering from local files, whole: streaming hands over the body `send` read.
protocol LocalFilesTransport: Transport {}

extension LocalFilesTransport {
    func stream(_ request: HTTPRequest, maxBodyBytes: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let r = try send(request, maxBodyBytes: Int(clamping: maxBodyBytes))
        if r.status == 404 { throw HTTPError.notFound(url: request.url) }
        do { try r.body.withUnsafeBytes { try sink($0) } } catch { throw HTTPError.sinkFailed(url: request.url, underlying: error) }
        return r.head
    }
}

/// Serves metadata file names from one local directory (the trust metadata `signet pull` stores in a
/// layout): names must be plain file names, reads are bounded, a missing file is "not found".
final class DirectoryFilesTransport: LocalFilesTransport, @unchecked Sendable {
    static let base = "layout-tuf://metadata/"
    let directory: String

    init(directory: String) { self.directory = directory }

    func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let name = String(request.url.dropFirst(DirectoryFilesTransport.base.count))
        guard request.url.hasPrefix(DirectoryFilesTransport.base), SafeName.isFileName(name) else {
            return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: [])
        }
        do {
            guard let bytes = try AtomicFile.readRegularFile(directory + "/" + name, limit: maxBodyBytes) else {
                return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: [])
            }
            return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: bytes)
        } catch {
            if case .tooLarge = error { throw HTTPError.tooLarge(url: name, limit: Int64(maxBodyBytes)) }
            throw HTTPError.io(url: name, detail: error.detail)
        }
    }
}

/// This machine's verified trust data for a repository (its pin directory), served under the names a
/// client asks a repository for, so that the TUF client can verify it again and resolve a tag in it.
/// Nothing newer than the stored root is served; every role is served as stored, whatever version is
/// asked for (the client refuses one that is not the version the snapshot lists).
final class HeldStateTransport: LocalFilesTransport, @unchecked Sendable {
    static let base = "held-tuf://metadata/"
    let store: DirectoryMetadataStore
    /// The layout's own files: a role this machine does not hold in the version its snapshot lists (a
    /// hash bin it never needed) is taken from there when the layout has exactly that version (the
    /// client checks it against the held snapshot's entry and the delegator's keys).
    let layoutFiles: DirectoryFilesTransport?

    init(store: DirectoryMetadataStore, layoutFiles: DirectoryFilesTransport? = nil) {
        self.store = store
        self.layoutFiles = layoutFiles
    }

    func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let missing = HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: [])
        guard request.url.hasPrefix(HeldStateTransport.base) else { return missing }
        let name = String(request.url.dropFirst(HeldStateTransport.base.count))
        guard SafeName.isFileName(name), name.hasSuffix(".json") else { return missing }
        let role: String
        if name == "timestamp.json" {
            role = "timestamp"
        } else {
            guard let dot = name.firstIndex(of: "."), Int64(name[..<dot]) != nil,
                  let decoded = PercentEncoding.decode(String(name[name.index(after: dot)...].dropLast(5))), decoded != "root" else { return missing }
            role = decoded
        }
        if role != "timestamp", role != "snapshot", let layoutFiles {
            let fromLayout = try layoutFiles.send(HTTPRequest(method: .get, url: DirectoryFilesTransport.base + name), maxBodyBytes: maxBodyBytes)
            if fromLayout.status == 200 { return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: fromLayout.body) }
        }
        do {
            guard let bytes = try store.load(role: role, limit: maxBodyBytes) else { return missing }
            return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: bytes)
        } catch { throw HTTPError.io(url: name, detail: "\(error)") }
    }
}

/// Checks an OCI layout written by `signet pull` without network: the trust metadata stored in it is
/// verified from this machine's pinned root for the repository (or a given root), never from a root
/// stored in the layout; the metadata must name the repository; then the signed manifest and every
/// manifest and blob below it are checked against their digests and sizes.
public enum LayoutVerifier {
    /// What the check established.
    public struct Result: Sendable {
        /// `REPOSITORY@sha256:…` of the signed image.
        public let reference: String
        public let repository: String
        public let tag: String
        public let digest: Digest
        /// Manifests and blobs checked.
        public let checked: Int
    }

    /// Verifies `layout`.
    /// - Parameters:
    ///   - reference: the repository (and optionally tag) the layout must hold; by default the one the
    ///     layout's `pull.json` names (that file is not trusted: it only chooses which pinned root applies).
    ///   - root: a root file to start from when the repository has no pin on this machine; with a pin it
    ///     must be a version of the pinned chain. Offline checks never change pins.
    /// - Throws: `TrustError`.
    public static func verify(layout: String, reference: ImageReference?, options: TrustOptions, root: RootChoice = RootChoice()) throws(TrustError) -> Result {
        let meta = layout + "/signet-trust"
        let info: JSONValue
        do {
            guard let bytes = try AtomicFile.readRegularFile(meta + "/pull.json", limit: 64 << 10) else {
                guard AtomicFile.exists(layout) else { throw TrustError.file(.io(path: layout, detail: "no such directory")) }
                throw TrustError.usage("\(layout) holds no trust metadata (pull it with `signet pull REF --output DIR`)")
            }
            info = try JSONParser.parse(bytes)
        } catch let e as TrustError { throw e } catch { throw TrustError.usage("\(layout)/signet-trust/pull.json is unreadable: \(error)") }
        guard let claimedName = info["repository"]?.stringValue, let claimedTag = info["tag"]?.stringValue else {
            throw TrustError.usage("\(layout)/signet-trust/pull.json does not name a repository and tag")
        }
        let repo: ImageReference
        do { repo = try reference ?? ImageReference(parsing: claimedName) } catch { throw TrustError.wrap(error) }
        let tag = reference?.tag ?? claimedTag
        let identity = options.expectedIdentity ?? repo.name
        // The anchor: this machine's pin for the repository, or the given root.
        let pinDirectory = RegistryTrust.trustDirectory(home: options.home, reference: repo)
        let pinned: [UInt8]?
        do { pinned = try AtomicFile.read(pinDirectory + "/root.json", limit: UpdaterConfig().rootMaxLength) } catch { throw .file(error) }
        let anchor: [UInt8]
        if let pinned {
            anchor = pinned
        } else if let given = root.given {
            anchor = given.bytes
        } else {
            throw TrustError.notPinnedOffline(repo.name)
        }
        let transport = DirectoryFilesTransport(directory: meta + "/remote")
        let updater: Updater
        do {
            updater = try Updater(metadataBaseURL: DirectoryFilesTransport.base, transport: transport, store: InMemoryMetadataStore(root: anchor), clock: options.clock)
            try updater.refresh()
        } catch {
            // A layout pulled before the root rotated keys carries files signed by keys this machine no
            // longer trusts: say that, rather than only that a signature threshold was not met.
            let anchorVersion = (try? Metadata<Root>(bytes: anchor, file: "root.json"))?.signed.header.version ?? 0
            let layoutRoots = ((try? AtomicFile.list(meta + "/remote")) ?? []).compactMap { name -> Int64? in
                guard name.hasSuffix(".root.json") else { return nil }
                return Int64(name.dropLast(".root.json".count))
            }
            if let newest = layoutRoots.max(), newest < anchorVersion {
                throw TrustError.olderThanSeen("\(layout) carries trust data signed under root version \(newest) of \(repo.name); this machine trusts root version \(anchorVersion), which replaced keys since the layout was pulled, so the layout's signatures no longer count (\(error)). Pull the image again")
            }
            throw TrustError.tuf(error)
        }
        if let given = root.given, let pinned {
            _ = try TrustChecks.givenRoot(given, pinned: pinned, updater: updater, earlier: { v in
                (try? AtomicFile.read(pinDirectory + "/roots/\(v).root.json", limit: UpdaterConfig().rootMaxLength)) ?? nil
            }, repository: repo.name, pinDirectory: pinDirectory)
        }
        // The trust data must name the repository.
        try TrustChecks.identity(of: updater.trusted, is: identity, display: identity, where: "\(layout)/signet-trust: ")
        let target: TargetFile
        do { target = try updater.lookup(tag) } catch {
            if case .targetNotFound = error { throw TrustError.unsignedTag(tag: tag, repository: repo.name) }
            throw TrustError.tuf(error)
        }
        guard let digest = target.sha256 else { throw TrustError.tuf(.noSupportedHash(file: tag)) }
        if let wanted = reference?.digest, wanted != digest {
            throw TrustError.manifestMismatch("\(layout) holds \(repo.name):\(tag) signed as \(digest), not \(wanted)")
        }
        if let pinned {
            try checkAgainstNewerHeldState(pinned: pinned, pinDirectory: pinDirectory, layoutState: updater.trusted, tag: tag, digest: digest,
                                           repository: repo.name, layout: layout, clock: options.clock)
        }
        let checked: Int
        do { checked = try checkContent(layout: layout, digest: digest, length: target.length,
                                        mediaType: target.custom?["mediaType"]?.stringValue, tag: tag, repository: repo.name, what: "\(repo.name):\(tag)") } catch { throw TrustError.wrap(error) }
        return Result(reference: "\(repo.name)@\(digest.ociString)", repository: repo.name, tag: tag, digest: digest, checked: checked)
    }

    /// No rollback below what this machine has seen: when it verified newer trust data for the repository
    /// (a higher timestamp version) than the layout carries, the tag must be signed for the same digest
    /// there too. A layout pulled before its tag was re-signed or revoked is refused once this machine has
    /// seen that; one pulled before unrelated changes still verifies, as does one whose tag's role this
    /// machine never held in its newer version. The held data is verified again from the pinned root
    /// (expired files accepted: it only adds refusals) and never written.
    static func checkAgainstNewerHeldState(pinned: [UInt8], pinDirectory: String, layoutState: TrustedMetadataSet, tag: String, digest: Digest,
                                           repository: String, layout: String, clock: @escaping @Sendable () -> Int64) throws(TrustError) {
        let limits = UpdaterConfig()
        guard let layoutVersion = layoutState.timestamp?.signed.header.version,
              let heldBytes = try? AtomicFile.read(pinDirectory + "/timestamp.json", limit: limits.timestampMaxLength),
              let heldVersion = (try? Metadata<Timestamp>(bytes: heldBytes, file: "timestamp.json"))?.signed.header.version,
              heldVersion > layoutVersion else { return }
        let held: Updater
        let target: TargetFile
        do {
            var config = UpdaterConfig()
            config.expiredMetadata = .unsafeAllowAny
            held = try Updater(metadataBaseURL: HeldStateTransport.base,
                               transport: HeldStateTransport(store: try DirectoryMetadataStore(directory: pinDirectory),
                                                             layoutFiles: DirectoryFilesTransport(directory: layout + "/signet-trust/remote")),
                               store: InMemoryMetadataStore(root: pinned), clock: clock, config: config)
            try held.refresh()
            target = try held.lookup(tag)
        } catch {
            if case .targetNotFound = error {
                throw TrustError.manifestMismatch("\(layout) holds \(repository):\(tag) as the trust data of timestamp version \(layoutVersion) signs it; this machine has since verified version \(heldVersion), which no longer signs \(tag) (revoked since the layout was pulled)")
            }
            // The role that would say what the newer state signs for the tag is held neither here nor in
            // the layout in the version that state lists: this machine never saw that role change, so
            // it has nothing to hold the layout to.
            return
        }
        guard target.sha256 == digest else {
            throw TrustError.manifestMismatch("\(layout) holds \(repository):\(tag) signed for \(digest) in timestamp version \(layoutVersion); this machine has since verified version \(heldVersion), which signs \(target.sha256?.ociString ?? "another digest") for it: pull it again")
        }
    }

    /// The signed manifest, then every manifest and blob below it, each against its digest and size; then
    /// `index.json`, whose every entry must name a manifest of the signed image. Nothing the layout says
    /// about a manifest is taken on trust: the signed manifest is parsed as a manifest whatever
    /// `index.json` calls it (its media type comes from the signed target or from its own bytes), and the
    /// media types below it come from the verified manifests that list them.
    static func checkContent(layout: String, digest: Digest, length: Int64, mediaType: String?, tag: String, repository: String, what: String) throws -> Int {
        let store = try OCILayout(existingAt: layout)
        let entries = try store.readIndex()
        let signed = Descriptor(mediaType: mediaType ?? MediaType.ociManifest, digest: digest, size: length)
        guard (try? store.hasVerifiedBlob(signed)) == true else {
            throw TrustError.manifestMismatch("\(layout) does not hold the signed manifest \(digest) of \(what)")
        }
        // Manifests of the signed image (digest -> size and media type as verified).
        var manifests: [Digest: (size: Int64, mediaType: String)] = [:]
        var pending: [(descriptor: Descriptor, isManifest: Bool)] = [(signed, true)]
        var checked = 0
        while let (d, isManifest) = pending.popLast() {
            if isManifest {
                let bytes = try store.readVerifiedBlob(d, maxBytes: VerifiedManifest.defaultMaxBytes, what: "manifest \(d.digest)")
                let m = try VerifiedManifest.verify(bytes, expectedDigest: d.digest, expectedSize: d.size,
                                                    declaredMediaType: d.digest == digest ? mediaType : d.mediaType, what: "manifest \(d.digest)")
                manifests[d.digest] = (d.size, m.mediaType)
                switch m.content {
                case .image(let image):
                    pending.append((image.config, false))
                    pending.append(contentsOf: image.layers.map { ($0, false) })
                case .index(let index):
                    // Only the platforms that were pulled are in the layout.
                    let present = index.manifests.filter { (try? store.hasVerifiedBlob($0)) == true }
                    guard !present.isEmpty else { throw TrustError.manifestMismatch("no manifest of the signed index \(d.digest) is in \(layout)") }
                    pending.append(contentsOf: present.map { ($0, true) })
                }
            } else {
                guard try store.hasVerifiedBlob(d) else {
                    throw TrustError.manifestMismatch("blob \(d.digest) of \(what) is missing from \(layout) or does not match its digest and size")
                }
            }
            checked += 1
        }
        // What a tool reading the layout starts from. The entries that name this image — by the tag, by a
        // name an entry of the signed image carries, or by pointing into it — must each be a manifest
        // checked above, with its verified size and media type; at least one must. Entries of other
        // images pulled into the same layout (other names, other digests) are left to their own checks.
        // A name is an image's name as `ref.name` (the OCI layout spec) or `io.containerd.image.name`
        // (what containerd's importer prefers) gives it, bare (`v1`) or as a full reference; an entry with
        // neither is an image anyone loading the layout may take, so it must be part of this one too.
        let nameKeys = [Descriptor.refNameAnnotation, "io.containerd.image.name"]
        func entryNames(_ entry: Descriptor) -> [String] { nameKeys.compactMap { entry.annotation($0) } }
        var names: Set<String> = [tag]
        for entry in entries where manifests[entry.digest] != nil { names.formUnion(entryNames(entry)) }
        func namesThisImage(_ name: String) -> Bool {
            if names.contains(name) { return true }
            guard let ref = try? ImageReference(parsing: name) else { return false }
            return ref.tag == tag && ref.name == repository
        }
        var named = 0
        for (position, entry) in entries.enumerated() {
            let given = entryNames(entry)
            guard manifests[entry.digest] != nil || given.isEmpty || given.contains(where: namesThisImage) else { continue }
            let refName = given.first
            let label = refName.map { " (\($0))" } ?? ""
            guard let known = manifests[entry.digest] else {
                throw TrustError.manifestMismatch("\(layout)/index.json entry \(position + 1)\(label) names \(entry.digest), which is not part of the signed image \(digest) of \(what)")
            }
            guard entry.size == known.size, entry.mediaType == known.mediaType else {
                throw TrustError.manifestMismatch("\(layout)/index.json entry \(position + 1)\(label) describes \(entry.digest) as \(entry.mediaType), \(entry.size) bytes; the signed image has it as \(known.mediaType), \(known.size) bytes")
            }
            named += 1
        }
        guard named > 0 else { throw TrustError.manifestMismatch("\(layout)/index.json names no manifest of the signed image \(digest) of \(what)") }
        return checked
    }
}
