import FoundationEssentials
import Dispatch
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetTUF

/// Notary v1 metadata from a notary server (`GET /v2/<GUN>/_trust/tuf/…`), authenticated like a
/// registry (Docker's token scheme, scope `repository:<GUN>:pull`).
public struct NotaryServerSource: NotarySource {
    let client: RegistryClient
    let gun: String

    /// The server at `url` (`https://host:port`), with TLS verified against the system CAs or `caFile`,
    /// and `credentials` for its token service.
    /// - Throws: `TrustError.usage` for a URL that is not https, `.oci` for transport set-up failures.
    /// Without `caFile`, the server's own CA certificates are also trusted when Docker's per-host
    /// directory holds them (`dockerConfigDirectory/tls/HOST[:PORT]/*.crt`, as the Docker CLI reads
    /// them for its notary server), besides the system's.
    public init(url: String, gun: String, caFile: String?, dockerConfigDirectory: String? = nil,
                credentials: any CredentialProvider = AnonymousCredentials()) throws(TrustError) {
        var text = url
        while text.hasSuffix("/") { text.removeLast() }
        guard text.hasPrefix("https://") else { throw TrustError.usage("the notary server URL must start with https:// (got \(url))") }
        let host = String(text.dropFirst("https://".count))
        guard !host.isEmpty, !host.contains("/") else { throw TrustError.usage("the notary server URL must be https://HOST[:PORT], got \(url)") }
        var options = CurlTransportOptions(caFile: caFile)
        if caFile == nil, let dockerConfigDirectory, let extra = try NotaryServerSource.dockerHostCertificates(dockerConfigDirectory + "/tls/" + host) {
            var bundle: [UInt8] = []
            for path in CurlTransport.systemBundles {
                if let bytes = try? AtomicFile.readRegularFile(path, limit: 32 << 20, followingLinks: true) { bundle = bytes; break }
            }
            options.caBundlePEM = bundle + [0x0A] + extra
        }
        let transport: CurlTransport
        do { transport = try CurlTransport(options: options) } catch { throw TrustError.usage("cannot set up HTTPS: \(error)") }
        client = RegistryClient(endpoint: RegistryEndpoint(registry: host, security: .requireTLS), transport: transport, credentials: credentials)
        self.gun = gun
    }

    /// The PEM certificates (`*.crt`, regular files) of a Docker per-host certificate directory, or nil
    /// when it holds none.
    /// - Throws: `TrustError.file` for a certificate file that cannot be read.
    static func dockerHostCertificates(_ directory: String) throws(TrustError) -> [UInt8]? {
        guard let names = try? AtomicFile.list(directory) else { return nil }
        var pem: [UInt8] = []
        for name in names.sorted() where name.hasSuffix(".crt") {
            do {
                guard let bytes = try AtomicFile.readRegularFile(directory + "/" + name, limit: 1 << 20, followingLinks: true) else { continue }
                // As Docker does, a file that is not PEM certificates is left out (libcurl would refuse
                // the whole bundle for it).
                guard (try? X509Certificate.parseChain(pem: String(decoding: bytes, as: UTF8.self)))?.isEmpty == false else { continue }
                pem += bytes + [0x0A]
            } catch { throw TrustError.file(error) }
        }
        return pem.isEmpty ? nil : pem
    }

    public func fetch(_ file: NotaryFile, limit: Int) throws(TUFError) -> [UInt8]? {
        // The GUN goes into the path as it is, slashes and colon included (as notary does).
        let path = "/v2/\(gun)/_trust/tuf/\(file.description)"
        do {
            return try client.fetch(path: path, scopes: ["repository:\(gun):pull"], maxBytes: limit, what: "notary \(file.description) of \(gun)")
        } catch {
            switch error {
            case .tooLarge, .declaredTooLarge: throw TUFError.tooLarge(file: file.description, limit: Int64(limit))
            default: break
            }
            throw TUFError.fetch(file: file.description, .sinkFailed(url: path, underlying: error))
        }
    }
}

/// How this machine decides to trust a repository's Notary root the first time (notary's trust pinning).
public enum DCTRootPin: Sendable {
    /// A root file (`root.json` from a machine that trusted it).
    case rootFile(path: String, bytes: [UInt8])
    /// Root key IDs (notary's `trust_pinning.certs`): the root must be signed by a threshold of these.
    case rootKeyIDs([String])
    /// Certificate authorities (notary's `trust_pinning.ca`): the root certificates must chain to them.
    case certificateAuthority(path: String, [X509Certificate])
    /// Accept the root the source shows, and say so.
    case trustOnFirstUse
}

