import FoundationEssentials
import Glibc
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetPlatform
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
    /// The repository the trust data must name (`RepositoryEditor.identityField`); nil means the
    /// reference's own name. A copy in a mirror is verified with the original's name (`--as`).
    public var expectedIdentity: String?

    /// Options with the given home.
    public init(home: String) { self.home = home }
}

/// Where the trusted root comes from for one operation.
public struct RootChoice: Sendable {
    /// A root file given by the user (`--root`): pinned when nothing is pinned, after the trust data
    /// verified with it; when a root is pinned it must be a version of the pinned chain.
    public var given: (path: String, bytes: [UInt8])?
    /// With nothing pinned, accept the registry's first root (and say so).
    public var trustOnFirstUse = false

    public init(given: (path: String, bytes: [UInt8])? = nil, trustOnFirstUse: Bool = false) {
        self.given = given
        self.trustOnFirstUse = trustOnFirstUse
    }

    /// Reads a root file (`--root FILE`).
    /// - Throws: `TrustError.file` when it cannot be read.
    /// - Throws: `TrustError.file` when it cannot be read, `.tuf` naming the file when it is not root metadata.
    public static func file(_ path: String) throws(TrustError) -> RootChoice {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.readExisting(path, limit: UpdaterConfig().rootMaxLength) } catch { throw .file(error) }
        do { _ = try Metadata<Root>(bytes: bytes, file: path) } catch {
            // A Notary v1 root (`"_type": "Root"`, x509 root keys) is for `signet dct`, not for Signet's own trust data.
            if let json = try? JSONParser.parse(bytes), json["signed"]?["_type"]?.stringValue == "Root" {
                throw .usage("\(path) is a Notary v1 (Docker Content Trust) root: it verifies Notary data with `signet dct verify|pull|import … --root \(path)`; Signet's own trust data has its own root (`signet trust init` prints it)")
            }
            throw .tuf(error)
        }
        return RootChoice(given: (path, bytes))
    }
}

/// The result of verifying a repository's current trust data.
public final class TrustState {
    /// The client that verified it (lookups load delegated roles through it).
    public let updater: Updater
    /// The trust index it was read through, and its manifest digest.
    public let index: TrustIndex
    public let indexDigest: Digest
    let transport: IndexTransport
    /// Tags already looked up in this state (`RegistryTrust.tagsToResolve`, before it was stored), with
    /// what the lookup gave: `resolve` reports that instead of looking (and fetching) again.
    let lookedUp: [String: Result<TargetFile, TUFError>]
    /// The trusted metadata.
    public var trusted: TrustedMetadataSet { updater.trusted }

    init(updater: Updater, index: TrustIndex, indexDigest: Digest, transport: IndexTransport, lookedUp: [String: Result<TargetFile, TUFError>] = [:]) {
        self.updater = updater
        self.index = index
        self.indexDigest = indexDigest
        self.transport = transport
        self.lookedUp = lookedUp
    }
}

/// Trust data of one OCI repository, stored in that repository (`docs/tuf-on-oci.md`), and the locally
/// pinned root that verifies it.
public final class RegistryTrust {
    /// The repository (`registry/name`).
    public let reference: ImageReference
    /// The registry client.
    public let client: RegistryClient
    /// Options.
    public let options: TrustOptions
    let events: (TrustEvent) -> Void
    /// The storage mode once known from verified trust data (or chosen at `trust init`).
    public internal(set) var storageOverride: TrustStorage?
    /// Set once a trust index or a waiting change has been sent to the registry by this value (whatever
    /// the answer): from then on the keys that state names may be in use, so nothing that named them may
    /// be undone by deleting them.
    public internal(set) var publishAttempted = false
    /// The `_tuf` manifest read while finding the storage mode, used once by the next `fetchIndex` (so a
    /// refresh reads it once); dropped whenever this machine moves a trust tag.
    var trustTagManifest: [UInt8]?
    /// The bytes of the trust index read last under the trust tag (kept once it verified).
    var lastTrustIndexBytes: [UInt8]?
    /// Whether the last read of the trust tag found the index this machine kept (a 304 answer).
    var trustTagUnchanged = false
    /// Tags the caller will look up after the next refresh (`verify` sets its tag): on a cold refresh the
    /// hash bins holding them are fetched together with the top-level files, and stored with them.
    public var tagsToResolve: [String] = []

    /// Creates the trust view of `reference`'s repository.
    public init(reference: ImageReference, client: RegistryClient, options: TrustOptions, events: @escaping (TrustEvent) -> Void = { _ in }) {
        self.reference = reference
        self.client = client
        self.options = options
        self.events = events
    }

    var repository: String { reference.repository }

    /// The name the trust data must carry.
    public var identity: String { options.expectedIdentity ?? reference.name }

    /// Where the pinned root and the trusted metadata of this repository live.
    public var trustDirectory: String { RegistryTrust.trustDirectory(home: options.home, reference: reference) }

    /// The pin directory of `reference` under `home`.
    public static func trustDirectory(home: String, reference: ImageReference) -> String {
        home + "/trust/" + PercentEncoding.encode(reference.registry) + "/" + PercentEncoding.encode(reference.repository)
    }

    /// Where every root version this machine verified is kept.
    var rootArchive: String { trustDirectory + "/roots" }

    /// Whether a root is pinned for this repository.
    public var isPinned: Bool { AtomicFile.exists(trustDirectory + "/root.json") }

    // MARK: Index

