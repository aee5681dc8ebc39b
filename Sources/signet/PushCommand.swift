import FoundationEssentials
import Glibc
import SignetJSON
import SignetKeys
import SignetEditor
import SignetHTTP
import SignetOCI
import SignetTUF
import SignetTrust

let pushUsage = """
usage: signet push [options] DIR REFERENCE

Uploads the image named in DIR/index.json (an OCI image layout) to REFERENCE
([REGISTRY/]REPOSITORY[:TAG]): blobs the repository already has are skipped, blobs found in a
--mount-from repository are mounted, the rest are uploaded; then the manifest (for an index: each
child manifest, then the index) is pushed as the exact bytes stored in DIR. Prints the pushed
manifest digest, or with --json a JSON result. When index.json lists several images, the one whose
ref.name equals --ref-name (else the tag of REFERENCE) is pushed.

options:
  --ref-name NAME        which index.json entry to push
  --mount-from REPO      try a cross-repository mount from REPO on the same registry (repeatable)
  --concurrency N        blobs uploaded at the same time, 1-32 (default 4)
  --json                 print the result as JSON
  --unsigned             do not sign the tag even if the repository has trust data (a warning says so;
                         without a tag, pushing into a repository with trust data needs it)
  --no-retry             fail instead of signing again on the new state when another publisher
                         changed the trust data during the push
  --passphrase-file FILE passphrase of the signing keys (else SIGNET_KEY_PASSPHRASE or a prompt)
  --root ROOT_FILE       the repository's root, the first time this machine signs for it (pinned after
                         the trust data verified); --trust-on-first-use accepts the registry's (said)
When the repository has trust data (`signet trust init`), the tag is signed in the same step: the
signature is prepared before the upload and published after the manifest is in the registry.
\(RegistryOptions.help)
"""

/// What `signet push` was asked to do.
struct PushInvocation {
    var layout: String
    var reference: ImageReference
    var refName: String?
    var mountFrom: [String]
    var concurrency: Int
    var json: Bool
    var registry: RegistryOptions
    var unsigned: Bool
    var noRetry: Bool
    var passphraseFile: String?
    /// The repository's root the first time this machine publishes to it.
    var rootChoice: RootChoice

    init(_ arguments: [String]) throws {
        let args = try Args(arguments, valued: RegistryOptions.valued.union(["ref-name", "mount-from", "concurrency", "passphrase-file", "root"]),
                            boolean: RegistryOptions.boolean.union(["json", "unsigned", "no-retry", "trust-on-first-use"]))
        try args.checkOneRootChoice()
        rootChoice = RootChoice(trustOnFirstUse: args.flag("trust-on-first-use"))
        if let file = args.value("root") { rootChoice.given = try RootChoice.file(file).given }
        unsigned = args.flag("unsigned")
        noRetry = args.flag("no-retry")
        passphraseFile = args.value("passphrase-file")
        layout = try args.positional(0, "DIR")
        let text = try args.positional(1, "REFERENCE")
        try args.expectPositionals(2)
        reference = try ImageReference(parsing: text)
        if let tag = reference.tag, tag == "_tuf" || tag == "_tuf-staged" {
            throw UsageError("the tag \"\(tag)\" holds the repository's trust data; push images under another tag")
        }
        refName = args.value("ref-name")
        concurrency = try args.int("concurrency") ?? 4
        guard (1...32).contains(concurrency) else { throw UsageError("--concurrency must be from 1 to 32, got \(concurrency)") }
        json = args.flag("json")
        registry = try RegistryOptions(args)
        mountFrom = []
        for source in args.values("mount-from") {
            // A repository path on the destination's registry.
            let parsed = try ImageReference(parsing: reference.registry + "/" + source)
            guard parsed.registry == reference.registry, parsed.tag == nil, parsed.digest == nil else {
                throw UsageError("--mount-from \(source): expected a repository path on \(reference.registry)")
            }
            mountFrom.append(parsed.repository)
        }
    }
}

