import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import SignetTUF

/// Unlocks a key from the store; `root` says whether it signs root (for choosing its passphrase).
public typealias KeyUnlocker = (_ entry: KeyringEntry, _ root: Bool) throws -> PrivateKey

/// Changes a repository's trust data in the registry: verify the current state, apply a change with
/// the repository editor, push the new metadata blobs and index, and move the trust tag.
public final class TrustPublisher {
    /// The repository's trust view.
    public let trust: RegistryTrust
    let keyring: Keyring
    let unlock: KeyUnlocker

    /// Creates a publisher signing with keys from `keyring`.
    public init(trust: RegistryTrust, keyring: Keyring, unlock: @escaping KeyUnlocker) {
        self.trust = trust
        self.keyring = keyring
        self.unlock = unlock
    }

    /// Name of the delegated role that signs tags.
    public static let releasesRole = "releases"

    // MARK: Initialising

    /// Result of `initialize`.
    public struct Initialized: Sendable {
        public let rootKeyIDs: [String]
        public let rootFile: String
        public let signerKeyIDs: [String]
    }

    /// Creates trust data for a repository that has none: root, targets, snapshot, timestamp and a
    /// `releases` delegation (paths `*`), generating missing keys; publishes it and pins its root locally.
    /// - Throws: `TrustError.usage` when trust data already exists; others on failure.
    public func initialize(keys given: [String: [String]] = [:], thresholds: [String: Int] = [:],
                           passphrase: (String) throws -> SecretBytes) throws -> Initialized {
        if try trust.fetchIndex() != nil {
            throw TrustError.usage("\(trust.reference.name) already has trust data; use `signet trust` subcommands to change it")
        }
        let work = try makeWorkDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
        var signers: [PrivateKey] = []
        var ids: [String: [String]] = [:]
        for role in Root.topLevelRoles + [TrustPublisher.releasesRole] {
            var roleIDs = given[role] ?? []
            var publics: [PublicKey] = []
            if roleIDs.isEmpty {
                let key = try PrivateKey.generate(.ed25519)
                let entry = try keyring.add(key, passphrase: try passphrase(role), labels: [("role", role), ("repository", trust.reference.name)])
                roleIDs = [entry.keyID]
                signers.append(key)
                publics.append(key.publicKey)
            } else {
                for id in roleIDs {
                    let e = try keyring.find(id)
                    publics.append(e.publicKey)
                    signers.append(try unlock(e, role == "root"))
                }
            }
            ids[role] = roleIDs
            spec[role] = (publics, thresholds[role] ?? 1)
        }
        let repo = try Repository(creating: work, keys: spec.filter { $0.key != TrustPublisher.releasesRole }, clock: trust.options.clock)
        repo.durableWrites = false
        guard let releases = spec[TrustPublisher.releasesRole] else { throw TrustError.usage("no releases keys") }
        try repo.delegate(from: "targets", name: TrustPublisher.releasesRole, keys: releases.keys, threshold: releases.threshold, paths: ["*"])
        guard case .published = try repo.publish(signers: signers) else {
            throw TrustError.usage("the keys given do not meet the thresholds asked for; give more keys or lower thresholds")
        }
        let rootBytes = try readFile(work + "/metadata/1.root.json")
        try trust.pin(rootBytes: rootBytes, replace: true)
        try push(repo, work: work, expectedCurrent: nil)
        return Initialized(rootKeyIDs: ids["root"] ?? [], rootFile: trust.trustDirectory + "/root.json", signerKeyIDs: ids[TrustPublisher.releasesRole] ?? [])
    }

    // MARK: Changing

    /// Verifies the current trust data, applies `change` to it, signs with the keys available locally,
    /// and publishes. If thresholds are not met, the signed change is pushed under the staged tag.
    /// - Returns: the editor's outcome.
    public func update(_ change: (Repository) throws -> Void) throws -> PublishOutcome {
        let prepared = try prepare(change)
        defer { prepared.discard() }
        try commit(prepared)
        return prepared.outcome
    }

    /// A signed change held locally, not yet in the registry.
    public final class PreparedChange {
        let work: String
        let repo: Repository
        let indexDigest: Digest
        /// What publishing it will do (publish, or stage for more signatures).
        public let outcome: PublishOutcome
        init(work: String, repo: Repository, indexDigest: Digest, outcome: PublishOutcome) {
            self.work = work
            self.repo = repo
            self.indexDigest = indexDigest
            self.outcome = outcome
        }
        /// Removes the local working copy.
        public func discard() { try? FileManager.default.removeItem(atPath: work) }
    }