    /// The current trust index, or nil when the trust tag does not exist.
    /// - Throws: `TrustError.oci` for registry failures, `.invalidIndex`.
    public func fetchIndex(tag: String? = nil) throws(TrustError) -> (TrustIndex, Digest)? {
        let t: String
        switch tag {
        case nil, options.trustTag?:
            let current = try currentIndexTag()
            if current.version == 0 { return nil }
            t = current.tag
        case options.stagedTag?:
            if let ahead = startStagedReadIfModeUnknown() {
                // `_tuf-staged` was read while `storage()` read `_tuf`; it is the waiting change's tag
                // only in normal storage.
                let mode: TrustStorage
                do { mode = try storage() } catch { _ = ahead.wait(); throw error }
                let read = ahead.wait()
                if mode == .normal {
                    let bytes: [UInt8]?
                    do { bytes = try read.get() } catch { throw TrustError.oci(error) }
                    guard let bytes else { return nil }
                    return try parseIndex(bytes)
                }
            }
            guard let current = try currentStagedTag() else { return nil }
            t = current.tag
        case let other?:
            t = other
        }
        let bytes: [UInt8]
        if t == options.trustTag, let cached = trustTagManifest {
            bytes = cached
            trustTagManifest = nil
        } else {
            do {
                bytes = t == options.trustTag ? try fetchTrustTagManifest().bytes
                    : try client.fetchManifest(repository: repository, reference: t, maxBytes: options.maxIndexBytes, what: "trust index \(repository):\(t)").bytes
            } catch {
                if case .notFound = error { return nil }
                throw TrustError.oci(error)
            }
        }
        if t == options.trustTag { lastTrustIndexBytes = bytes }
        // A versioned state (`_tuf.N`) is read unconditionally: nothing says it is the one held here.
        if (tag == nil || tag == options.trustTag) && t != options.trustTag { trustTagUnchanged = false }
        return try parseIndex(bytes)
    }

    /// A trust index manifest's parsed form and digest (its bytes are untrusted like any index).
    func parseIndex(_ bytes: [UInt8]) throws(TrustError) -> (TrustIndex, Digest) {
        let digest: Digest
        do { digest = try SHA256.hash(bytes) } catch { throw TrustError.invalidIndex("\(error)") }
        return (try TrustIndex(manifestBytes: bytes), digest)
    }

    /// When the storage mode is not known yet (nothing recorded, `_tuf` not read), starts reading
    /// `_tuf-staged` on another thread, so that a publish learns the mode and whether a change waits in
    /// one round trip. Nil when the mode is known (the waiting change's tag then follows from it).
    func startStagedReadIfModeUnknown() -> BackgroundResult<[UInt8]?>? {
        guard storageOverride == nil, readStorageRecord() == nil else { return nil }
        let client = self.client, repository = self.repository, tag = options.stagedTag, limit = options.maxIndexBytes
        return BackgroundResult { () throws(OCIError) -> [UInt8]? in
            do throws(OCIError) {
                return try client.fetchManifest(repository: repository, reference: tag, maxBytes: limit, what: "trust index \(repository):\(tag)").bytes
            } catch {
                if case .notFound = error { return nil }
                throw error
            }
        }
    }

    /// Where the trust index this machine last verified is kept (its bytes, untrusted like any index).
    var cachedIndexPath: String { trustDirectory + "/index.manifest" }

    /// The manifest under the trust tag. When this machine kept the index it last verified, the request
    /// is conditional (`If-None-Match` with its digest) and an unchanged index costs no body.
    func fetchTrustTagManifest() throws(OCIError) -> (bytes: [UInt8], contentType: String?) {
        let what = "trust index \(repository):\(options.trustTag)"
        trustTagUnchanged = false
        if let cached = try? AtomicFile.read(cachedIndexPath, limit: options.maxIndexBytes), let d = try? SHA256.hash(cached) {
            if let fresh = try client.fetchManifest(repository: repository, reference: options.trustTag, unlessStill: d, maxBytes: options.maxIndexBytes, what: what) {
                return fresh
            }
            trustTagUnchanged = true
            return (cached, MediaType.ociManifest)
        }
        return try client.fetchManifest(repository: repository, reference: options.trustTag, maxBytes: options.maxIndexBytes, what: what)
    }

    /// Keeps the bytes of a trust index that verified, for the next conditional request.
    func keepIndex(_ bytes: [UInt8]) {
        if let cached = try? AtomicFile.read(cachedIndexPath, limit: options.maxIndexBytes), cached == bytes { return }
        try? AtomicFile.write(bytes, to: cachedIndexPath, mode: 0o644, durable: false)
    }

    /// What the trust tag holds now, whatever it is (a trust index, another image, garbage): its digest,
    /// whether it is a usable trust index, or nil when the tag is absent. Read bounded, never trusted.
    public func trustTagContent() throws(TrustError) -> (digest: Digest, isIndex: Bool)? {
        let fetched: (bytes: [UInt8], contentType: String?)
        let current = try currentIndexTag()
        if current.version == 0 { return nil }
        do {
            fetched = try client.fetchManifest(repository: repository, reference: current.tag, what: "trust tag \(repository):\(current.tag)")
        } catch {
            if case .notFound = error { return nil }
            throw TrustError.oci(error)
        }
        let digest: Digest
        do { digest = try SHA256.hash(fetched.bytes) } catch { throw TrustError.invalidIndex("\(error)") }
        return (digest, (try? TrustIndex(manifestBytes: fetched.bytes)) != nil)
    }

