import FoundationEssentials
import Glibc
import SignetFiles
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF
import SignetTrust

let pullUsage = """
usage: signet pull [options] REFERENCE (--output DIR | --verify-only)

REFERENCE is [REGISTRY/]REPOSITORY:TAG, resolved through the repository's trust data (pinned with
--root ROOT_FILE or --trust-on-first-use; see `signet verify`), or carries a digest
([REGISTRY/]REPOSITORY[:TAG]@sha256:HEX), which must be signed (TAG for that digest, or some tag)
wherever the repository has trust data or is pinned here; a repository with none is pulled by the
digest alone. The manifest is fetched by that digest and verified; for an index, the manifest of the selected platform is fetched and
verified; then config and layers are fetched concurrently, each verified against its digest and
size before it is moved into DIR/blobs/. DIR/index.json names the image (--ref-name, else the tag,
else the digest). Prints REFERENCE@DIGEST, or with --json a JSON result. Progress goes to standard
error when it is a terminal.

options:
  --output DIR           OCI image layout to write (created if needed; verified blobs are reused)
  --verify-only          download and verify everything, store nothing
  --platform OS/ARCH[/VARIANT]
                         platform to take from an index (default: this machine's)
  --all-platforms        pull every manifest of an index
  --ref-name NAME        name for index.json (org.opencontainers.image.ref.name)
  --concurrency N        blobs fetched at the same time, 1-32 (default 4)
  --json                 print the result as JSON
  --unsafe-no-fsync      do not fsync blobs before moving them into place (faster; after an OS
                         crash or power loss a blob file may be incomplete)
  --root ROOT_FILE       the repository's root: pinned when nothing is pinned (after the trust data
                         verified with it); otherwise it must be a version of the pinned root
  --as ORIGINAL_REPO     verify a copy (mirror) with the trust data of the original repository
  --trust-on-first-use   with no pinned root, accept the registry's first root (and say so)
  --unsafe-no-trust      skip trust data for a tag: the registry resolves the tag and it is
                         NOT verified (everything below the manifest is still verified)
  --policy FILE          the trust policy (default $SIGNET_HOME/policy.json, else /etc/signet/policy.json)
  --ignore-registry-tag  pull the signed image even when the registry's tag was moved to another
                         manifest without a signature (otherwise refused, as `signet verify` does)
\(RegistryOptions.help)
An interrupted pull (exit 130) removes its staging files.
"""

/// What `signet pull` was asked to do.
struct PullInvocation {
    var reference: ImageReference
    var output: String?
    var platforms: PlatformSelection
    var refName: String?
    var concurrency: Int
    var json: Bool
    var unsafeNoTrust: Bool
    var unsafeNoFsync: Bool
    var registry: RegistryOptions
    var rootFile: String?
    var trustOnFirstUse: Bool
    var identity: String?
    var ignoreRegistryTag: Bool
    var policyFile: String?

    init(_ arguments: [String]) throws {
        let args = try Args(arguments, valued: RegistryOptions.valued.union(["output", "platform", "ref-name", "concurrency", "root", "as", "policy"]),
                            boolean: RegistryOptions.boolean.union(["verify-only", "all-platforms", "json", "unsafe-no-trust",
                                                                    "unsafe-no-fsync", "trust-on-first-use", "ignore-registry-tag"]))
        let text = try args.positional(0, "REFERENCE")
        try args.expectPositionals(1)
        output = args.value("output")
        guard (output != nil) != args.flag("verify-only") else {
            throw UsageError("give exactly one of --output DIR and --verify-only")
        }
        if let platform = args.value("platform") {
            guard !args.flag("all-platforms") else { throw UsageError("--platform and --all-platforms contradict each other") }
            platforms = .platform(try Platform(parsing: platform))
        } else {
            platforms = args.flag("all-platforms") ? .all : .host
        }
        concurrency = try args.int("concurrency") ?? 4
        guard (1...32).contains(concurrency) else { throw UsageError("--concurrency must be from 1 to 32, got \(concurrency)") }
        refName = args.value("ref-name")
        json = args.flag("json")
        unsafeNoTrust = args.flag("unsafe-no-trust")
        unsafeNoFsync = args.flag("unsafe-no-fsync")
        registry = try RegistryOptions(args)
        reference = try ImageReference(parsing: text)
        rootFile = args.value("root")
        trustOnFirstUse = args.flag("trust-on-first-use")
        identity = args.value("as")
        ignoreRegistryTag = args.flag("ignore-registry-tag")
        policyFile = args.value("policy")
        try args.checkOneRootChoice()
        if unsafeNoTrust, let other = ["root", "as"].first(where: { args.value($0) != nil }) ?? (trustOnFirstUse ? "trust-on-first-use" : nil) {
            throw UsageError("--unsafe-no-trust verifies no trust data, so --\(other) would have no effect; give one or the other")
        }
    }
}

