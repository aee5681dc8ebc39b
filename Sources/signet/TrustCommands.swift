import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetTUF
import SignetTrust

let registryValued: Set<String> = RegistryOptions.valued
let registryBoolean: Set<String> = RegistryOptions.boolean
let trustValued: Set<String> = ["root", "passphrase-file"]
let trustBoolean: Set<String> = ["trust-on-first-use", "json"]

/// Registry options from simple arguments (same meaning as for pull and push).
func registryOptions(_ args: Args) throws -> RegistryOptions { try RegistryOptions(args) }

/// Trust options from the environment. `SIGNET_UNSAFE_NOW` (seconds since the epoch) replaces the
/// system clock: it defeats expiry (freeze-attack) protection and exists only for tests.
func trustOptions() throws -> TrustOptions {
    var o = TrustOptions(home: Keyring.defaultHome)
    if let text = ProcessInfo.processInfo.environment["SIGNET_UNSAFE_NOW"] {
        guard let now = Int64(text) else { throw UsageError("SIGNET_UNSAFE_NOW must be seconds since the epoch, got \"\(text)\"") }
        o.clock = { now }
    }
    return o
}

/// Everything a trust command needs for one repository.
struct TrustContext {
    let reference: ImageReference
    let trust: RegistryTrust
    let keyring: Keyring
    var passphrases: Passphrases

    init(_ args: Args, referenceIndex: Int = 0, reference given: ImageReference? = nil) throws {
        let ref = try given ?? ImageReference(parsing: try args.positional(referenceIndex, "image reference"))
        reference = ref
        let client = try registryOptions(args).makeClient(for: ref)
        trust = RegistryTrust(reference: ref, client: client, options: try trustOptions(),
                              events: { message in
                                  if ProcessInfo.processInfo.environment["SIGNET_VERBOSE"] == "1" || message.hasPrefix("trust on first use")
                                      || message.hasPrefix("a root is already pinned") || message.hasPrefix("warning:") { note("signet: \(message)") }
                              })
        keyring = try openKeyring()
        passphrases = Passphrases(file: args.value("passphrase-file"))
        if let root = args.value("root") { try trust.pin(rootFile: root, replace: false) }
    }

    mutating func publisher() -> TrustPublisher {
        var p = passphrases
        let ring = keyring
        let pub = TrustPublisher(trust: trust, keyring: keyring) { entry, root in
            let pass = try p.get(root: root || entry.label("role") == "root", what: "\(root ? "root" : "signing") key \(entry.keyID.prefix(12))")
            return try ring.unlock(entry, passphrase: pass)
        }
        passphrases = p
        return pub
    }

    /// Refreshes trust, honouring --trust-on-first-use.
    func refresh(_ args: Args) throws -> Updater { try trust.refresh(trustOnFirstUse: args.flag("trust-on-first-use")) }
}

/// Prints the outcome of a trust change; a staged change is exit status 1 with the missing thresholds named.
func reportTrustChange(_ outcome: PublishOutcome, _ what: String, _ ref: ImageReference, json: Bool) -> Int32 {
    switch outcome {
    case .published:
        if json { printJSON(["published": true, "repository": ref.name]) } else { print("\(what): trust data of \(ref.name) published") }
        return 0
    case .staged(let missing):
        if json { printJSON(["published": false, "missing": missing.map(\.description)]) }
        note("signet: \(what): not published: \(missing.map(\.description).joined(separator: "; "))\nThe signed change waits in the registry (tag _tuf-staged); other signers add their signatures with `signet trust sign-staged \(ref.name)`.")
        return 1
    }
}

let trustUsage = """
usage: signet trust init REF [--root-key ID ...] [--signer-key ID ...] [--json]
       signet trust sign-staged REF         add this machine's signatures to the change waiting for them
       signet trust discard-staged REF      drop the change waiting for signatures
       signet trust status REF [--json]
Common options: --root ROOT_FILE (pin this root), --trust-on-first-use, --passphrase-file FILE,
registry options --username USER --password-stdin, --tls, --unsafe-plain-http, --ca-file FILE.

`trust init` creates root, targets, snapshot and timestamp keys and a `releases` delegation for tag
signers (generating Ed25519 keys in $SIGNET_HOME/keys unless key IDs are given), publishes the trust
data into the repository under the tag _tuf, and pins its root locally. Give the printed root file to
everyone who verifies (`signet verify --root FILE REF`).
"""