    /// Verifies the current trust data, applies `change` and signs it, without touching the registry
    /// (so that `signet push` can prepare the signature before the image is uploaded).
    public func prepare(_ change: (Repository) throws -> Void) throws -> PreparedChange {
        if let (staged, _) = try trust.fetchIndex(tag: trust.options.stagedTag), !staged.files.isEmpty {
            throw TrustError.pendingChange(trust.reference.name)
        }
        let (work, indexDigest) = try checkout()
        do {
            let repo = try Repository(directory: work, clock: trust.options.clock)
            repo.durableWrites = false   // a private working copy, discarded after the push
            try change(repo)
            let outcome = try repo.publish(signers: try signers(for: repo.signingKeyIDs()))
            return PreparedChange(work: work, repo: repo, indexDigest: indexDigest, outcome: outcome)
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
    }

    /// Publishes a prepared change: metadata blobs, index by digest, then the trust tag (or the staged tag).
    /// - Throws: `TrustError.conflict` if someone else published since it was prepared.
    public func commit(_ prepared: PreparedChange) throws {
        try pushOutcome(prepared.outcome, repo: prepared.repo, work: prepared.work, expectedCurrent: prepared.indexDigest)
    }

    /// The change that signs `tag` (into `releases` when delegated, else top-level targets).
    public static func signChange(tag: String, digest: Digest, length: Int64, mediaType: String) -> (Repository) throws -> Void {
        { repo in
            let role = repo.roles[ByteKey(releasesRole)] != nil ? releasesRole : "targets"
            var custom = JSONObject()
            custom["mediaType"] = .string(mediaType)
            try repo.addTarget(path: tag, content: nil, length: length, hashes: [("sha256", digest.hex)], custom: .object(custom), role: role, replace: true)
        }
    }

    /// Adds this machine's signatures to the change staged in the registry, publishing it when every
    /// threshold is met.
    public func signStaged() throws -> PublishOutcome {
        let (work, indexDigest) = try checkout()
        defer { try? FileManager.default.removeItem(atPath: work) }
        guard let (staged, _) = try trust.fetchIndex(tag: trust.options.stagedTag), !staged.files.isEmpty else {
            throw TrustError.usage("no change is waiting for signatures in \(trust.reference.name)")
        }
        try download(staged, into: work + "/staged/metadata")
        let repo = try Repository(directory: work, clock: trust.options.clock)
        repo.durableWrites = false
        let outcome = try repo.signStaged(signers: try signers(for: repo.stagedSigningKeyIDs()))
        try pushOutcome(outcome, repo: repo, work: work, expectedCurrent: indexDigest, completingStaged: true)
        return outcome
    }

    /// Drops the change waiting for signatures (an empty index under the staged tag).
    public func discardStaged() throws {
        guard let (staged, _) = try trust.fetchIndex(tag: trust.options.stagedTag), !staged.files.isEmpty else {
            throw TrustError.usage("no change is waiting for signatures in \(trust.reference.name)")
        }
        _ = try pushIndex([], tag: trust.options.stagedTag)
    }

    /// Signs `tag` as pointing to a manifest (digest, length, media type).
    public func sign(tag: String, digest: Digest, length: Int64, mediaType: String) throws -> PublishOutcome {
        guard tag != trust.options.trustTag, tag != trust.options.stagedTag else {
            throw TrustError.usage("\"\(tag)\" is reserved for trust data")
        }
        return try update(TrustPublisher.signChange(tag: tag, digest: digest, length: length, mediaType: mediaType))
    }

    /// Removes `tag`'s signature.
    public func revoke(tag: String) throws -> PublishOutcome {
        try update { repo in
            for name in [TrustPublisher.releasesRole, "targets"] {
                if let r = repo.roles[ByteKey(name)], r.signed.containsTarget(tag) {
                    try repo.removeTarget(path: tag, role: name)
                    return
                }
            }
            throw TrustError.unsignedTag(tag: tag, repository: trust.reference.name)
        }
    }

    // MARK: Plumbing

    func makeWorkDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "signet-trust-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try AtomicFile.makeDirectory(dir + "/metadata", mode: 0o700)
        return dir
    }

    /// Verifies the current trust data with the pinned root, then writes every file of the index into a
    /// fresh work directory as a static repository.
    func checkout() throws -> (String, Digest) {
        _ = try trust.refresh(trustOnFirstUse: false, allowExpired: true)
        guard let (index, digest) = trust.lastIndex else { throw TrustError.trustDataRemoved(trust.reference.name) }
        let work = try makeWorkDirectory()
        do { try download(index, into: work + "/metadata") } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        return (work, digest)
    }

    func download(_ index: TrustIndex, into directory: String) throws {
        try AtomicFile.makeDirectory(directory, mode: 0o700)
        // Files the refresh just verified and stored are served by digest instead of fetched again.
        let transport = IndexTransport(client: trust.client, repository: trust.reference.repository, index: index,
                                       local: trust.locallyHeldFiles())
        for name in index.files.keys {
            // Titles were checked to hold no "/"; refuse the two names that are directories.
            guard name != ".", name != ".." else { continue }
            let bytes = try transport.get(IndexTransport.base + name, maxBodyBytes: 64 << 20)
            try AtomicFile.write(bytes, to: directory + "/" + name, durable: false)
        }
    }

