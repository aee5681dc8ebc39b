import FoundationEssentials
import Glibc
import SignetCrypto
import SignetEditor
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF

/// Moves a repository's Docker Content Trust tags into registry-native trust (`_tuf`): every tag Docker
/// would have accepted, after the Notary data verified, whose manifest is in the destination registry,
/// is signed in one change, with the same digests. Running it again changes nothing that is already
/// there; a tag signed for another digest in the destination is left alone unless `replace`.
public final class DCTImporter {
    /// Whose keys sign tags in the destination.
    public enum Signers: Sendable {
        /// The DCT signers: their public keys become `releases` signers (named after their `targets/<name>`
        /// roles); at least one of their private keys must be in the key store to sign.
        case dct
        /// New keys from `trust init` (when the destination has no trust data yet), or the existing signers.
        case existing
    }

    /// One tag's outcome.
    public struct Entry: Sendable {
        public let tag: String
        public let digest: Digest?
        public let detail: String
    }

    /// What an import did.
    public struct Report: Sendable {
        public var imported: [Entry] = []
        public var unchanged: [Entry] = []
        public var skipped: [Entry] = []
        public var refused: [Entry] = []
        /// Tags signed only where Docker Content Trust never looked (a signer role other than
        /// `targets/releases`): not part of what Docker accepted, so not imported, and not a failure.
        public var ignored: [Entry] = []
        /// The trust data change, if one was made.
        public var outcome: PublishOutcome?
        /// Set when the destination's trust data was created by this import.
        public var initialized: TrustPublisher.Initialized?
        /// DCT signers added to `releases` or named there (name, key ID).
        public var signersAdded: [(name: String, keyID: String)] = []
        /// Tags whose registry tag is missing or names another manifest than the signed one (Docker pulled
        /// by digest; `signet verify` reports such tags as moved until they are pushed again).
        public var registryTagDiffers: [Entry] = []
    }

    let inspection: DCTInspection
    let set: NotaryTrustedSet
    let publisher: TrustPublisher
    let keyring: Keyring

    public init(inspection: DCTInspection, set: NotaryTrustedSet, publisher: TrustPublisher, keyring: Keyring) {
        self.inspection = inspection
        self.set = set
        self.publisher = publisher
        self.keyring = keyring
    }

    /// The DCT signers' public keys with names: every key of `targets/releases` and of each
    /// `targets/<name>` signer role, named after the signer role that lists it. A repository without
    /// signer roles (plain `docker push` with content trust: the repository key signs every tag in
    /// `targets`) has the repository key as its signer, named `dct-repository`.
    func dctSigners() -> [(name: String, key: PublicKey)] {
        var out: [(String, PublicKey)] = []
        var seen: [[UInt8]] = []
        guard let targets = set.roles["targets"] else { return [] }
        // A key of targets/releases alone (a delegation made with the notary CLI) takes the name its
        // imported key file gives it (`role: bob`, kept as the label role=bob), else dct-<key ID>.
        var labelled: [[UInt8]: String] = [:]
        let reserved: Set<String> = ["root", "targets", "snapshot", "timestamp", "releases", "targets/releases"]
        for e in (try? keyring.list()) ?? [] {
            guard let role = e.label("role"), !reserved.contains(role), let identity = try? e.publicKey.identity() else { continue }
            labelled[identity] = role.hasPrefix("targets/") ? String(role.dropFirst("targets/".count)) : role
        }
        let named = targets.delegations.filter { $0.name != "targets/releases" }
        let releases = targets.delegations.filter { $0.name == "targets/releases" }
        for d in named + releases {
            for id in d.keyIDs {
                guard let key = targets.delegationKeys[id]?.publicKey, let identity = try? key.identity(), !seen.contains(identity) else { continue }
                seen.append(identity)
                var name = d.name == "targets/releases" ? (labelled[identity] ?? "dct-\(id.prefix(12))") : String(d.name.dropFirst("targets/".count))
                if out.contains(where: { $0.0 == name }) { name = "dct-\(id.prefix(12))" }
                out.append((name, key))
            }
        }
        if out.isEmpty, let repositoryKeys = set.root.roles["targets"]?.keyIDs {
            for id in repositoryKeys {
                guard let key = set.root.keys[id]?.publicKey, let identity = try? key.identity(), !seen.contains(identity) else { continue }
                seen.append(identity)
                out.append((repositoryKeys.count == 1 ? "dct-repository" : "dct-repository-\(id.prefix(12))", key))
            }
        }
        return out
    }