/// `signet trust …`
func runTrustCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(trustUsage); return 2 }
        print(trustUsage)
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued).union(["root-key", "signer-key", "signer-threshold"]),
                        boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(trustUsage); return 0 }
    var ctx = try TrustContext(args)
    try args.expectPositionals(1)
    switch sub {
    case "init":
        var keys: [String: [String]] = [:]
        if !args.values("root-key").isEmpty { keys["root"] = args.values("root-key") }
        if !args.values("signer-key").isEmpty { keys[TrustPublisher.releasesRole] = args.values("signer-key") }
        var thresholds: [String: Int] = [:]
        if let t = try args.int("signer-threshold") { thresholds[TrustPublisher.releasesRole] = t }
        var p = ctx.passphrases
        let result = try ctx.publisher().initialize(keys: keys, thresholds: thresholds) { role in
            try p.get(root: role == "root", what: "the new \(role) key", confirm: true)
        }
        if args.flag("json") {
            printJSON(["repository": ctx.reference.name, "root_keyids": result.rootKeyIDs, "root_file": result.rootFile, "signer_keyids": result.signerKeyIDs])
        } else {
            print("trust data for \(ctx.reference.name) published (tag _tuf)")
            print("root key ID: \(result.rootKeyIDs.joined(separator: ", "))")
            print("root file to pin on clients: \(result.rootFile)")
            print("release signer key: \(result.signerKeyIDs.joined(separator: ", "))")
        }
        return 0
    case "sign-staged":
        return reportTrustChange(try ctx.publisher().signStaged(), "signing the staged change", ctx.reference, json: args.flag("json"))
    case "discard-staged":
        try ctx.publisher().discardStaged()
        print("the change waiting for signatures in \(ctx.reference.name) was dropped")
        return 0
    case "status":
        let updater = try ctx.refresh(args)
        return try printInspection(ctx, updater, json: args.flag("json"))
    default:
        throw UsageError("unknown trust command \"\(sub)\"\n\(trustUsage)")
    }
}

// MARK: sign, revoke, verify, inspect, signer, timestamp

let signUsage = """
usage: signet sign REF [--json]        sign the tag REF as it is now in the registry
       signet revoke REF [--json]      remove the signature of tag REF
Options: --root ROOT_FILE, --passphrase-file FILE, registry options (see `signet trust --help`).
"""

func runSignCommand(_ arguments: [String], revoke: Bool) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued), boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(signUsage); return 0 }
    var ctx = try TrustContext(args)
    try args.expectPositionals(1)
    guard let tag = ctx.reference.tag else { throw UsageError("\(ctx.reference) names no tag to \(revoke ? "revoke" : "sign")") }
    let publisher = ctx.publisher()
    if revoke {
        return reportTrustChange(try publisher.revoke(tag: tag), "revoke \(tag)", ctx.reference, json: args.flag("json"))
    }
    // Resolve the tag's manifest in the registry; its digest is computed from the bytes, never taken from headers.
    let fetched = try ctx.trust.client.fetchManifest(repository: ctx.reference.repository, reference: tag, what: "manifest \(ctx.reference)")
    let digest = try SHA256.hash(fetched.bytes)
    let manifest = try VerifiedManifest.verify(fetched.bytes, expectedDigest: digest, declaredMediaType: fetched.contentType, what: "manifest \(ctx.reference)")
    let code = reportTrustChange(try publisher.sign(tag: tag, digest: digest, length: Int64(fetched.bytes.count), mediaType: manifest.mediaType),
                                 "sign \(tag)", ctx.reference, json: args.flag("json"))
    if code == 0 && !args.flag("json") { print("\(ctx.reference.name):\(tag) -> \(digest)") }
    return code
}