/// Docker Content Trust data of one repository (GUN), verified as Docker did, with this machine's pins
/// in `$SIGNET_HOME/dct/<GUN>/` (the trusted root and the metadata last verified, for rollback checks).
public final class DCTTrust {
    /// The image reference; its name is the GUN.
    public let reference: ImageReference
    public var gun: String { reference.name }
    let source: any NotarySource
    let options: TrustOptions
    let events: (TrustEvent) -> Void
    /// Accept expired metadata (data whose server is gone); removes freeze protection.
    public var unsafeAllowExpired = false

    public init(reference: ImageReference, source: any NotarySource, options: TrustOptions, events: @escaping (TrustEvent) -> Void = { _ in }) {
        self.reference = reference
        self.source = source
        self.options = options
        self.events = events
    }

    /// Where the pin and trusted metadata live.
    public var pinDirectory: String { options.home + "/dct/" + PercentEncoding.encode(gun) }

    /// Whether a root is pinned for the GUN.
    public var isPinned: Bool { AtomicFile.exists(pinDirectory + "/root.json") }

    /// The default trust server of a repository, as Docker chose it: `$DOCKER_CONTENT_TRUST_SERVER`,
    /// `https://notary.docker.io` for Docker Hub, else `https://<registry host>`.
    public static func defaultServer(for reference: ImageReference, environment: [String: String]) -> String {
        if let s = environment["DOCKER_CONTENT_TRUST_SERVER"], !s.isEmpty { return s }
        if reference.registry == "docker.io" { return "https://notary.docker.io" }
        return "https://" + reference.registry
    }

    /// Verifies the repository's Notary data: from the pinned root, or — with nothing pinned — from the
    /// root chosen by `pin`, which is pinned only when everything verified. A root file given when a root
    /// is pinned must be that root (or an earlier version of it this machine verified).
    /// - Throws: `TrustError.notPinned`, `.rootDisagrees`, `.tuf` for anything that does not verify.
    public func refresh(pin: DCTRootPin?) throws(TrustError) -> NotaryTrustedSet {
        let pins: DirectoryMetadataStore
        do { pins = try DirectoryMetadataStore(directory: pinDirectory) } catch { throw TrustError.tuf(error) }
        let pinned: [UInt8]?
        do { pinned = try pins.load(role: "root", limit: NotaryUpdater.rootLimit) } catch { throw TrustError.tuf(error) }
        var seed: [String: [UInt8]] = [:]
        var check: ((NotaryTrustedSet) -> String?)?
        var tofu = false
        if pinned == nil {
            switch pin {
            case .rootFile(_, let bytes)?:
                seed["root"] = bytes
            case .rootKeyIDs(let ids)?:
                seed["root"] = try currentRoot()
                check = { set in set.rootSigned(byKeysPassing: { ids.contains($0.id) }) ? nil : "the root is not signed by the pinned root key IDs \(ids.joined(separator: ", "))" }
            case .certificateAuthority(let path, let cas)?:
                seed["root"] = try currentRoot()
                let time = options.clock()
                check = { set in
                    set.rootSigned(byKeysPassing: { k in
                        guard let leaf = k.certificates.first else { return false }
                        return leaf.chains(to: cas, intermediates: Array(k.certificates.dropFirst()), at: time)
                    }) ? nil : "the root certificates do not chain to the certificate authorities in \(path)"
                }
            case .trustOnFirstUse?:
                seed["root"] = try currentRoot()
                tofu = true
            case nil:
                throw TrustError.dctNotPinned(gun)
            }
        }
        let store = TransactionalMetadataStore(base: pins, seed: seed)
        let updater = NotaryUpdater(gun: gun, source: source, store: store, clock: options.clock, unsafeAllowExpired: unsafeAllowExpired,
                                    events: { [events, gun] e in
                                        switch e {
                                        case .expiredAccepted(let f, let v, let x): events(.expiredAccepted(repository: gun, role: f, version: v, expires: x))
                                        default: events(.notary(e))
                                        }
                                    })
        do { try updater.refresh() } catch { throw TrustError.tuf(error) }
        guard let set = updater.trusted else { throw TrustError.tuf(.misuse("no trusted set")) }
        if let check, let problem = check(set) {
            throw TrustError.tuf(.invalidMetadata(file: "root.json", reason: problem))
        }
        // A root file given for a repository that is pinned must be the pinned root or one this machine
        // verified on the way (kept in roots/).
        if let pinned, case .rootFile(let path, let given)? = pin, given != set.rootBytes, given != pinned {
            let archived = (try? NotaryRoot(bytes: given, file: path)).flatMap { r in
                try? AtomicFile.read(pinDirectory + "/roots/\(r.envelope.version).root.json", limit: NotaryUpdater.rootLimit)
            }
            if archived != given {
                throw TrustError.rootDisagrees(repository: gun, given: path, givenRoot: DCTTrust.describe(given), pinned: DCTTrust.describe(set.rootBytes),
                                               directory: pinDirectory)
            }
        }
        do {
            try store.commit()
            let archived = pinDirectory + "/roots/\(set.root.envelope.version).root.json"
            if (try? AtomicFile.read(archived, limit: set.rootBytes.count)) != .some(set.rootBytes) {
                try AtomicFile.makeDirectory(pinDirectory + "/roots")
                try AtomicFile.write(set.rootBytes, to: archived)
            }
        } catch { throw TrustError.wrap(error) }
        if pinned == nil {
            events(.pinned(repository: gun, root: DCTTrust.describe(set.rootBytes), directory: pinDirectory, trustOnFirstUse: tofu))
        }
        return set
    }

