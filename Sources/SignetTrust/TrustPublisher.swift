import FoundationEssentials
import Glibc
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF

/// Unlocks a key from the store; `root` says whether it signs root (for choosing its passphrase).
public typealias KeyUnlocker = (_ entry: KeyringEntry, _ root: Bool) throws -> PrivateKey

/// Changes a repository's trust data in the registry. Every change starts from the complete verified
/// state (`RegistryTrust.verifiedState`): the editor is built only from files the TUF client accepted,
/// never from what the registry lists; the result is pushed as the metadata blobs the registry lacks,
/// then the index under the trust tag.
public final class TrustPublisher {
    /// The repository's trust view.
    public let trust: RegistryTrust
    let keyring: Keyring
    let unlock: KeyUnlocker
    /// The root to anchor on when nothing is pinned yet.
    public var root = RootChoice()
    /// Whether expired metadata may be built on when the command is not a renewal (`--allow-expired`):
    /// only at or above the versions this machine already trusts.
    public var allowExpired = false

    /// Creates a publisher signing with keys from `keyring`.
    public init(trust: RegistryTrust, keyring: Keyring, unlock: @escaping KeyUnlocker) {
        self.trust = trust
        self.keyring = keyring
        self.unlock = unlock
    }

    /// Name of the delegated role that signs tags.
    public static let releasesRole = "releases"
    /// Past this many signed tags, `releases` is split into succinct hash bins (TAP 15) on the next change.
    public static let hashBinThreshold = 1024
    /// `releases` is split into 2^6 = 64 bins: at 10 000 tags a publish re-signs one bin of about 160 tags.
    public static let hashBinBitLength = 6

    /// Splits `releases` into hash bins once it holds more than `hashBinThreshold` tags.
    static func splitReleasesIfLarge(_ editor: RepositoryEditor) throws {
        guard let releases = editor.roles[ByteKey(releasesRole)], releases.signed.delegations == nil,
              releases.signed.targetCount > hashBinThreshold else { return }
        do { try editor.splitIntoHashBins(role: releasesRole, bitLength: hashBinBitLength) } catch { throw TrustError.wrap(error) }
    }

    /// The roles that may sign `tag`, in the order clients look: the top-level targets first (its own
    /// entries come before its delegations'), then the `releases` role (or its hash bin for the tag).
    static func tagRoles(_ tag: String, _ editor: RepositoryEditor) -> [String] {
        ["targets", editor.holder(of: tag, in: releasesRole)]
    }

    /// The role whose entry for `tag` clients use: the first of ``tagRoles(_:_:)`` that lists it
    /// (top-level targets before its delegations, TUF's pre-order search); nil when none does.
    static func resolvingRole(_ tag: String, _ editor: RepositoryEditor) -> String? {
        tagRoles(tag, editor).first { editor.roles[ByteKey($0)]?.signed.containsTarget(tag) == true }
    }

    var reference: ImageReference { trust.reference }

    /// How many times a change is made again, on the new state, when another publisher won the race
    /// (`TrustError.conflict`); 0 to fail at once (`--no-retry`).
    public var retries = 2
    /// Told before each retry (attempt number, attempts in all).
    public var onRetry: (Int, Int) -> Void = { _, _ in }

    // MARK: Initialising

    /// Result of `initialize`.
    public struct Initialized: Sendable {
        public let rootKeyIDs: [String]
        public let rootFile: String
        public let signerKeyIDs: [String]
        /// Whether a root key sits in the same key store as the snapshot/timestamp keys (fine to start
        /// with; a production root key belongs offline).
        public let rootBesideOnlineKeys: Bool
    }