let verifyUsage = """
usage: signet verify REF [--deep] [--root ROOT_FILE | --trust-on-first-use] [--json]
       signet verify --layout DIR [REF]
Refreshes the repository's trust data, resolves the tag, fetches and checks the manifest and prints
the pinned reference REF@sha256:… to use in deployments (exit 0), or explains and exits 1.
--deep also streams and checks every blob without storing it. The registry's tag must still point to
the signed manifest (--ignore-registry-tag skips that check and only reports the signed digest).
--layout verifies a layout written by `signet pull` offline, with the trust metadata stored in it.
"""

func runVerifyCommand(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["layout", "platform"]),
                        boolean: registryBoolean.union(trustBoolean).union(["deep", "help", "all-platforms", "ignore-registry-tag"]))
    if args.flag("help") { print(verifyUsage); return 0 }
    if let layout = args.value("layout") { return try verifyLayoutOffline(layout, args) }
    let ctx = try TrustContext(args)
    try args.expectPositionals(1)
    guard let tag = ctx.reference.tag else { throw UsageError("\(ctx.reference) names no tag to verify") }
    let updater = try ctx.refresh(args)
    let target = try ctx.trust.resolve(tag: tag, updater: updater)
    if let pinned = ctx.reference.digest, pinned != target.digest {
        throw TrustError.manifestMismatch("\(ctx.reference) asks for \(pinned) but the signed digest of tag \(tag) is \(target.digest)")
    }
    // The registry's tag must still name the signed manifest: a tag moved without a signature is refused.
    // That read runs alongside the fetch of the signed manifest.
    final class TagRead: @unchecked Sendable { var result: Result<[UInt8], OCIError> = .success([]) }
    let tagRead = TagRead()
    let group = DispatchGroup()
    let client = ctx.trust.client
    let repository = ctx.reference.repository
    let what = "manifest \(ctx.reference.name):\(tag)"
    group.enter()
    DispatchQueue.global().async {
        do throws(OCIError) { tagRead.result = .success(try client.fetchManifest(repository: repository, reference: tag, what: what).bytes) } catch {
            tagRead.result = .failure(error)
        }
        group.leave()
    }
    let manifest: VerifiedManifest
    do { manifest = try ctx.trust.fetchVerifiedManifest(target) } catch {
        group.wait()
        throw error
    }
    group.wait()
    let currentDigest = try SHA256.hash(try tagRead.result.get())
    if currentDigest != target.digest && !args.flag("ignore-registry-tag") {
        throw TrustError.manifestMismatch("tag \(tag) of \(ctx.reference.name) points to \(currentDigest) in the registry, but the trust data signs \(target.digest) for it: the tag was moved without a signature (the signed image is \(ctx.reference.name)@\(target.digest))")
    }
    if args.flag("deep") {
        let puller = ImagePuller(client: ctx.trust.client)
        _ = try puller.pull(ctx.reference.with(digest: target.digest), trust: .digest(target.digest, size: target.length), to: .verifyOnly,
                            options: PullOptions(platforms: args.flag("all-platforms") ? .all : .host))
    }
    let pinnedRef = "\(ctx.reference.name)@\(target.digest.ociString)"
    if args.flag("json") {
        printJSON(["reference": pinnedRef, "tag": tag, "digest": target.digest.ociString, "size": Int(target.length), "mediaType": manifest.mediaType, "deep": args.flag("deep")])
    } else {
        print(pinnedRef)
    }
    return 0
}