    /// The root the source shows now.
    func currentRoot() throws(TrustError) -> [UInt8] {
        do {
            guard let bytes = try source.fetch(.current(role: "root"), limit: NotaryUpdater.rootLimit) else {
                throw TrustError.notaryHasNoData(gun)
            }
            return bytes
        } catch let e as TrustError { throw e } catch let e as TUFError { throw TrustError.tuf(e) } catch { throw TrustError.wrap(error) }
    }

    /// Version and short SHA-256 of a Notary root.
    static func describe(_ bytes: [UInt8]) -> String {
        let version = (try? NotaryRoot(bytes: bytes, file: "root.json").envelope.version).map { "version \($0)" } ?? "not Notary root metadata"
        let digest = (try? SHA256.hash(bytes).hex.prefix(16)).map { "sha256 \($0)…" } ?? ""
        return "\(version), \(digest)"
    }
}

extension DCTTrust {
    /// The digest and length the Notary data this machine verified last time names for `tag`
    /// (`targets/releases`, else `targets`), read from `pinDirectory` without verifying anything: a hint
    /// for fetching early, never a decision.
    static func lastVerifiedTarget(_ tag: String, pinDirectory: String) -> (digest: Digest, length: Int64)? {
        for role in ["targets/releases", "targets"] {
            guard let name = PercentEncoding.fileName(for: role, suffix: ".json"),
                  let bytes = try? AtomicFile.read(pinDirectory + "/" + name, limit: NotaryCodec.maxFileBytes),
                  let value = try? JSONParser.parse(bytes), case .object(let entry)? = value["signed"]?["targets"]?[tag],
                  case .integer(let length)? = entry["length"], let text = entry["hashes"]?["sha256"]?.stringValue,
                  let raw = Base64.decode(text), let digest = try? Digest(algorithm: .sha256, bytes: raw) else { continue }
            return (digest, length)
        }
        return nil
    }
}

/// The manifest of a tag fetched on a second thread while the Notary data is verified, by the digest the
/// data named the last time this machine verified it. It is handed out only for the digest and length
/// the verified data names now, and is then checked against them like any fetched manifest.
public final class ManifestPrefetch: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let lock = Lock()
    private var ended = false
    private var hint: (digest: Digest, length: Int64)?
    private var fetched: (bytes: [UInt8], contentType: String?)?

    /// Starts fetching the manifest `tag` had when `trust` last verified, if any.
    public init(trust: DCTTrust, tag: String, client: RegistryClient) {
        let directory = trust.pinDirectory
        let repository = trust.reference.repository
        let limit = Int64(client.options.maxManifestBytes)
        startThread(stackSize: 1 << 20) { [self] in
            var result: (bytes: [UInt8], contentType: String?)?
            let h = DCTTrust.lastVerifiedTarget(tag, pinDirectory: directory)
            if let h, h.length > 0, h.length <= limit {
                // Kept from an earlier verification (checked again by the caller like any fetched manifest).
                if let kept = ManifestCache(directory: directory + "/manifests").bytes(digest: h.digest, length: h.length) {
                    result = (kept, nil)
                } else {
                    result = try? client.fetchManifest(repository: repository, reference: h.digest.ociString, maxBytes: Int(h.length),
                                                       what: "manifest \(h.digest.ociString)")
                }
            }
            lock.withLock {
                hint = h
                fetched = result
                ended = true
            }
            finished.signal()
        }
    }

    /// Waits for the fetch to end.
    public func wait() {
        if lock.withLock({ ended }) { return }
        finished.wait()
        finished.signal()
    }

    /// The prefetched manifest, when it was fetched for `digest` and `length`; nil otherwise.
    public func manifest(digest: Digest, length: Int64) -> (bytes: [UInt8], contentType: String?)? {
        wait()
        return lock.withLock { hint?.digest == digest && hint?.length == length ? fetched : nil }
    }
}