    /// Creates trust data for a repository that has none: root, targets, snapshot, timestamp and a
    /// `releases` delegation (paths `*`), generating missing keys; the repository's name is written into
    /// root, timestamp and snapshot. Publishes it and pins its root locally.
    /// - Throws: `TrustError.usage` when trust data already exists; others on failure.
    /// - Parameter lifetimes: lifetimes (seconds) to record for roles instead of the defaults.
    /// - Parameter startOver: create new trust data although this machine pinned the repository's root
    ///   before (its trust data was lost); pinned clients then refuse it until re-pinned.
    /// - Parameter storage: `.versioned` for registries whose tags cannot move (recorded in root).
    public func initialize(keys given: [String: [String]] = [:], thresholds: [String: Int] = [:], lifetimes: [(role: String, seconds: Int64)] = [],
                           startOver: Bool = false, storage: TrustStorage = .normal, passphrase: (String) throws -> SecretBytes) throws -> Initialized {
        switch try trust.trustTagContent() {
        case (_, true)?:
            throw TrustError.usage("\(reference.name) already has trust data; use `signet trust` subcommands to change it")
        case (let d, false)?:
            throw TrustError.usage("the trust tag \(trust.options.trustTag) of \(reference.name) holds something that is not trust data (\(d)); "
                                   + (trust.isPinned ? "this machine verified the repository before: `signet trust restore \(reference.name)` publishes that state again, which pinned clients keep accepting"
                                                     : "delete that tag through the registry first, or restore the trust data from a machine that verified it (`signet trust restore`)"))
        case nil:
            if trust.isPinned && !startOver {
                throw TrustError.usage("\(reference.name) has no trust data, but this machine pinned its root earlier: the trust data was lost. `signet trust restore \(reference.name)` publishes the last state this machine verified, and every client that pinned the repository keeps verifying. Starting over (`signet trust init \(reference.name) --start-over`) makes a new root that pinned clients refuse until each is re-pinned with `signet trust pin --replace`")
            }
        }
        var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
        var signers: [PrivateKey] = []
        var ids: [String: [String]] = [:]
        var generated: [KeyringEntry] = []
        do {
            for role in Root.topLevelRoles + [TrustPublisher.releasesRole] {
                var roleIDs = given[role] ?? []
                var publics: [PublicKey] = []
                if roleIDs.isEmpty {
                    let key = try PrivateKey.generate(.ed25519)
                    let entry = try keyring.add(key, passphrase: try passphrase(role), labels: [("role", role), ("repository", reference.name)])
                    generated.append(entry)
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
            let editor = try RepositoryEditor(creating: spec.filter { $0.key != TrustPublisher.releasesRole }, identity: reference.name, clock: trust.options.clock)
            guard let releases = spec[TrustPublisher.releasesRole] else { throw TrustError.usage("no releases keys") }
            try editor.delegate(from: "targets", name: TrustPublisher.releasesRole, keys: releases.keys, threshold: releases.threshold, paths: ["*"])
            for (role, seconds) in lifetimes { try editor.setLifetime(seconds, of: role) }
            if storage == .versioned { editor.recordStorage(TrustStorage.versioned.rawValue) }
            trust.storageOverride = storage
            guard case .published = try editor.publish(signers: signers) else {
                throw TrustError.usage("the keys given do not meet the thresholds asked for; give more keys or lower thresholds")
            }
            let files = editor.currentFiles()
            try push(files, expectedCurrent: nil)
            if startOver, trust.isPinned { try trust.forgetPin() }
            try trust.adopt(files)
            if storage == .versioned { trust.recordStorage(indexVersion: 1) }
        } catch {
            discardNewKeys(generated)
            throw TrustError.wrap(error)
        }
        let local = Set(((try? keyring.list()) ?? []).map(\.keyID))
        let online = (ids["snapshot"] ?? []) + (ids["timestamp"] ?? [])
        return Initialized(rootKeyIDs: ids["root"] ?? [], rootFile: trust.trustDirectory + "/root.json", signerKeyIDs: ids[TrustPublisher.releasesRole] ?? [],
                           rootBesideOnlineKeys: (ids["root"] ?? []).contains { local.contains($0) } && online.contains { local.contains($0) })
    }

    // MARK: Repair

    /// What `restore` did.
    public struct Restored: Sendable {
        /// Timestamp and snapshot versions of the state published again.
        public let timestampVersion: Int64
        public let snapshotVersion: Int64
        /// What the trust tag held before (nil when it was gone).
        public let replaced: Digest?
        /// Set when the restored state had expired or was about to, and was renewed here.
        public let renewal: Renewal?
    }

    /// Publishes again the newest state this machine verified, when the registry's trust tag is gone or
    /// holds something that does not verify (overwritten, pointed at garbage). Refuses when the
    /// registry's trust data verifies (nothing to restore; a newer valid state must never be replaced).
    /// Afterwards snapshot and timestamp are renewed when they expire within `renewWithin` seconds and the
    /// keys are here.
    public func restore(renewWithin: Int64 = 2 * 86400) throws -> Restored {
        let current = try trust.trustTagContent()
        if current?.isIndex == true {
            do {
                let state = try trust.refresh(root, expired: .allowIfSeen, persist: false)
                let v = state.updater.trusted.timestamp?.signed.header.version ?? 0
                throw TrustError.usage("the trust data of \(reference.name) in the registry verifies (timestamp version \(v)); there is nothing to restore")
            } catch let e as TrustError {
                switch e {
                case .tuf(.expiredNotSeen(let file, _, let version, _)):
                    throw TrustError.usage("the registry holds a state of \(reference.name) this machine never verified (\(file) version \(version), expired); it may be newer than this machine's, so it is not replaced: renew it from the machine that published it")
                case .tuf, .invalidIndex, .wrongRepository, .expired, .trustDataRemoved:
                    break   // it does not verify: restore
                default:
                    throw e   // usage, network, registry or local errors: nothing is decided
                }
            }
        }
        let files = try trust.lastVerifiedState()
        try checkTrustTagRaw(expected: current?.digest)
        let ours = try pushIndex(files, tag: nil)
        try trust.putIndexManifest(ours.bytes, digest: ours.digest)
        var ts: Int64 = 0, snap: Int64 = 0
        for (name, bytes) in files {
            if name == "timestamp.json", let m = try? Metadata<Timestamp>(bytes: bytes, file: name) { ts = m.signed.header.version }
            if name.hasSuffix(".snapshot.json"), let m = try? Metadata<Snapshot>(bytes: bytes, file: name) { snap = m.signed.header.version }
        }
        // Renew when the restored state (possibly old) expires soon and this machine holds the keys.
        var renewal: Renewal?
        let (_, editor) = try checkout(renewal: true)
        let online = Set(["snapshot", "timestamp"].flatMap { editor.root.signed.roles[$0]?.keyIDs ?? [] })
        let local = Set(try keyring.list().map(\.keyID))
        if !editor.expiringRoles(within: renewWithin).filter({ ["timestamp", "snapshot"].contains($0) }).isEmpty, !online.isDisjoint(with: local) {
            renewal = try renew(within: renewWithin)
        }
        return Restored(timestampVersion: ts, snapshotVersion: snap, replaced: current?.digest, renewal: renewal)
    }

    /// Like `checkTrustTag`, for a trust tag that may hold anything.
    func checkTrustTagRaw(expected: Digest?) throws {
        let now = try trust.trustTagContent()?.digest
        if now != expected {
            throw TrustError.conflict("the trust tag of \(reference.name) changed meanwhile (\(expected?.ociString ?? "absent") became \(now?.ociString ?? "absent")); nothing was changed; run the command again")
        }
    }

    // MARK: Changing

    /// A signed change held locally, not yet in the registry.
    public final class PreparedChange {
        let editor: RepositoryEditor
        let indexDigest: Digest
        /// The blobs the verified index lists (in the registry already).
        let present: Set<Digest>
        /// What publishing it will do (publish, or stage for more signatures).
        public let outcome: PublishOutcome
        init(editor: RepositoryEditor, indexDigest: Digest, present: Set<Digest>, outcome: PublishOutcome) {
            self.present = present
            self.editor = editor
            self.indexDigest = indexDigest
            self.outcome = outcome
        }
    }

    /// Refuses a tag signature this key store added nothing to: with no key of the role that signs the
    /// tag here (no signer key file, no agent holding one), the change would wait under `_tuf-staged`
    /// with no signature at all and hold back every other publisher's change to that role. Called
    /// before anything is sent (`push` uploads nothing).
    /// - Throws: `TrustError.notAuthorized` naming the role and what to do.
    public func refuseUnsignedTagChange(_ prepared: PreparedChange, tag: String, revoking: Bool = false) throws(TrustError) {
        guard case .staged(let change) = prepared.outcome else { return }
        guard let unsigned = change.shortfalls.first(where: { $0.have == 0 && !["snapshot", "timestamp"].contains($0.role) }) else { return }
        throw TrustError.notAuthorized("this key store holds no key that signs \(unsigned.role) of \(reference.name) (\(unsigned.need) needed; may sign: \(unsigned.missingKeyIDs.map { String($0.prefix(12)) }.joined(separator: ", "))), so the change to \(tag) would only wait unsigned under _tuf-staged and hold back other changes; nothing was sent. "
            + (revoking ? "Revoke it where a signer's key is (or its agent runs)"
                        : "Sign where a signer's key is (or its agent runs): `signet sign \(reference.name):\(tag)` there, after `signet push --unsigned` here"))
    }

    /// The verified state and an editor built on it.
    func checkout(renewal: Bool) throws -> (TrustState, RepositoryEditor) {
        let (state, verified) = try trust.verifiedState(root, expired: renewal || allowExpired ? .allowIfSeen : .refuse)
        let editor = try RepositoryEditor(verified: verified, source: "\(reference.name) trust index \(state.indexDigest)", clock: trust.options.clock)
        editor.identity = trust.identity
        return (state, editor)
    }

    /// Verifies the current trust data, applies `change` to it and signs it, without touching the
    /// registry (so that `signet push` can prepare the signature before the image is uploaded).
    /// - Parameter renewal: whether expired metadata may be built on (at or above the versions this
    ///   machine trusts), as renewing is the point of the command.
    /// - Throws: `TrustError.pendingChange` when a change waiting for signatures re-signs a role this one
    ///   changes, or when this one would wait too; any verification or editing error (nothing is changed then).
    public func prepare(renewal: Bool = false, _ change: (RepositoryEditor) throws -> Void) throws -> PreparedChange {
        let staged = try readStagedTag()   // before the checkout, which reads it alongside `_tuf`
        let (state, editor) = try checkout(renewal: renewal)
        ignoredStagedIndex = nil
        let waiting = try validWaitingChangeRoles(staged, editor)
        waitingRoles = waiting
        do { try change(editor) } catch { throw TrustError.wrap(error) }
        try TrustPublisher.splitReleasesIfLarge(editor)
        // A change may be published while another waits for signatures when it leaves the roles the
        // waiting one re-signs alone (renewing snapshot and timestamp always does). Only one change waits.
        if let waiting {
            let overlap = editor.changedRoles.intersection(waiting)
            guard overlap.isEmpty else {
                throw TrustError.pendingChange(reference.name, detail: "re-signs \(overlap.sorted().joined(separator: ", ")), which this change also changes")
            }
        }
        let outcome = try editor.publish(signers: try signers(for: editor.signingKeyIDs()))
        if waiting != nil, case .staged = outcome {
            throw TrustError.pendingChange(reference.name, detail: "this change also needs other signatures; one change waits at a time")
        }
        return PreparedChange(editor: editor, indexDigest: state.indexDigest, present: Set(state.index.files.values.map(\.digest)), outcome: outcome)
    }

    /// The roles the valid change waiting under the staged tag re-signs, as found by the last `prepare`
    /// (before it ran its change), for a change that must leave them alone.
    private(set) var waitingRoles: Set<String>?
    /// The staged index the last `prepare` found and ignored (not a valid change): a change of this
    /// command that must wait for signatures may replace it.
    private(set) var ignoredStagedIndex: Digest?

    /// What the staged tag holds.
    enum StagedTag {
        /// Nothing waits.
        case nothing
        /// A trust index listing files, and its manifest digest.
        case index(TrustIndex, Digest)
        /// Something that is not a change (not a trust index, or larger than any index).
        case notAChange(TrustError)
    }

    /// Reads the staged tag once.
    /// - Throws: `TrustError` when the registry could not be asked.
    func readStagedTag() throws -> StagedTag {
        do {
            guard let (index, digest) = try trust.fetchIndex(tag: trust.options.stagedTag), !index.files.isEmpty else {
                // Nothing waits any more: a record of a change this machine staged is stale.
                forgetWaitingKeys()
                return .nothing
            }
            return .index(index, digest)
        } catch {
            guard TrustPublisher.isNotAChange(error) else { throw error }
            return .notAChange(error)
        }
    }

    /// The roles re-signed by the change waiting under the staged tag, when it is a valid change on the
    /// state `editor` holds (checked as `trust staged` checks it); nil when none waits or when what is
    /// there is not one (reported as `waitingChangeIgnored`, and remembered in `ignoredStagedIndex`):
    /// anyone who can write to the registry can write the staged tag, so what it holds neither holds
    /// back other changes nor is completed unless it verifies.
    func validWaitingChangeRoles(_ staged: StagedTag, _ editor: RepositoryEditor) throws -> Set<String>? {
        func ignored(_ reason: String, _ digest: Digest?) -> Set<String>? {
            trust.events(.waitingChangeIgnored(repository: reference.name, reason: reason))
            ignoredStagedIndex = digest
            return nil
        }
        switch staged {
        case .nothing: return nil
        case .notAChange(let e): return ignored("\(e)", nil)
        case .index(let index, let digest):
            do {
                let change = try stagedChange(from: index)
                _ = try editor.review(change)
                return RepositoryEditor.roleNames(in: change)
            } catch let e as RepositoryError {
                return ignored("\(e)", digest)
            } catch let e as TrustError {
                guard TrustPublisher.isNotAChange(e) else { throw e }
                if case .repository(let r) = e { return ignored("\(r)", digest) }
                return ignored("\(e)", digest)
            }
        }
    }

    /// Whether reading the staged tag failed because what it holds is not a change (not a trust index,
    /// or larger than any index), rather than because the registry could not be asked.
    static func isNotAChange(_ error: TrustError) -> Bool {
        switch error {
        case .invalidIndex, .repository: return true
        case .oci(.tooLarge), .oci(.declaredTooLarge): return true
        default: return false
        }
    }

    /// Publishes a prepared change: metadata blobs, then the index under the trust tag (or the staged tag).
    /// - Throws: `TrustError.conflict` if someone else published since it was prepared.
    public func commit(_ prepared: PreparedChange) throws {
        switch prepared.outcome {
        case .published:
            let files = prepared.editor.currentFiles()
            try push(files, expectedCurrent: prepared.indexDigest, present: prepared.present)
            try trust.adopt(files)
        case .staged(let change):
            // Another change staged since `prepare` (not what it found and ignored) is not replaced.
            let current: (TrustIndex, Digest)?
            do { current = try trust.fetchIndex(tag: trust.options.stagedTag) } catch {
                guard TrustPublisher.isNotAChange(error) else { throw error }
                current = nil
            }
            if let (staged, digest) = current, !staged.files.isEmpty, digest != ignoredStagedIndex {
                throw TrustError.pendingChange(reference.name, detail: "this change also needs other signatures; one change waits at a time")
            }
            try checkTrustTag(expected: prepared.indexDigest)
            var described = change
            described.base.source = "\(reference.name) trust index \(prepared.indexDigest)"
            _ = try pushIndex(described.storedFiles, tag: trust.options.stagedTag)
            recordWaitingKeys(change)
        }
    }

    /// Where `recordWaitingKeys` keeps its record for this repository.
    var waitingKeysPath: String { trust.trustDirectory + "/" + KeyUsage.waitingKeysFile }

    /// Drops the record of a change this machine staged (nothing waits any more, or it was discarded).
    func forgetWaitingKeys() { try? FileManager.default.removeItem(atPath: waitingKeysPath) }

    /// Notes which keys of this store the staged change names, so that `key delete` does not remove a
    /// key a change waiting for signatures needs (its own new key, say). Best effort: the change is in
    /// the registry whatever happens here.
    func recordWaitingKeys(_ change: StagedChange) {
        var named: Set<String> = []
        for (name, bytes) in change.files {
            if name.hasSuffix(".root.json"), let r = try? Metadata<Root>(bytes: bytes, file: name) {
                named.formUnion(r.signed.keyMap.keys.map(\.string))
            } else if let t = try? Metadata<Targets>(bytes: bytes, file: name, lazy: true) {
                named.formUnion((t.signed.delegations?.keyMap ?? [:]).keys.map(\.string))
            }
        }
        let local = Set(((try? keyring.list()) ?? []).map(\.keyID))
        let ids = named.intersection(local).sorted()
        if ids.isEmpty { forgetWaitingKeys(); return }
        var o = JSONObject()
        o["keyIDs"] = .array(ids.map { .string($0) })
        try? AtomicFile.write(JSONWriter.encode(.object(o)), to: waitingKeysPath)
    }

    /// Verifies, changes, signs and publishes in one step.
    /// - Returns: the outcome (published, or staged for more signatures).
    /// - Parameter check: runs on each prepared change before anything is sent, and may refuse it.
    public func update(renewal: Bool = false, check: (PreparedChange) throws -> Void = { _ in }, _ change: (RepositoryEditor) throws -> Void) throws -> PublishOutcome {
        var attempt = 1
        while true {
            let prepared = try prepare(renewal: renewal, change)
            try check(prepared)
            do {
                try commit(prepared)
                return prepared.outcome
            } catch let e as TrustError {
                guard case .conflict = e, attempt <= retries else { throw e }
                attempt += 1
                onRetry(attempt, retries + 1)
            }
        }
    }

    /// The change that signs `tag` (into `releases` when delegated, else top-level targets). With
    /// `replace: false`, a tag already signed for another digest is refused.
    public static func signChange(tag: String, digest: Digest, length: Int64, mediaType: String, replace: Bool = true,
                                  repository: String = "", onMove: @escaping (Digest) -> Void = { _ in }) -> (RepositoryEditor) throws -> Void {
        { editor in
            // A tag already listed is changed where clients find it: an entry in top-level targets
            // hides one in releases, so signing (or keeping) the hidden one would change nothing.
            let listing = resolvingRole(tag, editor)
            let role = listing ?? (editor.roles[ByteKey(releasesRole)] != nil ? editor.holder(of: tag, in: releasesRole) : "targets")
            if let listing, let existing = try? editor.roles[ByteKey(listing)]?.signed.target(tag), let old = existing.sha256, old != digest {
                if !replace { throw TrustError.wouldReplace(tag: tag, repository: repository, signed: old, new: digest) }
                onMove(old)
            }
            var custom = JSONObject()
            custom["mediaType"] = .string(mediaType)
            try editor.addTarget(path: tag, content: nil, length: length, hashes: [("sha256", digest.hex)], custom: .object(custom), role: role, replace: true)
        }
    }

    /// What `sign` did.
    public enum SignResult: Sendable {
        /// The tag was already signed for this digest; nothing was published.
        case alreadySigned(Digest)
        /// The trust data changed (published or staged).
        case changed(PublishOutcome, digest: Digest, replaced: Digest?)
    }

    /// Signs `tag` as pointing to the manifest `digest` (which must be in the registry), or, with no
    /// digest, to the manifest the registry's tag names now. Replacing the digest a tag is signed for
    /// needs `replace`.
    /// - Throws: `TrustError.wouldReplace`, `.oci` (`.notFound` when the manifest is not in the registry).
    public func sign(tag: String, digest given: Digest?, replace: Bool) throws -> SignResult {
        guard tag != trust.options.trustTag, tag != trust.options.stagedTag else {
            throw TrustError.usage("\"\(tag)\" is reserved for trust data")
        }
        let ref = given?.ociString ?? tag
        // The manifest is read while the trust data is checked out (the two are independent); its
        // digest is computed from the bytes once both are done.
        let client = trust.client, repository = reference.repository, what = "manifest \(reference.name)\(given == nil ? ":" : "@")\(ref)"
        let pending = BackgroundResult { () throws(OCIError) in try client.fetchManifest(repository: repository, reference: ref, what: what) }
        defer { _ = pending.wait() }
        func manifestRead() throws -> (fetched: (bytes: [UInt8], contentType: String?), digest: Digest, manifest: VerifiedManifest) {
            let fetched: (bytes: [UInt8], contentType: String?)
            do { fetched = try pending.wait().get() } catch {
                if case .notFound = error {
                    throw TrustError.usage("\(reference.name)\(given == nil ? ":" : "@")\(ref) is not in the registry; nothing was signed (push the image first)")
                }
                throw TrustError.oci(error)
            }
            // The digest is computed from the bytes, never taken from headers; a given digest must match them.
            let digest = try SHA256.hash(fetched.bytes)
            if let given, given != digest {
                throw TrustError.oci(.digestMismatch(what: "manifest \(reference.name)@\(given)", expected: given.ociString, received: digest.ociString))
            }
            let manifest = try VerifiedManifest.verify(fetched.bytes, expectedDigest: digest, declaredMediaType: fetched.contentType,
                                                       what: "manifest \(reference.name)@\(digest)")
            return (fetched, digest, manifest)
        }
        var already = false
        var replaced: Digest?
        var signed: Digest?
        let prepared: PreparedChange
        do {
            prepared = try prepare { editor in
                let (fetched, digest, manifest) = try manifestRead()
                signed = digest
                if let name = TrustPublisher.resolvingRole(tag, editor), let existing = try? editor.roles[ByteKey(name)]?.signed.target(tag),
                   existing.sha256 == digest, existing.length == Int64(fetched.bytes.count) {
                    already = true
                    return
                }
                try TrustPublisher.signChange(tag: tag, digest: digest, length: Int64(fetched.bytes.count), mediaType: manifest.mediaType,
                                              replace: replace, repository: reference.name, onMove: { replaced = $0 })(editor)
            }
        } catch {
            // A manifest the registry does not have is the clearer error, whatever else failed.
            _ = try manifestRead()
            throw error
        }
        guard let digest = signed else { throw TrustError.usage("nothing was signed for \(tag)") }
        if already { return .alreadySigned(digest) }
        try refuseUnsignedTagChange(prepared, tag: tag)
        try commit(prepared)
        return .changed(prepared.outcome, digest: digest, replaced: replaced)
    }

    /// Removes `tag`'s signature from every role that lists it: removing only the entry clients use
    /// would bring back one it hid (an older digest, signed in another role).
    /// With `digest`, the tag must be signed for that digest where clients resolve it; otherwise nothing
    /// is revoked.
    public func revoke(tag: String, digest: Digest? = nil) throws -> PublishOutcome {
        try update(check: { try self.refuseUnsignedTagChange($0, tag: tag, revoking: true) }) { editor in
            let listing = TrustPublisher.tagRoles(tag, editor).filter { editor.roles[ByteKey($0)]?.signed.containsTarget(tag) == true }
            guard let resolving = listing.first else { throw TrustError.notRevoked(tag: tag, repository: self.reference.name, signed: nil, asked: digest) }
            if let digest {
                let entry = try? editor.roles[ByteKey(resolving)]?.signed.target(tag)
                let signed = entry?.sha256
                guard signed == digest else { throw TrustError.notRevoked(tag: tag, repository: self.reference.name, signed: signed, asked: digest) }
            }
            for name in listing { try editor.removeTarget(path: tag, role: name) }
        }
    }

    // MARK: Signers

    /// Adds a tag signer to `releases`.
    public func addSigner(name: String, key: PublicKey) throws -> PublishOutcome {
        let role = TrustPublisher.releasesRole
        return try update { editor in
            guard !name.isEmpty else { throw TrustError.usage("a signer needs a name") }
            if editor.signerKeyID(named: name, role: role) != nil { throw TrustError.usage("a signer named \"\(name)\" already exists in \(role)") }
            let tufKey = try Key(publicKey: key)
            guard let delegation = editor.delegatedRole(role) else { throw TrustError.usage("\(self.reference.name) has no \(role) delegation") }
            let listed = editor.roles[ByteKey("targets")]?.signed.delegations?.keyMap ?? [:]
            if let same = delegation.keyIDs.first(where: { listed[ByteKey($0)]?.sameKey(as: tufKey) == true }) {
                throw TrustError.usage("that key already signs for \(role) (key \(same.prefix(12)))")
            }
            try editor.updateDelegation(from: "targets", name: role, addKeys: [key])
            try editor.setSignerName(name, keyID: try tufKey.keyID(), role: role)
        }
    }

    /// Removes a tag signer (by name, or key ID of at least 8 characters) from `releases`. The threshold
    /// is lowered to the number of remaining signers when needed.
    /// Removes a signer of `releases`. When fewer signers than the threshold would remain, the new
    /// threshold must be given (`threshold`): lowering it is a decision, never a side effect.
    public func removeSigner(_ nameOrID: String, threshold newThreshold: Int? = nil) throws -> PublishOutcome {
        let role = TrustPublisher.releasesRole
        return try update { editor in
            let keyIDs = editor.delegatedRole(role)?.keyIDs ?? []
            let byPrefix = nameOrID.count >= 8 ? keyIDs.filter { $0.hasPrefix(nameOrID) } : []
            guard let id = editor.signerKeyID(named: nameOrID, role: role) ?? (byPrefix.count == 1 ? byPrefix.first : nil) else {
                throw TrustError.usage("no signer named \"\(nameOrID)\" (or with that key ID) in \(role)")
            }
            let remaining = keyIDs.count - 1
            guard remaining >= 1 else { throw TrustError.usage("\(role) needs at least one signer; add another before removing this one") }
            let current = editor.delegatedRole(role)?.threshold ?? 1
            let threshold: Int
            if let newThreshold {
                guard newThreshold >= 1, newThreshold <= remaining else {
                    throw TrustError.usage("the new threshold must be between 1 and the \(remaining) signers that remain, got \(newThreshold)")
                }
                threshold = newThreshold
            } else {
                guard remaining >= current else {
                    throw TrustError.usage("removing \(nameOrID) leaves \(remaining) signer\(remaining == 1 ? "" : "s") in \(role), fewer than its threshold of \(current); give the new threshold explicitly (--threshold N, at most \(remaining)) or add a signer first")
                }
                threshold = current
            }
            try editor.updateDelegation(from: "targets", name: role, removeKeyIDs: [id], threshold: threshold)
            try editor.setSignerName(nil, keyID: id, role: role)
        }
    }

    /// Sets the number of signer signatures each change to `releases` needs.
    public func setSignerThreshold(_ threshold: Int) throws -> PublishOutcome {
        try update { editor in
            try editor.updateDelegation(from: "targets", name: TrustPublisher.releasesRole, threshold: threshold)
        }
    }

    // MARK: Renewal and rotation

    /// What `renew` did.
    public struct Renewal: Sendable {
        public let outcome: PublishOutcome
        /// Roles renewed besides timestamp and snapshot.
        public let renewed: [String]
        /// Roles that expire within the window and could not be renewed here, with what they need.
        public let elsewhere: [PendingRenewal]
        /// Set when a change that waited only for snapshot and timestamp signatures was published first.
        public let completedWaitingChange: String?
    }

    /// A role that expires soon and needs keys or a step this machine does not have.
    public struct PendingRenewal: Sendable {
        public let role: String
        /// When it expires (seconds since the epoch, and as written).
        public let expiresAt: Int64
        public let expires: String
        /// Signatures it needs, the keys that may give them, and those of them in this key store.
        public let threshold: Int
        public let keyIDs: [String]
        public let localKeyIDs: [String]
        /// Why it was not renewed here and what renews it.
        public let reason: String
    }

    /// Re-signs the timestamp and snapshot, and renews any other role that expires within `window`
    /// seconds when the keys in this key store alone meet its threshold. A change waiting for signatures
    /// never stops it: snapshot and timestamp are re-signed over the current state and the waiting change
    /// stays valid (roles it re-signs are left to it). Nothing that needs other people's signatures is
    /// bundled in: such roles are reported with what they need. Expired metadata is accepted at or above
    /// the versions this machine already trusts (renewing it is the point).
    public func renew(within window: Int64 = 7 * 86400) throws -> Renewal {
        let localIDs = Set(try keyring.list().map(\.keyID))
        var completed: String?
        if case .index(let index, _) = try readStagedTag() {
            completed = try completeWaitingChange(index)
        }
        var renewed: [String] = []
        var elsewhere: [PendingRenewal] = []
        let outcome = try update(renewal: true) { editor in
            let waiting = self.waitingRoles ?? []
            try editor.renew(role: "timestamp")
            for name in editor.expiringRoles(within: window) where !["timestamp", "snapshot"].contains(name) {
                let ids = (try? editor.keyIDs(for: name)) ?? []
                let threshold = (try? editor.threshold(for: name)) ?? 1
                let local = ids.filter { localIDs.contains($0) }
                let expiry = editor.expiry(of: name)
                func pending(_ reason: String) -> PendingRenewal {
                    PendingRenewal(role: name, expiresAt: expiry?.at ?? 0, expires: expiry?.text ?? "", threshold: threshold, keyIDs: ids,
                                   localKeyIDs: local, reason: reason)
                }
                if waiting.contains(name) {
                    elsewhere.append(pending("the change waiting for signatures re-signs it; complete it with `signet trust sign-staged \(reference.name)`"))
                } else if local.count < threshold {
                    elsewhere.append(pending("it needs \(threshold) of its \(ids.count) keys and this key store holds \(local.count); renew it where they are with `signet trust renew \(reference.name) \(name)`"))
                } else {
                    try editor.renew(role: name)
                    renewed.append(name)
                }
            }
        }
        return Renewal(outcome: outcome, renewed: renewed, elsewhere: elsewhere, completedWaitingChange: completed)
    }

    /// Publishes the change waiting for signatures when every role it re-signs has its threshold and
    /// only snapshot and timestamp signatures are missing, signing those with this machine's keys (keys
    /// that may also sign a role of the change are not used: adding such signatures needs a review).
    /// - Returns: a description of what was published, or nil when the change still waits (or cannot be
    ///   used; `trust staged` explains why).
    func completeWaitingChange(_ index: TrustIndex) throws -> String? {
        let change: StagedChange
        do { change = try stagedChange(from: index) } catch let e as TrustError {
            guard TrustPublisher.isNotAChange(e) else { throw e }
            return nil   // not a change (the renewal's own check reports it)
        }
        let (state, editor) = try checkout(renewal: true)
        let review: ChangeReview
        do { review = try editor.review(change) } catch { return nil }
        let online = Set(["snapshot", "timestamp"].flatMap { editor.root.signed.roles[$0]?.keyIDs ?? [] })
        var roleKeys = try editor.signingKeyIDs(for: change).root
        for name in RepositoryEditor.roleNames(in: change) where name != "root" {
            roleKeys.formUnion((try? editor.keyIDs(for: name)) ?? [])
        }
        var ids = SigningKeyIDs()
        ids.all = online.subtracting(roleKeys)
        let keys = try signers(for: ids)
        guard !keys.isEmpty, case .published = try editor.signStaged(change, signers: keys) else { return nil }
        let files = editor.currentFiles()
        try push(files, expectedCurrent: state.indexDigest, present: Set(state.index.files.values.map(\.digest)))
        try trust.adopt(files)
        _ = try pushIndex([], tag: trust.options.stagedTag)
        return review.lines().first ?? "the waiting change"
    }

    /// Renews `roles` (any of root, targets, releases, …; snapshot and timestamp always are), signing
    /// with the keys in this key store; a role whose threshold they do not meet is staged for the other
    /// key holders.
    public func renew(roles names: [String]) throws -> PublishOutcome {
        try update(renewal: true) { editor in
            for name in names { try editor.renew(role: name) }
        }
    }

    /// Sets the lifetime each of `lifetimes` (role → seconds) is signed with from now on, and re-signs
    /// those roles with it.
    public func setLifetimes(_ lifetimes: [(role: String, seconds: Int64)]) throws -> PublishOutcome {
        try update(renewal: true) { editor in
            for (role, seconds) in lifetimes { try editor.setLifetime(seconds, of: role) }
        }
    }

    /// What `rotate` did.
    public struct Rotation: Sendable {
        public let outcome: PublishOutcome
        public let newKey: KeyringEntry
        public let replaced: [String]
    }

    /// Replaces this machine's key for `role`: root, targets, snapshot and timestamp through a new root
    /// version signed by the old and the new root keys; `releases` by replacing this machine's signer
    /// key(s) in the delegation, keeping other signers and the threshold. The current state is verified
    /// first, so nothing is generated for a request that cannot succeed; a new key whose change is not
    /// published or staged is removed again.
    /// - Parameter generate: makes the new key in the key store (asked only after the checks passed).
    public func rotate(role: String, generate: () throws -> KeyringEntry) throws -> Rotation {
        let roles = Root.topLevelRoles + [TrustPublisher.releasesRole]
        guard roles.contains(role) else { throw TrustError.usage("unknown role \"\(role)\"; expected one of \(roles.joined(separator: ", "))") }
        let (_, current) = try checkout(renewal: true)
        let localIDs = Set(try keyring.list().map(\.keyID))
        var replaced: [String] = []
        if role == TrustPublisher.releasesRole {
            guard let d = current.delegatedRole(role) else { throw TrustError.usage("\(reference.name) has no \(role) delegation") }
            replaced = d.keyIDs.filter { localIDs.contains($0) }
            guard !replaced.isEmpty else { throw TrustError.usage("none of the \(role) signer keys of \(reference.name) is in this key store; nothing to rotate here") }
            // The threshold stays: lowering it is a decision (`signer threshold`), never a side effect of
            // this store's keys being replaced by its one new key.
            let remaining = d.keyIDs.count - replaced.count + 1
            guard remaining >= d.threshold else {
                throw TrustError.usage("this key store holds \(replaced.count) of the \(d.keyIDs.count) \(role) signer keys; rotating replaces them with one new key, which would leave \(remaining) signer\(remaining == 1 ? "" : "s"), fewer than the threshold of \(d.threshold). Lower the threshold first (`signet signer threshold \(reference.name) \(remaining)`) or add a signer, then rotate; nothing was changed")
            }
        } else if let r = current.root.signed.role(role) {
            replaced = r.keyIDs
            guard r.keyIDs.count == 1 else {
                throw TrustError.usage("\(role) has \(r.keyIDs.count) keys (threshold \(r.threshold)); rotating one key of several is done with a staged root change")
            }
        }
        let entry = try generate()
        do {
            let outcome = try update(renewal: true) { editor in
                if Root.topLevelRoles.contains(role) {
                    try editor.rotate(role: role, to: [entry.publicKey], threshold: 1)
                } else {
                    // The threshold stays (checked above; a state changed since is refused by the editor).
                    try editor.updateDelegation(from: "targets", name: role, addKeys: [entry.publicKey], removeKeyIDs: replaced,
                                                threshold: editor.delegatedRole(role)?.threshold ?? 1)
                }
            }
            return Rotation(outcome: outcome, newKey: entry, replaced: replaced)
        } catch {
            discardNewKeys([entry])
            throw error
        }
    }

    /// Removes keys made for a change that failed, unless the change was sent to the registry: then the
    /// state naming them may be published (a read-back can fail after the registry stored it), and a key
    /// it names must not be lost, so they stay and the user is told.
    func discardNewKeys(_ entries: [KeyringEntry]) {
        guard !entries.isEmpty else { return }
        if trust.publishAttempted {
            trust.events(.newKeysKept(repository: reference.name, keyIDs: entries.map(\.keyID)))
        } else {
            for e in entries { try? keyring.remove(e) }
        }
    }

    // MARK: Staged changes

    /// The change waiting for signatures, checked against the current verified state, with its review.
    /// - Returns: nil when no change waits.
    /// - Throws: `TrustError.repository(.stagedBaseMoved)` / `.invalidStagedChange` when it cannot be used.
    public func stagedChange() throws -> (change: StagedChange, review: ChangeReview)? {
        guard let change = try fetchStaged() else { return nil }
        let (_, editor) = try checkout(renewal: allowExpired)
        return (change, try editor.review(change))
    }

    /// Downloads the staged change, checking names before fetching anything and bounding every file.
    func fetchStaged() throws -> StagedChange? {
        guard let (index, _) = try trust.fetchIndex(tag: trust.options.stagedTag), !index.files.isEmpty else { return nil }
        return try stagedChange(from: index)
    }

    /// The staged change a staged index lists, its files fetched (bounded) through it.
    /// - Throws: `TrustError.repository(.invalidStagedChange)` for what is not a change, registry errors.
    func stagedChange(from index: TrustIndex) throws -> StagedChange {
        guard index.files.count <= StagedChange.maxFiles else { throw TrustError.repository(.invalidStagedChange("more than \(StagedChange.maxFiles) files")) }
        let transport = IndexTransport(client: trust.client, repository: reference.repository, index: index)
        var files: [(String, [UInt8])] = []
        var total: Int64 = 0
        for (name, descriptor) in index.files.sorted(by: { $0.key < $1.key }) {
            let isDescription = name == StagedChange.descriptionFileName
            guard isDescription || (name.hasSuffix(".json") && name.split(separator: ".").first.flatMap { Int64($0) } != nil) else {
                throw TrustError.repository(.invalidStagedChange("\"\(name)\" is not a metadata file name"))
            }
            total += descriptor.size
            guard descriptor.size <= TrustPublisher.maxStagedFileBytes, total <= TrustPublisher.maxStagedBytes else {
                throw TrustError.repository(.invalidStagedChange("it is larger than \(TrustPublisher.maxStagedBytes >> 20) MiB"))
            }
            do { files.append((name, try transport.get(IndexTransport.base + name, maxBodyBytes: Int(TrustPublisher.maxStagedFileBytes)))) } catch {
                throw TrustError.repository(.invalidStagedChange("\(name) could not be read: \(error)"))
            }
        }
        return try StagedChange(storedFiles: files)
    }

    /// Byte limits for a staged change read from the registry.
    static let maxStagedFileBytes: Int64 = 64 << 20
    static let maxStagedBytes: Int64 = 256 << 20

    /// Adds this machine's signatures to the change waiting for them, after it was checked against the
    /// current verified state and `confirm` accepted its review; publishes it when every threshold is met.
    /// - Throws: `TrustError.notConfirmed` when `confirm` returns false; `.repository(.stagedBaseMoved)`.
    public func signStaged(confirm: (ChangeReview) throws -> Bool) throws -> PublishOutcome {
        guard let (index, stagedIndex) = try trust.fetchIndex(tag: trust.options.stagedTag), !index.files.isEmpty else {
            throw TrustError.usage("no change is waiting for signatures in \(reference.name)")
        }
        let change = try stagedChange(from: index)
        let (state, editor) = try checkout(renewal: allowExpired)
        let review = try editor.review(change)
        guard try confirm(review) else {
            throw TrustError.notConfirmed("nothing was signed: the change to \(reference.name) was not confirmed (pass --yes to sign without asking, after reviewing it with `signet trust staged \(reference.name)`)")
        }
        let wanted = try editor.signingKeyIDs(for: change)
        let keys = try signers(for: wanted)
        guard !keys.isEmpty else {
            throw TrustError.notAuthorized("none of the keys in \(keyring.directory) may sign the change waiting in \(reference.name)")
        }
        let outcome = try editor.signStaged(change, signers: keys)
        switch outcome {
        case .published:
            let files = editor.currentFiles()
            try push(files, expectedCurrent: state.indexDigest, present: Set(state.index.files.values.map(\.digest)))
            try trust.adopt(files)
            _ = try pushIndex([], tag: trust.options.stagedTag)
        case .staged(var again):
            try checkTrustTag(expected: state.indexDigest)
            // Another co-signer may have written the waiting change since it was read: their signatures
            // would be lost under this one's (the registry has no compare-and-swap; checked last).
            let current = try trust.fetchIndex(tag: trust.options.stagedTag)?.1
            guard current == stagedIndex else {
                throw TrustError.conflict("the waiting change of \(reference.name) changed while it was being signed (another co-signer signed it); nothing was written; run the command again to sign what waits now")
            }
            again.base.source = change.base.source
            _ = try pushIndex(again.storedFiles, tag: trust.options.stagedTag)
        }
        return outcome
    }

    /// Drops the change waiting for signatures. Needs a key that may change the trust data (root,
    /// targets, or a signer of a delegated role) in this key store, unlocked to prove it.
    /// - Throws: `TrustError.notAuthorized` without such a key; `.usage` when nothing waits.
    public func discardStaged() throws {
        guard let (staged, _) = try trust.fetchIndex(tag: trust.options.stagedTag), !staged.files.isEmpty else {
            // Nothing waits: this machine's record of a change it staged (published or dropped since) goes.
            forgetWaitingKeys()
            throw TrustError.usage("no change is waiting for signatures in \(reference.name)")
        }
        let (_, editor) = try checkout(renewal: true)
        let allowed = editor.keyIDsThatMayDiscard()
        guard let entry = try keyring.list().first(where: { allowed.contains($0.keyID) }) else {
            throw TrustError.notAuthorized("dropping the change waiting in \(reference.name) needs a root, targets or signer key of the repository; none is in \(keyring.directory)")
        }
        _ = try unlock(entry, editor.root.signed.roles["root"]?.keyIDs.contains(entry.keyID) == true)
        _ = try pushIndex([], tag: trust.options.stagedTag)
        forgetWaitingKeys()
    }

    // MARK: Plumbing

    func signers(for ids: SigningKeyIDs) throws -> [PrivateKey] {
        var out: [PrivateKey] = []
        for e in try keyring.list() where ids.all.contains(e.keyID) {
            out.append(try unlock(e, ids.root.contains(e.keyID)))
        }
        return out
    }

    func checkTrustTag(expected: Digest?) throws {
        let current = try trust.fetchIndex()?.1
        if current != expected {
            throw TrustError.conflict("another publisher changed the trust data of \(reference.name) meanwhile (trust index \(expected?.ociString ?? "absent") became \(current?.ociString ?? "absent")); nothing was changed; run the command again")
        }
    }

    /// Pushes a complete repository state (every root version, timestamp, snapshot and each targets
    /// role; blobs the verified index lists are not sent again), then the index under the trust tag
    /// (the commit point).
    func push(_ files: [(name: String, bytes: [UInt8])], expectedCurrent: Digest?, present: Set<Digest> = []) throws {
        var ours = try pushIndex(files, tag: nil, present: present, putByDigest: false)
        // Lost race: someone moved the trust tag since we verified it (checked as late as possible).
        try checkTrustTag(expected: expectedCurrent)
        // Tags the index (the trust tag, or the next version) and reads it back; test builds can stop
        // just before, as a killed process would (blobs uploaded, trust tag not moved).
        let first: TrustError?
        do { try trust.putIndexManifest(ours.bytes, digest: ours.digest); first = nil } catch { first = error }
        guard let first else { return }
        guard !present.isEmpty, TrustPublisher.isBlobUnknown(first) else { throw first }
        // A blob the verified index lists is gone (deleted through the API): send every blob.
        ours = try pushIndex(files, tag: nil, present: [], putByDigest: false)
        try trust.putIndexManifest(ours.bytes, digest: ours.digest)
    }

    static func isBlobUnknown(_ error: TrustError) -> Bool {
        if case .oci(let e) = error, case .registry(_, _, let code, _) = e { return code?.hasSuffix("BLOB_UNKNOWN") == true }
        return false
    }

    /// Uploads metadata blobs and an index manifest by digest (the trust tag is moved by `push`); with
    /// `tag` the staged tag, publishes a waiting change (or, with no files, that none waits).
    @discardableResult
    func pushIndex(_ files: [(name: String, bytes: [UInt8])], tag: String?, present: Set<Digest> = [], putByDigest: Bool = true) throws -> (bytes: [UInt8], digest: Digest) {
        if tag == trust.options.stagedTag {
            try trust.putStagedIndex(files)
            return ([], try SHA256.hash([]))
        }
        return try TrustIndex.upload(files, repository: reference.repository, client: trust.client, tag: tag, created: trust.options.clock(),
                                     storage: try trust.storage(), present: present, putByDigest: putByDigest)
    }
}