/// `signet verify --layout DIR`: checks a pulled layout against the trust metadata stored in it.
func verifyLayoutOffline(_ layout: String, _ args: Args) throws -> Int32 {
    let meta = layout + "/signet-trust"
    guard let info = FileManager.default.contents(atPath: meta + "/pull.json"),
          let parsed = try? JSONParser.parse([UInt8](info)), let tag = parsed["tag"]?.stringValue, let repo = parsed["repository"]?.stringValue else {
        throw UsageError("\(layout) holds no trust metadata (pull it with `signet pull REF --output DIR`)")
    }
    // The stored files are the exact bytes verified at pull time; verify them again from the stored root,
    // at the current time, without network.
    let work = NSTemporaryDirectory() + "signet-offline-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: work) }
    try AtomicFile.makeDirectory(work)
    try AtomicFile.write(try AtomicFile.read(meta + "/root.json", limit: 1 << 20) ?? [], to: work + "/root.json")
    let updater = try Updater(metadataBaseURL: "file://\(meta)/remote/", transport: FileTransport(), store: try DirectoryMetadataStore(directory: work))
    try updater.refresh()
    let target = try updater.lookup(tag)
    guard let digest = target.sha256 else { throw TUFError.noSupportedHash(file: tag) }
    if let given = args.positionals.first {
        let ref = try ImageReference(parsing: given)
        guard ref.name == repo, ref.tag == nil || ref.tag == tag else {
            throw TrustError.manifestMismatch("\(layout) holds \(repo):\(tag), not \(given)")
        }
    }
    let layoutIndex = try OCILayout(existingAt: layout)
    let entries = try layoutIndex.readIndex()
    // The signed manifest is named in index.json, or (one platform pulled from an index) stored as a blob.
    let entry = entries.first(where: { $0.digest == digest })
        ?? Descriptor(mediaType: target.custom?["mediaType"]?.stringValue ?? "application/vnd.oci.image.index.v1+json", digest: digest, size: target.length)
    guard (try? layoutIndex.hasVerifiedBlob(entry)) == true else {
        throw TrustError.manifestMismatch("\(layout) does not hold the signed manifest \(digest) of \(repo):\(tag)")
    }
    // The signed manifest, then every manifest and blob below it, each against its digest and size.
    var pending: [Descriptor] = [entry]
    var checked = 0
    while let d = pending.popLast() {
        let isManifest = d.mediaType.contains("manifest") || d.mediaType.contains("index")
        if isManifest {
            let bytes = try layoutIndex.readVerifiedBlob(d, maxBytes: VerifiedManifest.defaultMaxBytes, what: "manifest \(d.digest)")
            let m = try VerifiedManifest.verify(bytes, expectedDigest: d.digest, expectedSize: d.size, declaredMediaType: d.mediaType, what: "manifest \(d.digest)")
            switch m.content {
            case .image(let image): pending.append(image.config); pending.append(contentsOf: image.layers)
            case .index(let index):
                // Only the platforms that were pulled are in the layout.
                let present = index.manifests.filter { (try? layoutIndex.hasVerifiedBlob($0)) == true }
                guard !present.isEmpty else { throw TrustError.manifestMismatch("no manifest of the signed index \(d.digest) is in \(layout)") }
                pending.append(contentsOf: present)
            }
        } else {
            guard try layoutIndex.hasVerifiedBlob(d) else {
                throw TrustError.manifestMismatch("blob \(d.digest) of \(repo):\(tag) is missing from \(layout) or does not match its digest and size")
            }
        }
        checked += 1
    }
    print("\(repo)@\(digest.ociString)")
    if !args.flag("json") { note("verified \(checked) manifests and blobs in \(layout) against the stored trust metadata") }
    return 0
}

let inspectUsage = """
usage: signet inspect REF [--root ROOT_FILE | --trust-on-first-use] [--json]
Shows the signed tags with digests, the signers and thresholds, expiries and the root key IDs.
"""

func runInspectCommand(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued), boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(inspectUsage); return 0 }
    let ctx = try TrustContext(args)
    try args.expectPositionals(1)
    return try printInspection(ctx, try ctx.refresh(args), json: args.flag("json"))
}