/// `signet push …`
func runPushCommand(_ arguments: [String]) throws -> Int32 {
    if arguments.isEmpty {
        note(pushUsage)
        return 2
    }
    if arguments.contains("--help") || arguments.contains("-h") {
        printHelp(pushUsage, [.registry, .passphrases])
        return 0
    }
    let invocation = try PushInvocation(arguments)
    // The layout is read before anything is asked of the registry: a wrong path is named as such.
    _ = try OCILayout(existingAt: invocation.layout).readIndex()
    let client = try invocation.registry.makeClient(for: invocation.reference)
    let display = TransferProgress(verb: "push", enabled: standardErrorIsTerminal)
    let options = PushOptions(refName: invocation.refName, mountFrom: invocation.mountFrom, concurrency: invocation.concurrency)
    // Sign before push: when the repository has trust data, the tag's new targets metadata is prepared
    // and signed first; it is published only after the manifest is in the registry.
    var signing: (TrustPublisher, TrustPublisher.PreparedChange, (RepositoryEditor) throws -> Void)?
    var signedManifest: Descriptor?
    let registryTrust = RegistryTrust(reference: invocation.reference, client: client, options: try trustOptions(), events: trustEventPrinter())
    let trusted = try registryTrust.trustTagContent() != nil
    if trusted && invocation.reference.tag == nil && !invocation.unsigned {
        throw UsageError("\(invocation.reference.name) has trust data: an image pushed without a tag is not signed and no client will accept it by tag; push it as \(invocation.reference.name):TAG to sign it, or add --unsigned to push it untagged")
    }
    if trusted && invocation.unsigned, let tag = invocation.reference.tag {
        note("signet: warning: \(invocation.reference.name) has trust data; \(tag) is pushed unsigned: clients refuse it until it is signed (`signet sign \(invocation.reference.name):\(tag)`), and if \(tag) was signed before, verify and pull report it as moved")
    }
    if !invocation.unsigned, let tag = invocation.reference.tag {
        if trusted {
            let descriptor = try layoutManifest(invocation.layout, name: invocation.refName ?? tag)
            signedManifest = descriptor
            let ring = try openKeyring()
            var passphrases = Passphrases(file: invocation.passphraseFile)
            let publisher = TrustPublisher(trust: registryTrust, keyring: ring) { entry, root in
                try signingKey(entry, ring: ring, root: root, passphrases: &passphrases)
            }
            let reference = invocation.reference
            publisher.root = invocation.rootChoice
            configureRetries(publisher, noRetry: invocation.noRetry, repository: reference.name)
            let change = TrustPublisher.signChange(tag: tag, digest: descriptor.digest, length: descriptor.size,
                                                   mediaType: descriptor.mediaType, repository: reference.name,
                                                   onMove: { old in note("signet: \(tag) was signed for \(old); the push signs \(descriptor.digest) instead") })
            let prepared = try publisher.prepare(change)
            try publisher.refuseUnsignedTagChange(prepared, tag: tag)
            signing = (publisher, prepared, change)
        } else {
            note("note: \(invocation.reference.name) has no trust data, so \(tag) is pushed unsigned (create trust with `signet trust init \(invocation.reference.name)`)")
        }
    }
    if !invocation.unsigned, invocation.reference.tag == nil {
        note("note: \(invocation.reference) names no tag, so the image is pushed untagged and unsigned (add :TAG to sign it)")
    }
    let result: PushResult
    do {
        result = try ImagePusher(client: client, progress: display.handler)
            .push(layoutPath: invocation.layout, to: signedManifest.map { invocation.reference.with(digest: $0.digest) } ?? invocation.reference, options: options)
    } catch {
        display.finish()
        throw error
    }
    display.finish()
    var signed = false
    // What was pushed must be what was signed (the layout is read twice; someone may change it between).
    if let signedManifest, signing != nil, result.manifest.digest != signedManifest.digest {
        throw TrustError.manifestMismatch("\(invocation.layout) changed during the push: \(signedManifest.digest) was signed, \(result.manifest.digest) was pushed; the signature was not published (the tag now names an unsigned manifest: push again)")
    }
    if let (publisher, first, change) = signing {
        // The manifest is under the tag now: its signature is published even if a stop was asked for
        // meanwhile, so the tag is never left moved but unsigned (the transfers keep their deadlines).
        // When another publisher won the race, the signature is made again on the new state.
        var prepared = first
        try TransferInterruption.holdingOff {
            var attempt = 1
            while true {
                do {
                    try publisher.commit(prepared)
                    return
                } catch TrustError.conflict(let why) {
                    guard attempt <= publisher.retries else { throw TrustError.conflict(why) }
                    attempt += 1
                    publisher.onRetry(attempt, publisher.retries + 1)
                    prepared = try publisher.prepare(change)
                }
            }
        }
        if TransferInterruption.wasRequested {
            note("signet push: interrupted; \(result.manifest.digest) was pushed and its signature published first")
            return 130
        }
        if case .staged(let change) = prepared.outcome {
            note("signet push: pushed \(result.manifest.digest) but its signature is not published: \(change.shortfalls.map(\.description).joined(separator: "; "))\n"
                 + "The change, with this key store's signatures, waits in the registry; other signers run `signet trust sign-staged \(invocation.reference.name)`.")
            print(result.manifest.digest.ociString)
            return 1
        }
        signed = true
    }
    if invocation.json {
        var object = JSONObject()
        object["reference"] = .string("\(invocation.reference.name)@\(result.manifest.digest.ociString)")
        object["tag"] = invocation.reference.tag.map { .string($0) } ?? .null
        object["digest"] = .string(result.manifest.digest.ociString)
        object["mediaType"] = .string(result.manifest.mediaType)
        object["size"] = .integer(result.manifest.size)
        object["signed"] = .bool(signed)
        object["manifests"] = .array(result.childManifests.map { descriptorJSON($0) })
        object["blobs"] = .array(result.blobs.map { blob in
            descriptorJSON(blob.descriptor, extra: [("outcome", .string(blob.outcome.rawValue))])
        })
        printJSONValue(.object(object))
    } else {
        print(result.manifest.digest.ociString)
        if signed { note("signed \(invocation.reference.tag ?? "") -> \(result.manifest.digest) in the trust data of \(invocation.reference.name)") }
    }
    return 0
}

/// The manifest descriptor `signet push` will upload from the layout (same selection as the pusher).
func layoutManifest(_ path: String, name: String) throws -> Descriptor {
    let entries = try OCILayout(existingAt: path).readIndex()
    if entries.count == 1, let only = entries.first { return only }
    if let match = entries.first(where: { $0.annotation(Descriptor.refNameAnnotation) == name }) { return match }
    throw UsageError("\(path)/index.json lists \(entries.count) images and none is named \"\(name)\" (use --ref-name)")
}