    /// The newest complete state this machine verified (the files it keeps as its trusted state and its
    /// archived root chain), as trust index files, verified again from the pinned root as a complete
    /// repository: every role the snapshot lists, each against its delegator and the snapshot, the root
    /// chain from version 1. Expired files are accepted (this machine verified them while they were valid).
    /// - Throws: `TrustError.notPinned`; `.usage` naming what this machine does not hold; `.tuf` when the
    ///   files no longer verify.
    public func lastVerifiedState() throws(TrustError) -> [(name: String, bytes: [UInt8])] {
        guard let pinned = try pinnedRoot() else { throw TrustError.notPinned(reference.name) }
        func incomplete(_ what: String) -> TrustError {
            .usage("this machine does not hold the complete last state of \(reference.name) (\(what) is missing from \(trustDirectory)); restore it from the machine that published it")
        }
        do {
            let root = try Metadata<Root>(bytes: pinned, file: "root.json")
            var files: [(String, [UInt8])] = []
            for v in 1...max(1, root.signed.header.version) {
                guard let b = v == root.signed.header.version ? pinned : archivedRoot(v) else { throw incomplete("root version \(v)") }
                files.append(("\(v).root.json", b))
            }
            let store = try DirectoryMetadataStore(directory: trustDirectory)
            let limits = UpdaterConfig()
            guard let ts = try store.load(role: "timestamp", limit: limits.timestampMaxLength) else { throw incomplete("timestamp") }
            guard let snapBytes = try store.load(role: "snapshot", limit: limits.snapshotMaxLength) else { throw incomplete("snapshot") }
            let snapshot = try Metadata<Snapshot>(bytes: snapBytes, file: "snapshot.json")
            files.append(("timestamp.json", ts))
            files.append(("\(snapshot.signed.header.version).snapshot.json", snapBytes))
            let memory = InMemoryMetadataStore(root: pinned)
            try memory.save(role: "timestamp", bytes: ts)
            try memory.save(role: "snapshot", bytes: snapBytes)
            for (file, meta) in snapshot.signed.meta {
                guard file.hasSuffix(".json") else { continue }
                let role = String(file.dropLast(5))
                guard let bytes = try store.load(role: role, limit: Int(clamping: meta.length ?? Int64(limits.targetsMaxLength))) else { throw incomplete(role) }
                files.append(("\(meta.version).\(PercentEncoding.encode(role)).json", bytes))
                try memory.save(role: role, bytes: bytes)
            }
            // Verify them again, served from memory, as a publisher would before building on them.
            var descriptors: [String: Descriptor] = [:]
            var local: [Digest: [UInt8]] = [:]
            for (name, bytes) in files {
                let d = try SHA256.hash(bytes)
                descriptors[name] = Descriptor(mediaType: TrustIndex.metadataMediaType, digest: d, size: Int64(bytes.count))
                local[d] = bytes
            }
            let transport = IndexTransport(client: client, repository: repository, index: TrustIndex(files: descriptors), local: local)
            var config = UpdaterConfig()
            config.expiredMetadata = .allowIfSeen
            let updater = try Updater(metadataBaseURL: IndexTransport.base, transport: transport, store: memory, clock: options.clock, config: config)
            _ = try updater.verifiedRepository(earlierRoots: { [self] v in archivedRoot(v) })
            try checkIdentity(updater.trusted)
            return files
        } catch let e as TrustError { throw e } catch let e as TUFError { throw TrustError.tuf(e) } catch { throw TrustError.wrap(error) }
    }

    /// The stored copy of a file the trust index lists (`timestamp.json`, `N.root.json`, `N.ROLE.json`),
    /// bounded by its listed size, or nil. Only the files the client asks for are read, and the transport
    /// serves them only when they hash to the listed digest: with 64 hash bins stored, a verify reads the
    /// one bin it needs, not all of them.
    static func heldFile(trustDirectory: String, rootArchive: String) -> @Sendable (String, Descriptor) -> [UInt8]? {
        { name, descriptor in
            guard descriptor.size >= 0, descriptor.size <= 64 << 20, name.hasSuffix(".json"), !name.contains("/") else { return nil }
            let limit = Int(descriptor.size)
            func read(_ path: String) -> [UInt8]? {
                guard let bytes = try? AtomicFile.read(path, limit: limit), bytes.count == limit else { return nil }
                return bytes
            }
            if name == "timestamp.json" { return read(trustDirectory + "/timestamp.json") }
            guard let dot = name.firstIndex(of: "."), Int64(name[..<dot]) != nil else { return nil }
            let stored = String(name[name.index(after: dot)...])   // "ROLE.json", the role percent-encoded
            guard stored.count > 5, !stored.hasPrefix(".") else { return nil }
            if stored == "root.json" { return read(rootArchive + "/" + name) ?? read(trustDirectory + "/root.json") }
            return read(trustDirectory + "/" + stored)
        }
    }

    // MARK: Pinning

    /// The pinned root's bytes, if any.
    /// - Throws: `TrustError.file` for an unreadable pin.
    public func pinnedRoot() throws(TrustError) -> [UInt8]? {
        do { return try AtomicFile.read(trustDirectory + "/root.json", limit: UpdaterConfig().rootMaxLength) } catch { throw .file(error) }
    }

    /// Root version `version` as this machine verified it earlier, if kept.
    func archivedRoot(_ version: Int64) -> [UInt8]? {
        try? AtomicFile.read(rootArchive + "/\(version).root.json", limit: UpdaterConfig().rootMaxLength)
    }

    /// Forgets this machine's pin and trusted state for the repository (starting over after its trust
    /// data was lost).
    func forgetPin() throws(TrustError) {
        do throws(FileError) { try AtomicFile.removeTree(trustDirectory) } catch { throw TrustError.usage("cannot remove \(trustDirectory): \(error.detail)") }
    }

    /// Keeps verified root versions for later (re-publishing the chain, and checking root files given later).
    func archiveRoots(_ roots: [(Int64, [UInt8])]) {
        guard !roots.isEmpty, (try? AtomicFile.makeDirectory(rootArchive, mode: 0o755)) != nil else { return }
        for (v, bytes) in roots where !AtomicFile.exists(rootArchive + "/\(v).root.json") {
            try? AtomicFile.write(bytes, to: rootArchive + "/\(v).root.json")
        }
    }