/// `signet pull …`
func runPullCommand(_ arguments: [String]) throws -> Int32 {
    if arguments.isEmpty {
        note(pullUsage)
        return 2
    }
    if arguments.contains("--help") || arguments.contains("-h") {
        printHelp(pullUsage, [.registry])
        return 0
    }
    let invocation = try PullInvocation(arguments)
    var reference = invocation.reference
    let trust: ManifestTrust
    let client = try invocation.registry.makeClient(for: reference)
    var verifiedTrust: (RegistryTrust, TrustState, TrustedTarget)?
    let policy = try TrustPolicy.load(file: invocation.policyFile, home: Keyring.defaultHome)
    let rule = policy?.rule(for: reference.name)
    var allowedUnsigned = false
    if let policy {
        switch rule?.decision ?? policy.defaultDecision {
        case .reject:
            throw TrustError.policy("\(policy.source) rejects \(reference.name) (" + (rule.map { "rule \"\($0.pattern)\"" } ?? "the default") + ")")
        case .requireSigned:
            if invocation.unsafeNoTrust { throw TrustError.policy("\(policy.source) requires \(reference.name) to be signed; --unsafe-no-trust is refused") }
        case .allowUnsigned:
            let probe = RegistryTrust(reference: reference, client: client, options: try trustOptions())
            let content = try probe.trustTagContent()
            // A name verified as a copy of another repository (--as, sameAs) is that repository's
            // signed content: it is never allowed unsigned.
            allowedUnsigned = (invocation.identity ?? rule?.sameAs) == nil && !probe.isPinned && content == nil
        }
    }
    /// The trust data to verify against: the repository's own, or the original's for a copy (`--as`,
    /// `sameAs`), and the root to start from (given, the policy's, or trusted on first use).
    func trustToVerify() throws -> (RegistryTrust, RootChoice) {
        let registryTrust = RegistryTrust(reference: reference, client: client, options: try trustOptions(as: invocation.identity ?? rule?.sameAs),
                                          events: trustEventPrinter())
        var choice = RootChoice(trustOnFirstUse: invocation.trustOnFirstUse)
        if let root = invocation.rootFile ?? rule?.roots.first { choice.given = try RootChoice.file(root).given }
        return (registryTrust, choice)
    }
    // An imported copy's timestamp may be accepted expired for the policy's `exportValidityDays`.
    let expiry: ExpiredMetadata = rule?.exportValidityDays.map { .timestampGrace(seconds: Int64($0) * 86400) } ?? .refuse
    if let digest = reference.digest {
        trust = .digest(digest, size: nil)
        // A digest names its content, so a repository with no trust data (and none pinned here) is
        // pulled by the digest alone; where trust data exists, the digest must be signed, as `verify`
        // requires. A policy decides for the repositories it covers.
        var unsignedRepository = allowedUnsigned
        if policy == nil && !invocation.unsafeNoTrust {
            if invocation.rootFile != nil || invocation.trustOnFirstUse || invocation.identity != nil {
                // A root to start from, or a copy of a repository named with --as: signed it must be.
                unsignedRepository = false
            } else {
                let probe = RegistryTrust(reference: reference, client: client, options: try trustOptions(as: invocation.identity))
                let content = try probe.trustTagContent()
                unsignedRepository = !probe.isPinned && content == nil
            }
        }
        if invocation.unsafeNoTrust {
            note("WARNING: --unsafe-no-trust: \(reference.name)@\(digest) is pulled without checking that it is signed; "
                + "its content is verified against the digest")
        } else if unsignedRepository {
            if let policy {
                note("signet: warning: \(reference.name) has no trust data; the policy (\(policy.source)) allows it unsigned: \(digest) is NOT checked against a signature")
            } else {
                note("signet: \(reference.name) has no trust data: \(digest) is pulled by its digest alone, not checked against a signature")
            }
        } else if let tag = reference.tag {
            // As `verify REPO:TAG@DIGEST`: the tag must be signed for exactly this digest.
            let (registryTrust, choice) = try trustToVerify()
            // The image is fetched by its digest, so where the registry's tag points does not matter (a
            // tag moved by whoever can push must not stop a deployment pinned by digest).
            registryTrust.tagsToResolve = [tag]
            let state = try registryTrust.refresh(choice, expired: expiry)
            let target = try registryTrust.verifyTag(tag, state: state, pinnedDigest: digest, checkRegistryTag: false).target
            try rule?.check(registryTrust, state: state, target: target)
            verifiedTrust = (registryTrust, state, target)
        } else {
            // As `verify REPO@DIGEST`: the digest must be the signed digest of some tag.
            let (registryTrust, choice) = try trustToVerify()
            let state = try registryTrust.refresh(choice, expired: expiry)
            let signed = try registryTrust.tags(signing: digest, state: state)
            guard !signed.isEmpty else {
                if let policy {
                    throw TrustError.policy("\(policy.source) requires \(reference.name) to be signed, and no signed tag names \(digest)")
                }
                throw TrustError.unsignedTag(tag: digest.ociString, repository: "\(reference.name) (no signed tag names this digest)")
            }
            var met = false
            var lastError: TrustError?
            for t in signed {
                do { try rule?.check(registryTrust, state: state, target: t); met = true; break } catch { lastError = error }
            }
            if !met, let lastError { throw lastError }
        }
    } else if !invocation.unsafeNoTrust && !allowedUnsigned {
        // The tag is resolved by the repository's trust data, never by the registry. A root file pins
        // only when nothing is pinned; otherwise it must be a version of the pinned root.
        let (registryTrust, choice) = try trustToVerify()
        // As `verify`: the registry's tag is read while the trust data refreshes, and the tag's bin is
        // fetched with the top-level files on a cold refresh.
        let tag = reference.tagOrDefault
        let tagRead = invocation.ignoreRegistryTag ? nil : registryTrust.startTagRead(tag)
        registryTrust.tagsToResolve = [tag]
        let state = try registryTrust.refresh(choice, expired: expiry)
        // As `verify`: a tag moved in the registry without a signature is refused unless asked otherwise.
        let target = try registryTrust.verifyTag(tag, state: state, checkRegistryTag: !invocation.ignoreRegistryTag, tagRead: tagRead).target
        try rule?.check(registryTrust, state: state, target: target)
        trust = .digest(target.digest, size: target.length)
        reference = reference.with(digest: target.digest)
        verifiedTrust = (registryTrust, state, target)
    } else if allowedUnsigned {
        trust = .unsafeUnverifiedTag
        note("signet: warning: \(reference.name) has no trust data; the policy (\(policy?.source ?? "")) allows it unsigned: the tag is NOT verified")
    } else {
        trust = .unsafeUnverifiedTag
        note("WARNING: --unsafe-no-trust: the tag \(reference.name):\(reference.tagOrDefault) is NOT verified; "
            + "whoever controls the registry or the network path chooses which image it names. "
            + "Content below the manifest is still verified against it.")
    }
    if let (registryTrust, _, _) = verifiedTrust, let output = invocation.output,
       let held = RegistryTrust.layoutRepository(output), held != registryTrust.reference.name {
        // A layout keeps one repository's trust data; replacing it would leave the images pulled
        // before unverifiable offline.
        throw UsageError("\(output) holds the trust data of \(held) (signet-trust/pull.json); pulling \(registryTrust.reference.name) there would replace it, and the images of \(held) in it could no longer be verified offline. Pull into another directory")
    }
    let display = TransferProgress(verb: "pull", enabled: standardErrorIsTerminal)
    let options = PullOptions(platforms: invocation.platforms, concurrency: invocation.concurrency,
                              refName: invocation.refName, unsafeSkipFsync: invocation.unsafeNoFsync,
                              cancellation: Interrupts.flag)
    let result: PullResult
    do {
        result = try ImagePuller(client: client, progress: display.handler)
            .pull(reference, trust: trust, to: invocation.output.map { .layout($0) } ?? .verifyOnly, options: options)
    } catch {
        display.finish()
        throw error
    }
    display.finish()
    if let (registryTrust, state, target) = verifiedTrust, let output = invocation.output {
        // Keep the signed manifest itself (for an index pulled for one platform it is not otherwise stored),
        // so that `signet verify --layout` can check the whole chain offline.
        let layout = try OCILayout(existingAt: output)
        let signed = Descriptor(mediaType: MediaType.ociManifest, digest: target.digest, size: target.length)
        if try !layout.hasVerifiedBlob(signed) {
            let manifest = try registryTrust.fetchVerifiedManifest(target)
            try AtomicFile.write(manifest.bytes, to: layout.blobPath(target.digest))
        }
        try registryTrust.exportForLayout(output, tag: target.tag, digest: target.digest, state: state)
    }
    if !result.tagVerified {
        note("WARNING: the unverified tag resolved to \(result.manifest.digest); pin it with \(reference.name)@\(result.manifest.digest)")
    }
    if invocation.json {
        printJSONValue(pullResultJSON(result, output: invocation.output))
    } else {
        print(result.reference.description)
    }
    return 0
}

/// The `--json` result of a pull.
func pullResultJSON(_ result: PullResult, output: String?) -> JSONValue {
    var object = JSONObject()
    object["reference"] = .string("\(result.reference.name)@\(result.manifest.digest.ociString)")
    object["tag"] = result.reference.tag.map { .string($0) } ?? .null
    object["digest"] = .string(result.manifest.digest.ociString)
    object["mediaType"] = .string(result.manifest.mediaType)
    object["size"] = .integer(result.manifest.size)
    let platforms = result.images.compactMap { $0.platform?.description }
    object["platform"] = result.images.count == 1 ? (platforms.first.map { .string($0) } ?? .null) : .null
    object["platforms"] = .array(platforms.map { .string($0) })
    object["tagVerified"] = .bool(result.tagVerified)
    object["output"] = output.map { .string($0) } ?? .null
    object["verifyOnly"] = .bool(output == nil)
    object["images"] = .array(result.images.map { descriptorJSON($0) })
    object["blobs"] = .array(result.blobs.map { blob in
        descriptorJSON(blob.descriptor, extra: [("role", .string(blob.role)), ("reused", .bool(blob.reused))])
    })
    object["bytesDownloaded"] = .integer(result.bytesDownloaded)
    return .object(object)
}