    /// Runs the import.
    /// - Parameters:
    ///   - signers: whose keys sign the tags.
    ///   - replace: take DCT's digest for tags the destination signs for another one.
    ///   - initialize: creates the destination's trust data when it has none (given the signer keys to use).
    /// - Throws: `TrustError` for failures of the registry or of publishing (nothing is half-done: the
    ///   trust tag moves once, at the end).
    public func run(signers: Signers, replace: Bool,
                    initialize: ([String]) throws -> TrustPublisher.Initialized) throws -> Report {
        var report = Report()
        let trust = publisher.trust
        for (name, role) in inspection.ignored {
            report.ignored.append(Entry(tag: name, digest: nil, detail: "signed only in \(role), which Docker Content Trust did not use"))
        }
        for (name, reason) in inspection.unusable { report.refused.append(Entry(tag: name, digest: nil, detail: reason)) }
        // Each digest must be in the destination registry; the manifest is read to learn its media type.
        // The registry's own tag is compared too (reported, never decisive). Eight tags at a time.
        var checked: [DCTInspection.Tag] = []
        for tag in inspection.tags {
            guard tag.name != trust.options.trustTag, tag.name != trust.options.stagedTag else {
                report.refused.append(Entry(tag: tag.name, digest: tag.digest, detail: "the tag name is reserved for trust data"))
                continue
            }
            checked.append(tag)
        }
        enum Check: Sendable {
            case present(mediaType: String, registryTag: String?)
            case skipped(String)
            case refused(String)
        }
        let client = trust.client
        let repository = trust.reference.repository
        let name = trust.reference.name
        let tags = checked
        let results: [Check]
        do throws(OCIError) {
            results = try runConcurrently(tags.count, concurrency: 8) { (index, _) throws(OCIError) -> Check in
                let tag = tags[index]
                do throws(OCIError) {
                    let fetched = try client.fetchManifest(repository: repository, reference: tag.digest.ociString,
                                                           maxBytes: Int(clamping: tag.length), what: "manifest \(name)@\(tag.digest)")
                    let m = try VerifiedManifest.verify(fetched.bytes, expectedDigest: tag.digest, expectedSize: tag.length,
                                                        declaredMediaType: fetched.contentType, what: "manifest of \(tag.name)")
                    let current = try? client.fetchManifest(repository: repository, reference: tag.name, what: "tag \(tag.name)")
                    let differs = (current.flatMap { try? SHA256.hash($0.bytes) }) == tag.digest ? nil
                        : current == nil ? "no such tag in the registry" : "the registry's tag names another manifest"
                    return .present(mediaType: m.mediaType, registryTag: differs)
                } catch {
                    switch error {
                    case .notFound: return .skipped("\(tag.digest) is not in \(name)")
                    case .tooLarge, .declaredTooLarge, .sizeMismatch, .digestMismatch:
                        return .refused("the registry's manifest does not match the signed length and digest: \(error)")
                    default: throw error
                    }
                }
            }
        } catch { throw TrustError.oci(error) }
        var candidates: [(DCTInspection.Tag, String)] = []
        for (tag, result) in zip(tags, results) {
            switch result {
            case .present(let mediaType, let differs):
                candidates.append((tag, mediaType))
                if let differs { report.registryTagDiffers.append(Entry(tag: tag.name, digest: tag.digest, detail: differs)) }
            case .skipped(let why): report.skipped.append(Entry(tag: tag.name, digest: tag.digest, detail: why))
            case .refused(let why): report.refused.append(Entry(tag: tag.name, digest: tag.digest, detail: why))
            }
        }
        // Signer keys.
        let named = signers == .dct ? dctSigners() : []
        var localSignerIDs: [String] = []
        if signers == .dct {
            let identities = named.compactMap { try? $0.key.identity() }
            for e in try keyring.list() where identities.contains((try? e.publicKey.identity()) ?? []) { localSignerIDs.append(e.keyID) }
            guard !localSignerIDs.isEmpty else {
                let which = named.allSatisfy { $0.name.hasPrefix("dct-repository") } ? "the repository key (it signs the tags; there are no signer roles)" : "the signer keys"
                throw TrustError.notAuthorized("none of the Docker Content Trust keys that sign \(set.gun)'s tags is in this key store (\(which): \(named.map { String((try? Key(publicKey: $0.key).keyID())?.prefix(12) ?? "?") }.joined(separator: ", "))): import them with `signet key import ~/.docker/trust/private` (or the notary trust directory), or use --signers new")
            }
        }
        if try trust.fetchIndex() == nil {
            report.initialized = try initialize(localSignerIDs)
        }
        var toImport: [(DCTInspection.Tag, String)] = []
        let state: TrustState
        do { (state, _) = try trust.verifiedState(publisher.root, expired: .refuse) } catch {
            if case .notPinned(let name) = error {
                throw TrustError.usage("\(name) already has Signet trust data, and this machine has no root pinned for it: pin it first with `signet trust pin \(name) --root ROOT_FILE` (the --root of `signet dct` names the Notary root)")
            }
            throw error
        }
        for (tag, mediaType) in candidates {
            let current = try? trust.resolve(tag: tag.name, state: state)
            if let current, current.digest == tag.digest {
                report.unchanged.append(Entry(tag: tag.name, digest: tag.digest, detail: "already signed"))
            } else if let current, !replace {
                report.skipped.append(Entry(tag: tag.name, digest: tag.digest, detail: "signed for \(current.digest) in \(trust.reference.name); --replace takes the DCT digest"))
            } else {
                toImport.append((tag, mediaType))
            }
        }
        // DCT signers: added to releases when missing, and named after their DCT signer role.
        var addKeys: [(String, PublicKey)] = []
        var nameKeys: [(String, String)] = []
        if signers == .dct, let releases = state.trusted.targets?.signed.delegations?.roles?.first(where: { $0.name == TrustPublisher.releasesRole }) {
            let listed = state.trusted.targets?.signed.delegations?.keyMap ?? [:]
            let names = releases.unknown[RepositoryEditor.signerNamesField]?.objectValue ?? JSONObject()
            for (name, key) in named {
                let identity = (try? key.identity()) ?? []
                if let id = releases.keyIDs.first(where: { listed[ByteKey($0)]?.identity == identity }) {
                    if !names.contains(where: { $0.value.stringValue == id }), names[name] == nil { nameKeys.append((name, id)) }
                } else {
                    addKeys.append((name, key))
                }
            }
        }
        guard !toImport.isEmpty || !addKeys.isEmpty || !nameKeys.isEmpty else { return report }
        let outcome = try publisher.update { editor in
            for (name, key) in addKeys {
                try editor.updateDelegation(from: "targets", name: TrustPublisher.releasesRole, addKeys: [key])
                let id = try Key(publicKey: key).keyID()
                if editor.signerKeyID(named: name, role: TrustPublisher.releasesRole) == nil {
                    try editor.setSignerName(name, keyID: id, role: TrustPublisher.releasesRole)
                }
                report.signersAdded.append((name, id))
            }
            for (name, id) in nameKeys {
                try editor.setSignerName(name, keyID: id, role: TrustPublisher.releasesRole)
                report.signersAdded.append((name, id))
            }
            for (tag, mediaType) in toImport {
                // Checked again on the state being changed: a tag signed for another digest since the
                // check above is not moved back without --replace.
                try TrustPublisher.signChange(tag: tag.name, digest: tag.digest, length: tag.length, mediaType: mediaType,
                                              replace: replace, repository: trust.reference.name)(editor)
            }
        }
        report.outcome = outcome
        if case .published = outcome {
            for (tag, _) in toImport {
                report.imported.append(Entry(tag: tag.name, digest: tag.digest, detail: "signed in \(tag.role)" + (tag.signers.isEmpty ? "" : " by \(tag.signers.joined(separator: ", "))")))
            }
        }
        return report
    }
}