    /// Replaces the pinned root deliberately (`signet trust pin --replace`), after the registry's trust
    /// data verified with the new root; or pins it when nothing is pinned.
    /// - Returns: a description of the root that was replaced, if any.
    /// - Throws: `TrustError` when the trust data does not verify with `root` (nothing changes then).
    @discardableResult
    public func replacePin(with root: (path: String, bytes: [UInt8]), replace: Bool) throws(TrustError) -> String? {
        let old = try pinnedRoot()
        if old != nil && !replace {
            _ = try refresh(RootChoice(given: root))
            return nil
        }
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "signet-pin") } catch { throw .file(error) }
        defer { scratch.remove() }
        // Verify from the new root alone, in a scratch store; the pin changes only if that succeeds.
        let probe = RegistryTrust(reference: reference, client: client, options: { var o = options; o.home = scratch.path; return o }(), events: { _ in })
        _ = try probe.refresh(RootChoice(given: root))
        do {
            // The new state is written in one batch (every file written and fsynced before any replaces
            // its old version; root.json last), then what the old state had beyond it is removed.
            var files: [(path: String, bytes: [UInt8])] = []
            var archived: [(path: String, bytes: [UInt8])] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: probe.rootArchive)) ?? [] where name.hasSuffix(".json") {
                if let bytes = try AtomicFile.read(probe.rootArchive + "/" + name, limit: 1 << 20) { archived.append((rootArchive + "/" + name, bytes)) }
            }
            var newRoot: [UInt8]?
            for name in (try? FileManager.default.contentsOfDirectory(atPath: probe.trustDirectory)) ?? [] where name.hasSuffix(".json") {
                guard let bytes = try AtomicFile.read(probe.trustDirectory + "/" + name, limit: 64 << 20) else { continue }
                if name == "root.json" { newRoot = bytes } else { files.append((trustDirectory + "/" + name, bytes)) }
            }
            guard let newRoot else { throw TrustError.usage("the new root was not kept while verifying with it") }
            if !archived.isEmpty { try AtomicFile.makeDirectory(rootArchive) }
            try AtomicFile.writeAll(archived + files + [(trustDirectory + "/root.json", newRoot)])
            let kept = Set((archived + files).map(\.path) + [trustDirectory + "/root.json"])
            for name in (try? FileManager.default.contentsOfDirectory(atPath: trustDirectory)) ?? [] where name.hasSuffix(".json") && !kept.contains(trustDirectory + "/" + name) {
                try? AtomicFile.remove(trustDirectory + "/" + name)
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: rootArchive)) ?? [] where !kept.contains(rootArchive + "/" + name) {
                try? AtomicFile.remove(rootArchive + "/" + name)
            }
        } catch let e as TrustError { throw e } catch { throw TrustError.wrap(error) }
        return old.map { RootPin.describe($0) }
    }

    // MARK: Reading

    /// Runs the TUF client workflow against the registry's trust data, from the pinned root (or the root
    /// chosen by `root` when nothing is pinned), and checks that the trust data names this repository.
    ///
    /// The pinned state on disk changes only when everything verified: a failed refresh leaves it as it
    /// was, and a root given for a repository with nothing pinned is pinned only then. A given root that
    /// is not a version of the pinned chain is an error, never a downgrade.
    /// - Parameter expired: whether expired metadata may be accepted (renewal).
    /// - Throws: `TrustError.noTrustData`, `.trustDataRemoved`, `.notPinned`, `.rootDisagrees`,
    ///   `.wrongRepository`, `.tuf` for any verification failure.
    /// - Parameter persist: false to look without keeping anything (nothing stored, nothing pinned), as
    ///   `inspect` does when showing expired trust data.
    public func refresh(_ root: RootChoice = RootChoice(), expired: ExpiredMetadata = .refuse, persist: Bool = true) throws(TrustError) -> TrustState {
        // A root file of another repository says so before anything is fetched (its keys would only
        // make every signature look wrong).
        if let given = root.given, let named = (try? Metadata<Root>(bytes: given.bytes, file: given.path))?.signed.unknown[RepositoryEditor.identityField]?.stringValue,
           !TrustChecks.sameRepository(named, identity) {
            throw TrustError.rootOfAnotherRepository(repository: identity, names: named, file: given.path)
        }
        let pinned = try pinnedRoot()
        if let pinned, (try? Metadata<Root>(bytes: pinned, file: "root.json")) == nil {
            let path = trustDirectory + "/root.json"
            let reason: String
            do { _ = try Metadata<Root>(bytes: pinned, file: path); reason = "" } catch { reason = error.description }
            throw TrustError.file(.io(path: path, detail: "the pinned root is damaged (\(reason)); put back a copy, or pin the repository again with `signet trust pin \(reference.name) --root ROOT_FILE --replace`"))
        }
        // Warm: the client's half of the refresh runs while the registry is asked whether the index is
        // still the one kept here, and is used only when it is.
        if let pinned, root.given == nil, let ahead = try warmRefreshAhead(expired: expired) {
            return try finishRefresh(ahead.updater, transport: ahead.transport, store: ahead.store, index: ahead.index, indexDigest: ahead.indexDigest,
                                     pinned: pinned, newPin: nil, root: root, expired: expired, persist: persist)
        }
        guard let (index, indexDigest) = try fetchIndex() else {
            if pinned != nil { throw TrustError.trustDataRemoved(reference.name) }
            throw TrustError.noTrustData(reference.name)
        }
        let transport = IndexTransport(client: client, repository: repository, index: index, lookup: RegistryTrust.heldFile(trustDirectory: trustDirectory, rootArchive: rootArchive))
        var seed: [String: [UInt8]] = [:]
        var newPin: (root: [UInt8], tofu: Bool, original: String?)?
        var pinnedFromOriginal: String?
        if pinned == nil {
            let first: [UInt8]
            let tofu: Bool
            if let given = root.given {
                first = given.bytes
                tofu = false
            } else if root.trustOnFirstUse {
                do { first = try transport.get(IndexTransport.base + "1.root.json", maxBodyBytes: UpdaterConfig().rootMaxLength) } catch {
                    throw TrustError.invalidIndex("no usable 1.root.json: \(error)")
                }
                tofu = true
            } else if let original = options.expectedIdentity, original != reference.name,
                      let originalReference = try? ImageReference(parsing: original),
                      let bytes = try? AtomicFile.read(RegistryTrust.trustDirectory(home: options.home, reference: originalReference) + "/root.json",
                                                       limit: UpdaterConfig().rootMaxLength) {
                // A copy verified as its original starts from the root this machine pinned for the
                // original (its own trusted state; the copy's trust data must chain from it).
                first = bytes
                tofu = false
                pinnedFromOriginal = original
            } else {
                throw TrustError.notPinned(reference.name)
            }
            do { _ = try TrustedMetadataSet(rootBytes: first, referenceTime: options.clock()) } catch { throw TrustError.tuf(error) }
            seed["root"] = first
            newPin = (first, tofu, pinnedFromOriginal)
        }
        let store: TransactionalMetadataStore
        do { store = TransactionalMetadataStore(base: try DirectoryMetadataStore(directory: trustDirectory), seed: seed) } catch { throw TrustError.tuf(error) }
        var config = UpdaterConfig()
        config.expiredMetadata = expired
        // An unchanged index (the conditional request said so) lists only files held here already.
        if !trustTagUnchanged {
            let ahead = transport.prefetchTopLevel(limits: config, targets: tagsToResolve)
            if !ahead.isEmpty { events(.fetchingAhead(repository: reference.name, files: ahead)) }
        }
        defer { transport.finish() }
        let updater: Updater
        do {
            updater = try Updater(metadataBaseURL: IndexTransport.base, transport: transport, store: store, clock: options.clock, config: config,
                                  events: { [events] e in events(.updater(e)) })
            try updater.refresh()
        } catch { throw TrustError.refreshFailed(error, repository: reference.name) }
        return try finishRefresh(updater, transport: transport, store: store, index: index, indexDigest: indexDigest,
                                 pinned: pinned, newPin: newPin, root: root, expired: expired, persist: persist)
    }

    /// A refresh's client half, run ahead of the registry's answer (``warmRefreshAhead(expired:)``).
    private struct WarmRefresh {
        let updater: Updater
        let transport: IndexTransport
        let store: TransactionalMetadataStore
        let index: TrustIndex
        let indexDigest: Digest
    }

    /// Updater events held until it is known whether the run that emitted them counts; once released,
    /// the held ones are reported and every later one is passed straight on.
    private final class HeldEvents: @unchecked Sendable {
        private let lock = Lock()
        private var held: [UpdaterEvent] = []
        private var forward: ((UpdaterEvent) -> Void)?

        func add(_ e: UpdaterEvent) {
            let f = lock.withLock { () -> ((UpdaterEvent) -> Void)? in
                if let forward { return forward }
                held.append(e)
                return nil
            }
            f?(e)
        }

        func release(to f: @escaping (UpdaterEvent) -> Void) {
            let past = lock.withLock { () -> [UpdaterEvent] in
                forward = f
                defer { held = [] }
                return held
            }
            for e in past { f(e) }
        }
    }

    /// A warm refresh (a root pinned, the index verified last kept here) asks the registry whether the
    /// trust tag still holds the kept index, with the conditional request `fetchTrustTagManifest` makes,
    /// and while the answer is on its way runs the TUF client over the kept index and the files held
    /// here (fetching nothing), writing nothing and holding its events back. That run is used only when
    /// the registry answers that the index is unchanged and its reference time can move to the time of
    /// the answer without changing anything it decided (nothing it trusts expired meanwhile; see
    /// `TrustedMetadataSet.advanceReferenceTime`): the client would then have run over the same bytes,
    /// at that time, to the same result. Otherwise it is dropped: a new index is taken as `storage()`
    /// and `fetchIndex()` take it, and the refresh goes on from there as usual (a failed run ahead is
    /// not reported either: the usual run, over the same bytes, reports what fails).
    /// - Returns: the verified state to finish the refresh with, or nil to refresh as usual.
    /// - Throws: `TrustError.oci` when the registry cannot answer (as the usual refresh would).
    private func warmRefreshAhead(expired: ExpiredMetadata) throws(TrustError) -> WarmRefresh? {
        guard trustTagManifest == nil, let kept = try? AtomicFile.read(cachedIndexPath, limit: options.maxIndexBytes),
              let (index, indexDigest) = try? parseIndex(kept) else { return nil }
        // In storage not known yet, the answer also decides the storage mode: only a kept index without
        // the versioned hint can stand for it.
        guard storageOverride == .normal || (storageOverride == nil && RegistryTrust.storageHint(kept) == .normal && readStorageRecord() == nil) else { return nil }
        let client = self.client, repository = self.repository, tag = options.trustTag, limit = options.maxIndexBytes
        let what = "trust index \(repository):\(tag)"
        trustTagUnchanged = false
        let answer = BackgroundResult { () throws(OCIError) -> (bytes: [UInt8], contentType: String?)? in
            try client.fetchManifest(repository: repository, reference: tag, unlessStill: indexDigest, maxBytes: limit, what: what)
        }
        let held = HeldEvents()
        var ahead: WarmRefresh?
        if let base = try? DirectoryMetadataStore(directory: trustDirectory) {
            let store = TransactionalMetadataStore(base: base)
            let transport = IndexTransport(client: client, repository: repository, index: index, lookup: RegistryTrust.heldFile(trustDirectory: trustDirectory, rootArchive: rootArchive))
            transport.allowFetching(false)
            var config = UpdaterConfig()
            config.expiredMetadata = expired
            if let updater = try? Updater(metadataBaseURL: IndexTransport.base, transport: transport, store: store, clock: options.clock, config: config,
                                          events: { e in held.add(e) }),
               (try? updater.refresh()) != nil {
                ahead = WarmRefresh(updater: updater, transport: transport, store: store, index: index, indexDigest: indexDigest)
            }
            transport.finish()
        }
        switch answer.wait() {
        case .success(nil):
            // Unchanged (304): what `storage()` and `fetchIndex()` conclude from that answer.
            if storageOverride == nil { storageOverride = .normal }
            trustTagUnchanged = true
            lastTrustIndexBytes = kept
            guard let ahead, ahead.updater.advanceReferenceTime(to: options.clock()) else {
                trustTagManifest = kept
                return nil
            }
            ahead.transport.allowFetching(true)
            held.release { [events] e in events(.updater(e)) }
            return ahead
        case .success(let fresh?):
            trustTagUnchanged = false
            _ = takeTrustTagManifest(fresh.bytes)
            return nil
        case .failure(let error):
            switch error {
            case .notFound, .tooLarge: return nil   // the usual refresh asks again and reports it
            default: throw TrustError.oci(error)
            }
        }
    }

    /// What a refresh does once the TUF client verified the trust data of `index`: the identity and
    /// storage checks, a given root against the pinned chain, and (with `persist`) the new trusted state.
    private func finishRefresh(_ updater: Updater, transport: IndexTransport, store: TransactionalMetadataStore, index: TrustIndex, indexDigest: Digest,
                               pinned: [UInt8]?, newPin: (root: [UInt8], tofu: Bool, original: String?)?, root: RootChoice, expired: ExpiredMetadata,
                               persist: Bool) throws(TrustError) -> TrustState {
        try checkIdentity(updater.trusted)
        // The storage mode the verified root records decides where the current state is.
        let rootSaysVersioned = updater.trusted.root.signed.unknown[RegistryTrust.storageField]?.stringValue == TrustStorage.versioned.rawValue
        let usedVersioned = try storage() == .versioned
        if rootSaysVersioned && !usedVersioned {
            storageOverride = .versioned
            return try refresh(root, expired: expired, persist: persist)
        }
        if usedVersioned && !rootSaysVersioned {
            throw TrustError.invalidIndex("the trust tags of \(reference.name) are marked versioned, but its verified root does not record versioned storage")
        }
        // A root file given when a root is already pinned must be a version of the pinned chain.
        if let given = root.given, let pinned {
            let v = try TrustChecks.givenRoot(given, pinned: pinned, updater: updater, earlier: { [self] v in
                // Kept from earlier verifications, or read from the index and checked as a chain.
                guard let chain = try? updater.verifiedRootChain(earlierRoots: { ev in
                    self.archivedRoot(ev) ?? (try? transport.get(IndexTransport.base + "\(ev).root.json", maxBodyBytes: UpdaterConfig().rootMaxLength))
                }) else { return nil }
                return Int(v) <= chain.count ? chain[Int(v) - 1] : nil
            }, repository: reference.name, pinDirectory: trustDirectory)
            let final = updater.trusted.root.signed.header.version
            if v < final { events(.pinKept(repository: reference.name, givenVersion: v, pinnedVersion: final)) }
        }
        guard persist else { return TrustState(updater: updater, index: index, indexDigest: indexDigest, transport: transport) }
        // The tags the command will resolve are looked up first, so that the delegated metadata that
        // loads (`releases`, a hash bin) is stored in the same batch as the rest. What each lookup gave,
        // a failure too, is kept with the state and reported where the command resolves the tag (not
        // looked up, nor fetched, a second time).
        var lookedUp: [String: Result<TargetFile, TUFError>] = [:]
        for tag in tagsToResolve {
            do throws(TUFError) { lookedUp[tag] = .success(try updater.lookup(tag)) } catch { lookedUp[tag] = .failure(error) }
        }
        do { try store.commit() } catch { throw TrustError.tuf(error) }
        if !usedVersioned, let bytes = lastTrustIndexBytes { keepIndex(bytes) }
        if usedVersioned { recordStorage(indexVersion: try currentIndexTag().version) }
        var accepted: [(Int64, [UInt8])] = []
        for v in updater.verifiedRootVersions {
            if let b = updater.verifiedRoot(version: v) { accepted.append((v, b)) }
        }
        archiveRoots(accepted)
        if let newPin {
            events(.pinned(repository: reference.name, root: RootPin.describe(newPin.root), directory: trustDirectory, trustOnFirstUse: newPin.tofu,
                           original: newPin.original))
        }
        for e in updater.trusted.expiredAccepted {
            events(.expiredAccepted(repository: reference.name, role: e.role, version: e.version, expires: e.expires))
        }
        return TrustState(updater: updater, index: index, indexDigest: indexDigest, transport: transport, lookedUp: lookedUp)
    }

    /// Checks that root, timestamp and snapshot name this repository (or the `--as` identity).
    func checkIdentity(_ set: TrustedMetadataSet) throws(TrustError) {
        try TrustChecks.identity(of: set, is: identity, display: identity == reference.name ? reference.name : "\(reference.name) (as \(identity))")
    }

    /// The complete verified state, for a publisher: refresh, then every delegated role and every root
    /// version from 1 (kept from earlier verifications, or read from the index and verified as a chain).
    /// - Throws: `TrustError` for anything that does not verify.
    public func verifiedState(_ root: RootChoice = RootChoice(), expired: ExpiredMetadata) throws(TrustError) -> (TrustState, VerifiedRepository) {
        let state = try refresh(root, expired: expired)
        do {
            let verified = try state.updater.verifiedRepository(earlierRoots: { [self] v in
                self.archivedRoot(v) ?? (try? state.transport.get(IndexTransport.base + "\(v).root.json", maxBodyBytes: UpdaterConfig().rootMaxLength))
            })
            archiveRoots(verified.rootChain.enumerated().map { (Int64($0.offset + 1), $0.element) })
            return (state, verified)
        } catch { throw TrustError.tuf(error) }
    }

    /// Records files this machine published (and so trusts) as its pinned state, so that a later
    /// rollback of them is detected here too.
    func adopt(_ files: [(name: String, bytes: [UInt8])]) throws(TrustError) {
        do {
            let store = try DirectoryMetadataStore(directory: trustDirectory)
            var roots: [(Int64, [UInt8])] = []
            for (name, bytes) in files {
                if name.hasSuffix(".root.json"), let v = Int64(name.dropLast(10)) { roots.append((v, bytes)) }
            }
            // Files this machine already holds unchanged are not written again (with 64 hash bins, a
            // publish changes one of them); the others are written together, root first.
            var changed: [(role: String, bytes: [UInt8])] = []
            func save(_ role: String, _ bytes: [UInt8]) {
                if let held = try? store.load(role: role, limit: bytes.count), held == bytes { return }
                changed.append((role, bytes))
            }
            if let latest = roots.max(by: { $0.0 < $1.0 }) { save("root", latest.1) }
            for (name, bytes) in files where !name.hasSuffix(".root.json") {
                guard let role = DiskRepository.role(ofFile: name) else { continue }
                save(role, bytes)
            }
            try store.saveAll(changed)
            archiveRoots(roots)
        } catch { throw TrustError.tuf(error) }
    }

    /// The trusted target for `tag`.
    /// - Throws: `TrustError.unsignedTag` when no role signs it, other `TrustError`s from verification.
    public func resolve(tag: String, state: TrustState) throws(TrustError) -> TrustedTarget {
        let target: TargetFile
        do throws(TUFError) {
            if let earlier = state.lookedUp[tag] { target = try earlier.get() } else { target = try state.updater.lookup(tag) }
        } catch {
            if case .targetNotFound = error { throw TrustError.unsignedTag(tag: tag, repository: reference.name) }
            throw TrustError.refreshFailed(error, repository: reference.name)
        }
        guard let digest = target.sha256 else { throw TrustError.tuf(.noSupportedHash(file: tag)) }
        let mediaType = target.custom?["mediaType"]?.stringValue
        return TrustedTarget(tag: tag, digest: digest, length: target.length, mediaType: mediaType, target: target)
    }

    /// The tags whose signed digest is `digest`: every tag any verified role lists with that digest and
    /// that resolves to it through the delegations (as a client resolving the tag would).
    /// - Throws: `TrustError` for trust data that does not verify completely.
    public func tags(signing digest: Digest, state: TrustState) throws(TrustError) -> [TrustedTarget] {
        let verified: VerifiedRepository
        do {
            verified = try state.updater.verifiedRepository(earlierRoots: { [self] v in
                self.archivedRoot(v) ?? (try? state.transport.get(IndexTransport.base + "\(v).root.json", maxBodyBytes: UpdaterConfig().rootMaxLength))
            })
        } catch { throw TrustError.refreshFailed(error, repository: reference.name) }
        var candidates: Set<String> = []
        for role in verified.roles {
            for path in role.metadata.signed.targetPaths where ((try? role.metadata.signed.target(path)) ?? nil)?.sha256 == digest {
                candidates.insert(path)
            }
        }
        var out: [TrustedTarget] = []
        for tag in candidates.sorted() {
            if let t = try? resolve(tag: tag, state: state), t.digest == digest { out.append(t) }
        }
        return out
    }

    /// Fetches the signed manifest of `target` by digest, bounded by its signed length, and checks it.
    /// - Throws: `TrustError.oci` (digest or size mismatch is a verification failure).
    public func fetchVerifiedManifest(_ target: TrustedTarget) throws(TrustError) -> VerifiedManifest {
        let what = "signed manifest of \(reference.name):\(target.tag)"
        // Manifests are content-addressed: bytes kept from an earlier verification are used when they
        // hash to the signed digest and have the signed length, whoever asks.
        if let bytes = manifestCache.bytes(digest: target.digest, length: target.length),
           let manifest = try? VerifiedManifest.verify(bytes, expectedDigest: target.digest, expectedSize: target.length,
                                                       declaredMediaType: target.mediaType, what: what) {
            return manifest
        }
        let manifest: VerifiedManifest
        do {
            let fetched = try client.fetchManifest(repository: repository, reference: target.digest.ociString,
                                                   maxBytes: Int(clamping: target.length), what: "manifest \(reference.name)@\(target.digest)")
            manifest = try VerifiedManifest.verify(fetched.bytes, expectedDigest: target.digest, expectedSize: target.length,
                                                   declaredMediaType: target.mediaType, what: what)
            keepManifest(fetched.bytes, digest: target.digest)
        } catch { throw TrustError.oci(error) }
        return manifest
    }

    /// Verified manifests kept for later verifications of this repository.
    var manifestCache: ManifestCache { ManifestCache(directory: trustDirectory + "/manifests") }

    func keepManifest(_ bytes: [UInt8], digest: Digest) {
        guard isPinned else { return }   // nothing is kept for repositories this machine does not pin
        manifestCache.keep(bytes, digest: digest)
    }

    /// What `verify` established about a tag.
    public struct VerifiedTag: Sendable {
        public let target: TrustedTarget
        public let manifest: VerifiedManifest
        /// The digest the registry's tag names now (equal to the signed one unless the check was skipped).
        public let registryDigest: Digest?
    }

    /// Verifies `tag`: resolves it through the trust data, fetches the signed manifest by digest and,
    /// unless `checkRegistryTag` is off, requires the registry's tag to still name it (a tag moved
    /// without a signature is refused); `pinnedDigest` (from `REF:TAG@sha256:…`) must equal the signed digest.
    /// - Throws: `TrustError.manifestMismatch`, `.unsignedTag`, and the errors of refresh and fetch.
    /// - Parameter tagRead: the registry's tag, read earlier with ``startTagRead(_:)`` (it is read here otherwise).
    public func verifyTag(_ tag: String, state: TrustState, pinnedDigest: Digest? = nil, checkRegistryTag: Bool = true, tagRead: PendingTagRead? = nil) throws(TrustError) -> VerifiedTag {
        let target = try resolve(tag: tag, state: state)
        if let pinnedDigest, pinnedDigest != target.digest {
            throw TrustError.manifestMismatch("\(reference.name):\(tag)@\(pinnedDigest) asks for \(pinnedDigest) but the signed digest of tag \(tag) is \(target.digest)")
        }
        guard checkRegistryTag else {
            return VerifiedTag(target: target, manifest: try fetchVerifiedManifest(target), registryDigest: nil)
        }
        // The registry's tag is read alongside the fetch of the signed manifest (or earlier, when the
        // caller started the read before refreshing the trust data).
        let read = tagRead ?? startTagRead(tag)
        let manifest: VerifiedManifest
        // (The read hashed the bytes already; `verify` checks digest and length again as it always does.)
        if read.readsBody, case .success(let tagDigest) = read.wait(), tagDigest == target.digest, let bytes = read.body,
           let m = try? VerifiedManifest.verify(bytes, expectedDigest: target.digest, expectedSize: target.length,
                                                declaredMediaType: target.mediaType, what: "signed manifest of \(reference.name):\(tag)") {
            // The tag's manifest, read whole on a cold cache, is the signed one: no second request.
            manifest = m
            keepManifest(bytes, digest: target.digest)
        } else {
            do { manifest = try fetchVerifiedManifest(target) } catch {
                _ = read.wait()
                throw error
            }
        }
        let current: Digest
        do { current = try read.wait().get() } catch { throw TrustError.wrap(error) }
        guard current == target.digest else {
            throw TrustError.manifestMismatch("tag \(tag) of \(reference.name) points to \(current) in the registry, but the trust data signs \(target.digest) for it: the tag was moved without a signature (the signed image is \(reference.name)@\(target.digest))")
        }
        return VerifiedTag(target: target, manifest: manifest, registryDigest: current)
    }

    /// The digest a registry tag names, being read on another thread.
    public final class PendingTagRead: Sendable {
        /// Whether the manifest is read whole (GET) rather than with a HEAD.
        public let readsBody: Bool
        /// The digest, and the manifest's bytes when read whole.
        fileprivate let read: BackgroundResult<(digest: Digest, body: [UInt8]?)>

        fileprivate init(readsBody: Bool, _ body: @escaping @Sendable () throws(OCIError) -> (digest: Digest, body: [UInt8]?)) {
            self.readsBody = readsBody
            read = BackgroundResult(body)
        }

        /// Waits for the read to end and returns what it found.
        public func wait() -> Result<Digest, OCIError> { read.wait().map(\.digest) }

        /// The manifest's bytes, when read whole and read without error (waits like ``wait()``).
        var body: [UInt8]? { try? read.wait().get().body }
    }

    /// Starts reading the digest the registry's `tag` names: a HEAD, taking the digest the registry
    /// states for it (a registry that lies here could as well serve the signed manifest under the tag),
    /// else a GET whose bytes are hashed here. Nothing it returns is trusted: ``verifyTag`` only compares
    /// it with the signed digest. A verify starts it before refreshing the trust data, so that the two
    /// round trips overlap. When nothing is pinned yet (no manifest kept from an earlier verification),
    /// the manifest is read whole instead: ``verifyTag`` uses those bytes as the signed manifest when they
    /// hash to the signed digest, which saves the request by digest.
    public func startTagRead(_ tag: String) -> PendingTagRead {
        let client = self.client, repository = self.repository, what = "manifest \(reference.name):\(tag)"
        let readsBody = !isPinned
        return PendingTagRead(readsBody: readsBody) { () throws(OCIError) -> (digest: Digest, body: [UInt8]?) in
            func whole() throws(OCIError) -> (digest: Digest, body: [UInt8]?) {
                let bytes = try client.fetchManifest(repository: repository, reference: tag, what: what).bytes
                do { return (try SHA256.hash(bytes), bytes) } catch { throw OCIError.invalidArgument("\(error)") }
            }
            if readsBody { return try whole() }
            if let head = try client.headManifest(repository: repository, reference: tag), let claimed = head.claimedDigest,
               let d = try? Digest(oci: claimed), d.algorithm == .sha256 {
                return (d, nil)
            }
            return try whole()
        }
    }

    /// The repository whose trust data `layout` holds (its `signet-trust/pull.json`), nil when it holds
    /// none or the file is unreadable. Not trusted: it only keeps one repository's trust data from
    /// being replaced by another's.
    public static func layoutRepository(_ layout: String) -> String? {
        guard let bytes = try? AtomicFile.readRegularFile(layout + "/signet-trust/pull.json", limit: 64 << 10),
              let json = try? JSONParser.parse(bytes) else { return nil }
        return json["repository"]?.stringValue
    }

    /// Writes the trust metadata that verified `tag` into `layout/signet-trust/`: every root version and
    /// the exact verified files as a small static repository, and `pull.json` naming what was pulled, so
    /// that `signet verify --layout` can check the layout again without network (from the machine's
    /// own pinned root, never from anything stored in the layout).
    /// - Throws: `TrustError`.
    public func exportForLayout(_ layout: String, tag: String, digest: Digest, state: TrustState) throws(TrustError) {
        // Written beside the current copy and swapped in once complete, so that a failure part way
        // leaves the trust data the layout had.
        let place = layout + "/signet-trust", out = layout + "/.signet-trust.new", old = layout + "/.signet-trust.old"
        let set = state.trusted
        do {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: old)
            try AtomicFile.makeDirectory(out + "/remote")
            let chain = try state.updater.verifiedRootChain(earlierRoots: { [self] v in
                self.archivedRoot(v) ?? (try? state.transport.get(IndexTransport.base + "\(v).root.json", maxBodyBytes: UpdaterConfig().rootMaxLength))
            })
            for (i, b) in chain.enumerated() { try AtomicFile.write(b, to: out + "/remote/\(i + 1).root.json") }
            if let ts = state.updater.verifiedBytes(role: "timestamp") { try AtomicFile.write(ts, to: out + "/remote/timestamp.json") }
            if let snap = set.snapshot, let bytes = state.updater.verifiedBytes(role: "snapshot") {
                try AtomicFile.write(bytes, to: out + "/remote/\(snap.signed.header.version).snapshot.json")
                for (name, meta) in snap.signed.meta where name.hasSuffix(".json") {
                    let role = String(name.dropLast(5))
                    guard let bytes = state.updater.verifiedBytes(role: role) else { continue }
                    try AtomicFile.write(bytes, to: out + "/remote/\(meta.version).\(PercentEncoding.encode(role)).json")
                }
            }
            var info = JSONObject()
            info["repository"] = .string(reference.name)
            info["tag"] = .string(tag)
            info["digest"] = .string(digest.ociString)
            try AtomicFile.write(JSONWriter.encode(.object(info)), to: out + "/pull.json")
            if AtomicFile.exists(place) { try FileManager.default.moveItem(atPath: place, toPath: old) }
            try FileManager.default.moveItem(atPath: out, toPath: place)
            try? FileManager.default.removeItem(atPath: old)
        } catch {
            try? FileManager.default.removeItem(atPath: out)
            if !AtomicFile.exists(place), AtomicFile.exists(old) { try? FileManager.default.moveItem(atPath: old, toPath: place) }
            throw TrustError.wrap(error)
        }
    }
}