func printInspection(_ ctx: TrustContext, _ updater: Updater, json: Bool) throws -> Int32 {
    let set = updater.trusted
    var tags: [(String, String, Int64, String)] = []
    var roleRows: [(String, Int64, String, Int, [String])] = []
    func role(_ name: String, _ m: Metadata<Targets>, keys: RoleKeys?) {
        for path in m.signed.targetPaths {
            if let t = try? m.signed.target(path) { tags.append((path, t.sha256?.ociString ?? "?", t.length, name)) }
        }
        roleRows.append((name, m.signed.header.version, m.signed.header.expires, keys?.threshold ?? 0, keys?.keyIDs ?? []))
    }
    let root = set.root.signed
    if let t = set.targets { role("targets", t, keys: root.role("targets")) }
    for (ref, m) in set.targetsRoles where ref != .topLevelTargets { _ = m; _ = ref }
    // Load the releases role (if delegated) through the updater so it is verified.
    if let t = set.targets, let d = t.signed.delegations {
        for r in d.roles ?? [] {
            if let m = try? updater.role(r.name, delegator: "targets") { role(r.name, m, keys: r.roleKeys) }
        }
    }
    let top: [(String, Int64, String, Int, [String])] = [
        ("root", root.header.version, root.header.expires, root.role("root")?.threshold ?? 0, root.role("root")?.keyIDs ?? []),
        ("snapshot", set.snapshot?.signed.header.version ?? 0, set.snapshot?.signed.header.expires ?? "", root.role("snapshot")?.threshold ?? 0, root.role("snapshot")?.keyIDs ?? []),
        ("timestamp", set.timestamp?.signed.header.version ?? 0, set.timestamp?.signed.header.expires ?? "", root.role("timestamp")?.threshold ?? 0, root.role("timestamp")?.keyIDs ?? []),
    ]
    let rows = top + roleRows
    if json {
        printJSON(["repository": ctx.reference.name,
                   "tags": tags.map { ["tag": $0.0, "digest": $0.1, "size": Int($0.2), "signed_by": $0.3] as [String: Any] },
                   "roles": rows.map { ["role": $0.0, "version": Int($0.1), "expires": $0.2, "threshold": $0.3, "keyids": $0.4] as [String: Any] },
                   "root_keyids": root.role("root")?.keyIDs ?? []])
        return 0
    }
    print("Signed tags of \(ctx.reference.name):")
    if tags.isEmpty { print("  (none)") }
    for t in tags.sorted(by: { $0.0 < $1.0 }) {
        print("  " + t.0.padding(toLength: 24, withPad: " ", startingAt: 0) + t.1 + "  (\(t.2) bytes, role \(t.3))")
    }
    print("\nRoles:")
    print("  ROLE        VERSION  EXPIRES               THRESHOLD  KEYS")
    for r in rows {
        print("  " + r.0.padding(toLength: 12, withPad: " ", startingAt: 0) + String(r.1).padding(toLength: 9, withPad: " ", startingAt: 0)
              + r.2.padding(toLength: 22, withPad: " ", startingAt: 0) + "\(r.3) of \(r.4.count)".padding(toLength: 11, withPad: " ", startingAt: 0)
              + r.4.map { String($0.prefix(12)) }.joined(separator: ", "))
    }
    print("\nRoot key IDs: \(root.role("root")?.keyIDs.joined(separator: ", ") ?? "")")
    return 0
}

let signerUsage = """
usage: signet signer add REF NAME --key PUBKEY     add a tag signer (PUBKEY: key ID in the key store or a PEM public key file)
       signet signer remove REF NAME|KEY_ID        remove (revoke) a signer
       signet signer threshold REF N               require N signer signatures per change (N of M)
       signet signer list REF
Changes the `releases` delegation; needs the targets key.
"""

func runSignerCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(signerUsage); return 2 }
        print(signerUsage)
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued).union(["key"]),
                        boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(signerUsage); return 0 }
    var ctx = try TrustContext(args)
    let publisher = ctx.publisher()
    let role = TrustPublisher.releasesRole
    switch sub {
    case "add":
        let name = try args.positional(1, "signer NAME")
        try args.expectPositionals(2)
        guard let keyArg = args.value("key") else { throw UsageError("signer add needs --key PUBKEY") }
        let key: PublicKey
        if FileManager.default.fileExists(atPath: keyArg), let pem = FileManager.default.contents(atPath: keyArg) {
            key = try PublicKey(pem: String(decoding: pem, as: UTF8.self))
        } else if keyArg.contains("/") || keyArg.hasSuffix(".pem") {
            throw UsageError("cannot read the public key file \(keyArg)")
        } else {
            key = try ctx.keyring.find(keyArg).publicKey
        }
        return reportTrustChange(try publisher.update { repo in
            if repo.signerKeyID(named: name, role: role) != nil { throw UsageError("a signer named \"\(name)\" already exists in \(role)") }
            let keyID = try Key(publicKey: key).keyID()
            if repo.delegatedRole(role)?.keyIDs.contains(keyID) == true { throw UsageError("that key (\(keyID.prefix(12))) already signs for \(role)") }
            try repo.updateDelegation(from: "targets", name: role, addKeys: [key])
            try repo.setSignerName(name, keyID: try Key(publicKey: key).keyID(), role: role)
        }, "add signer \(name)", ctx.reference, json: args.flag("json"))
    case "remove":
        let name = try args.positional(1, "signer NAME")
        try args.expectPositionals(2)
        return reportTrustChange(try publisher.update { repo in
            let keyIDs = repo.delegatedRole(role)?.keyIDs ?? []
            let byPrefix = name.count >= 8 ? keyIDs.filter { $0.hasPrefix(name) } : []
            guard let id = repo.signerKeyID(named: name, role: role) ?? (byPrefix.count == 1 ? byPrefix.first : nil) else {
                throw UsageError("no signer named \"\(name)\" (or with that key ID) in \(role)")
            }
            let remaining = (repo.delegatedRole(role)?.keyIDs.count ?? 1) - 1
            let threshold = min(repo.delegatedRole(role)?.threshold ?? 1, max(remaining, 1))
            try repo.updateDelegation(from: "targets", name: role, removeKeyIDs: [id], threshold: threshold)
            try repo.setSignerName(nil, keyID: id, role: role)
        }, "remove signer \(name)", ctx.reference, json: args.flag("json"))
    case "list":
        try args.expectPositionals(1)
        let updater = try ctx.trust.refresh(trustOnFirstUse: args.flag("trust-on-first-use"))
        guard let d = updater.trusted.targets?.signed.delegations?.roles?.first(where: { $0.name == role }) else {
            throw UsageError("\(ctx.reference.name) has no \(role) delegation")
        }
        var names: [String: String] = [:]
        for m in d.unknown[Repository.signerNamesFieldName]?.objectValue ?? JSONObject() { if let id = m.value.stringValue { names[id] = m.key } }
        if args.flag("json") {
            printJSON(["role": role, "threshold": d.threshold, "signers": d.keyIDs.map { ["keyid": $0, "name": names[$0] ?? ""] }])
        } else {
            print("\(role): \(d.threshold) of \(d.keyIDs.count) signatures required")
            for id in d.keyIDs { print("  \(id)  \(names[id] ?? "(unnamed)")") }
        }
        return 0
    case "threshold":
        let n = try args.positional(1, "threshold N")
        try args.expectPositionals(2)
        guard let t = Int(n) else { throw UsageError("threshold must be a whole number, got \"\(n)\"") }
        return reportTrustChange(try publisher.update { repo in
            try repo.updateDelegation(from: "targets", name: role, threshold: t)
        }, "set signer threshold to \(t)", ctx.reference, json: args.flag("json"))
    default:
        throw UsageError("unknown signer command \"\(sub)\"\n\(signerUsage)")
    }
}

let timestampUsage = """
usage: signet timestamp renew REF     re-sign the timestamp (for a daily scheduled job; needs the timestamp and
                                      snapshot keys); also renews other roles that expire within a week when
                                      their keys are in this key store, and warns about the others
"""