/// What Docker Content Trust says about a repository, as `docker trust inspect` showed it.
public struct DCTInspection: Sendable {
    /// A signed tag.
    public struct Tag: Sendable {
        public let name: String
        public let digest: Digest
        public let length: Int64
        /// The role that signs it for Docker (`targets/releases` or `targets`).
        public let role: String
        /// Signer names (`targets/<name>` delegations holding the same digest).
        public let signers: [String]
    }

    /// A role: keys, threshold, version and expiry.
    public struct Role: Sendable {
        public let name: String
        public let keyIDs: [String]
        public let threshold: Int
        public let version: Int64?
        public let expires: String?
    }

    public let gun: String
    public let tags: [Tag]
    /// Names signed only by delegations Docker does not use, with the role.
    public let ignored: [(name: String, role: String)]
    /// Names whose entry is unusable (no sha256), with the reason.
    public let unusable: [(name: String, reason: String)]
    public let roles: [Role]
    /// Delegations that were skipped (expired or under-signed), with the reason.
    public let skipped: [(role: String, reason: String)]

    /// Builds the inspection of a verified set.
    public init(_ set: NotaryTrustedSet) {
        gun = set.gun
        var names: [String] = []
        var seen: Set<String> = []
        for role in ["targets/releases", "targets"] + set.roles.keys.sorted() where set.roles[role] != nil {
            for n in set.roles[role]?.targetNames ?? [] where seen.insert(n).inserted { names.append(n) }
        }
        var tags: [Tag] = []
        var ignored: [(String, String)] = []
        var unusable: [(String, String)] = []
        let signerRoles = set.roles.keys.filter { NotaryTargets.parent(of: $0) == "targets" && $0 != "targets/releases" }.sorted()
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            do {
                guard let (target, role) = try set.dockerTarget(name) else { continue }
                guard let digest = target.sha256 else { unusable.append((name, "no sha256 hash")); continue }
                let signers = signerRoles.filter { r in (try? set.roles[r]?.target(name))??.sha256 == digest }.map { String($0.dropFirst("targets/".count)) }
                tags.append(Tag(name: name, digest: digest, length: target.length, role: role, signers: signers))
            } catch {
                if case .invalidMetadata(let file, _) = error { ignored.append((name, String(file.dropLast(5)))) } else { unusable.append((name, error.description)) }
            }
        }
        self.tags = tags
        self.ignored = ignored
        self.unusable = unusable
        var roles: [Role] = []
        for name in ["root", "targets", "snapshot", "timestamp"] {
            let r = set.root.roles[name]
            let envelope: NotaryEnvelope? = name == "root" ? set.root.envelope : name == "targets" ? set.roles["targets"]?.envelope
                : name == "snapshot" ? set.snapshot?.envelope : set.timestamp?.envelope
            roles.append(Role(name: name, keyIDs: r?.keyIDs ?? [], threshold: r?.threshold ?? 0, version: envelope?.version, expires: envelope?.expiresText))
        }
        for name in set.roles.keys.sorted() where name != "targets" {
            let parent = set.roles[NotaryTargets.parent(of: name)]
            let d = parent?.delegations.first { $0.name == name }
            roles.append(Role(name: name, keyIDs: d?.keyIDs ?? [], threshold: d?.threshold ?? 0, version: set.roles[name]?.envelope.version,
                              expires: set.roles[name]?.envelope.expiresText))
        }
        // Delegations a loaded role lists that were not loaded (skipped, or never needed): with their
        // keys and threshold, and no version or expiry.
        for parent in set.roles.keys.sorted() {
            for d in set.roles[parent]?.delegations ?? [] where set.roles[d.name] == nil && !roles.contains(where: { $0.name == d.name }) {
                roles.append(Role(name: d.name, keyIDs: d.keyIDs, threshold: d.threshold, version: nil, expires: nil))
            }
        }
        self.roles = roles
        skipped = set.skipped
    }

    /// The key IDs of a signer role (`targets/<name>`), from its delegator.
    public func keyIDs(ofRole role: String) -> [String] { roles.first { $0.name == role }?.keyIDs ?? [] }
}