    func signers(for ids: Repository.SigningKeyIDs) throws -> [PrivateKey] {
        var out: [PrivateKey] = []
        for e in try keyring.list() where ids.all.contains(e.keyID) {
            out.append(try unlock(e, ids.root.contains(e.keyID)))
        }
        return out
    }

    func readFile(_ path: String) throws -> [UInt8] {
        guard let b = try AtomicFile.read(path, limit: 64 << 20) else { throw TUFError.storage(path: path, detail: "missing") }
        return b
    }

    func pushOutcome(_ outcome: PublishOutcome, repo: Repository, work: String, expectedCurrent: Digest?, completingStaged: Bool = false) throws {
        // One change at a time may wait for signatures; a new one must not silently replace it.
        let pending = try trust.fetchIndex(tag: trust.options.stagedTag).map { !$0.0.files.isEmpty } ?? false
        if pending && !completingStaged { throw TrustError.pendingChange(trust.reference.name) }
        switch outcome {
        case .published:
            try push(repo, work: work, expectedCurrent: expectedCurrent)
            if pending { _ = try pushIndex([], tag: trust.options.stagedTag) }
        case .staged:
            var files: [(String, [UInt8])] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: work + "/staged/metadata")) ?? [] {
                files.append((name, try readFile(work + "/staged/metadata/" + name)))
            }
            _ = try pushIndex(files, tag: trust.options.stagedTag)
        }
    }

    /// Pushes the current state of `repo`: every root version, timestamp, snapshot and each targets
    /// role it lists; then the index by digest, then the trust tag (the commit point).
    func push(_ repo: Repository, work: String, expectedCurrent: Digest?) throws {
        var files: [(String, [UInt8])] = []
        for v in 1...max(1, repo.root.signed.header.version) {
            files.append(("\(v).root.json", try readFile(work + "/metadata/\(v).root.json")))
        }
        files.append(("timestamp.json", try readFile(work + "/metadata/timestamp.json")))
        guard let snapshot = repo.snapshot else { throw TrustError.usage("nothing published") }
        files.append(("\(snapshot.signed.header.version).snapshot.json", try readFile(work + "/metadata/\(snapshot.signed.header.version).snapshot.json")))
        for (name, meta) in snapshot.signed.meta where name.hasSuffix(".json") {
            let file = "\(meta.version).\(PercentEncoding.encode(String(name.dropLast(5)))).json"
            files.append((file, try readFile(work + "/metadata/" + file)))
        }
        // Lost race: someone moved the trust tag since we verified it.
        let current = try trust.fetchIndex()?.1
        if current != expectedCurrent {
            throw TrustError.conflict("another publisher changed the trust data of \(trust.reference.name) meanwhile (trust index \(expectedCurrent?.ociString ?? "absent") became \(current?.ociString ?? "absent")); nothing was changed; run the command again")
        }
        let ours = try pushIndex(files, tag: nil)
        do {
            _ = try trust.client.putManifest(repository: trust.reference.repository, reference: trust.options.trustTag,
                                             bytes: ours.bytes, mediaType: MediaType.ociManifest)
        } catch { throw TrustError.oci(error) }
        // Read the tag back: if it is not ours, another publisher won.
        let now = try trust.fetchIndex()?.1
        guard now == ours.digest else {
            throw TrustError.conflict("another publisher moved \(trust.options.trustTag) of \(trust.reference.name) at the same time; their change won; run the command again")
        }
        // Our own pinned state follows what we just published, so a later rollback of it is detected here too.
        try trust.adopt(publishedMetadataDirectory: work + "/metadata")
    }

    /// Uploads metadata blobs and an index manifest (by digest; also under `tag` when given).
    func pushIndex(_ files: [(String, [UInt8])], tag: String?) throws -> (bytes: [UInt8], digest: Digest) {
        let repository = trust.reference.repository
        do {
            let empty = Descriptor(mediaType: TrustIndex.emptyMediaType, digest: try SHA256.hash(TrustIndex.emptyBlob), size: 2)
            _ = try trust.client.uploadBlob(repository: repository, descriptor: empty, source: .bytes(TrustIndex.emptyBlob))
            for (_, bytes) in files {
                let d = Descriptor(mediaType: TrustIndex.metadataMediaType, digest: try SHA256.hash(bytes), size: Int64(bytes.count))
                _ = try trust.client.uploadBlob(repository: repository, descriptor: d, source: .bytes(bytes))
            }
            let manifest = try TrustIndex.manifest(for: files, created: TUFDate.format(trust.options.clock()))
            let digest = try SHA256.hash(manifest)
            _ = try trust.client.putManifest(repository: repository, reference: digest.ociString, bytes: manifest, mediaType: MediaType.ociManifest)
            if let tag {
                _ = try trust.client.putManifest(repository: repository, reference: tag, bytes: manifest, mediaType: MediaType.ociManifest)
            }
            return (manifest, digest)
        } catch let e as OCIError { throw TrustError.oci(e) }
    }
}