func runTimestampCommand(_ arguments: [String]) throws -> Int32 {
    guard arguments.first == "renew" else {
        if arguments.first == "--help" || arguments.first == "-h" { print(timestampUsage); return 0 }
        note(timestampUsage)
        return 2
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued), boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(timestampUsage); return 0 }
    var ctx = try TrustContext(args)
    try args.expectPositionals(1)
    let localIDs = Set(try ctx.keyring.list().map(\.keyID))
    var renewed: [String] = []
    let code = reportTrustChange(try ctx.publisher().update { repo in
        try repo.renew(role: "timestamp")
        // Also renew what expires within a week and can be signed here; name what cannot.
        for name in repo.expiringRoles(within: 7 * 86400) where !["timestamp", "snapshot"].contains(name) {
            let ids = name == "root" ? (repo.root.signed.roles["root"]?.keyIDs ?? []) : ((try? repo.keysAndRoleIDs(for: name)) ?? [])
            if ids.contains(where: { localIDs.contains($0) }) {
                try repo.renew(role: name)
                renewed.append(name)
            } else {
                note("warning: \(name) expires soon and its keys are not here; renew it where they are (`signet timestamp renew` there)")
            }
        }
    }, "renew timestamp" + (renewed.isEmpty ? "" : " and " + renewed.joined(separator: ", ")), ctx.reference, json: args.flag("json"))
    return code
}

/// `signet key rotate REF ROLE`: a new key for ROLE (root, targets, snapshot, timestamp through a new
/// cross-signed root; releases by replacing the signer key).
func runKeyRotate(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["type"]), boolean: registryBoolean.union(trustBoolean).union(["help"]))
    if args.flag("help") { print(keyUsage); return 0 }
    var ctx = try TrustContext(args)
    let role = try args.positional(1, "ROLE (root, targets, snapshot, timestamp or releases)")
    try args.expectPositionals(2)
    let roles = Root.topLevelRoles + [TrustPublisher.releasesRole]
    guard roles.contains(role) else { throw UsageError("unknown role \"\(role)\"; expected one of \(roles.joined(separator: ", "))") }
    guard let algorithm = KeyAlgorithm(rawValue: args.value("type") ?? "ed25519"), algorithm != .rsa else { throw UsageError("--type must be ed25519, ecdsa-p256 or ecdsa-p384") }
    // Check the current state first, so that nothing is generated for a request that cannot succeed.
    let updater = try ctx.trust.refresh(allowExpired: true)
    let localIDs = Set(try ctx.keyring.list().map(\.keyID))
    var replaced: [String] = []
    var threshold = 1
    if role == TrustPublisher.releasesRole {
        guard let d = updater.trusted.targets?.signed.delegations?.roles?.first(where: { $0.name == role }) else {
            throw UsageError("\(ctx.reference.name) has no \(role) delegation")
        }
        replaced = d.keyIDs.filter { localIDs.contains($0) }
        guard !replaced.isEmpty else { throw UsageError("none of the \(role) signer keys of \(ctx.reference.name) is in this key store; nothing to rotate here") }
        threshold = d.threshold
    } else if let r = updater.trusted.root.signed.role(role) {
        threshold = r.threshold
        replaced = r.keyIDs
        guard r.keyIDs.count == 1 else {
            throw UsageError("\(role) has \(r.keyIDs.count) keys (threshold \(r.threshold)); rotate them with `signet tuf`-style key lists is not supported here yet")
        }
    }
    let pass = try ctx.passphrases.get(root: role == "root", what: "the new \(role) key", confirm: true)
    let entry = try ctx.keyring.generate(algorithm, passphrase: pass, labels: [("role", role), ("repository", ctx.reference.name)])
    let publisher = ctx.publisher()
    let outcome = try publisher.update { repo in
        if Root.topLevelRoles.contains(role) {
            try repo.rotate(role: role, to: [entry.publicKey], threshold: 1)
        } else {
            // Replace only this machine's signer key(s); other signers and the threshold stay.
            try repo.updateDelegation(from: "targets", name: role, addKeys: [entry.publicKey], removeKeyIDs: replaced,
                                      threshold: min(threshold, (repo.delegatedRole(role)?.keyIDs.count ?? 1) - replaced.count + 1))
        }
    }
    let code = reportTrustChange(outcome, "rotate \(role) key", ctx.reference, json: args.flag("json"))
    if code == 0 && !args.flag("json") { print("new \(role) key: \(entry.keyID)") }
    return code
}
