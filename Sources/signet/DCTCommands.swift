import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF
import SignetTrust

let dctUsage = """
usage: signet dct inspect REF [SOURCE] [PIN] [--json]     signed tags, signers, keys and expiries, as `docker trust inspect`
       signet dct verify REF:TAG [SOURCE] [PIN] [--json]  resolve TAG as Docker did; prints REF@sha256:…
       signet dct pull REF:TAG --output DIR [SOURCE] [PIN] verified pull of that digest into an OCI layout
       signet dct import REF [SOURCE] [PIN] [--to REF2] [--signers dct|new] [--replace] [--json]
                                                          sign every DCT-signed tag in REF2's (default REF's) registry-native trust
SOURCE: --server URL (default $DOCKER_CONTENT_TRUST_SERVER, https://notary.docker.io for Docker Hub, else
        https://REGISTRY), its TLS checked with the system CAs and ~/.docker/tls/HOST:PORT/*.crt as Docker
        does, or with --notary-ca-file FILE alone; or --trust-dir DIR (a Docker or notary trust directory,
        e.g. ~/.docker/trust or ~/.notary: its cached tuf/<GUN>/metadata, for a server that is gone).
PIN (the first time; later runs use the root pinned in $SIGNET_HOME/dct/):
        --root FILE             a Notary root.json you trust
        --root-key-id ID[,ID]   root key IDs (notary's trust_pinning.certs)
        --root-ca FILE          CA certificates the root certificates must chain to (trust_pinning.ca)
        --trust-on-first-use    accept the root the source shows now, and say so
--unsafe-allow-expired accepts expired Notary metadata and root certificates (for data whose server is
gone; removes freeze protection). Server credentials: NOTARY_AUTH (base64 user:pass), else the registry's credentials.
Tags resolve through targets/releases first, then targets; other delegations are shown but never decide.
`import` verifies the Notary data, checks each signed digest is in the destination registry, then
publishes every tag in one change, keeping digests; re-running it changes nothing already imported.
--signers dct makes the DCT signers' keys `releases` signers (import their keys first with
`signet key import ~/.docker/trust/private`); --signers new signs with new keys or the repository's own.
"""

/// Credentials for any host: the registry's (Docker used the registry's credentials for its notary).
struct RegistryCredentialsForAnyHost: CredentialProvider {
    let base: any CredentialProvider
    let registry: String
    func credential(for host: String) throws(OCIError) -> RegistryCredential? { try base.credential(for: registry) }
}

/// `signet dct …`
func runDCTCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(dctUsage); return 2 }
        printHelp(dctUsage, [.registry, .passphrases])
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()),
                        valued: registryValued.union(["server", "trust-dir", "notary-ca-file", "root", "root-key-id", "root-ca", "to", "signers",
                                                      "output", "platform", "passphrase-file"]),
                        boolean: registryBoolean.union(["json", "trust-on-first-use", "unsafe-allow-expired", "replace", "help", "all-platforms"]))
    if args.flag("help") { printHelp(dctUsage, [.registry, .passphrases]); return 0 }
    let reference = try ImageReference(parsing: try args.positional(0, "image reference"))
    try args.expectPositionals(1)
    let registry = try registryOptions(args)
    let environment = ProcessInfo.processInfo.environment
    let registryCredentials = try registry.credentials(for: reference)
    let options = try trustOptions()

    // Where the Notary data comes from.
    let source: any NotarySource
    if let dir = args.value("trust-dir") {
        guard args.value("server") == nil else { throw UsageError("give --server or --trust-dir, not both") }
        let d = NotaryTrustDirectory(trustDirectory: dir, gun: reference.name)
        guard d.exists else { throw UsageError("\(dir) holds no Docker Content Trust data for \(reference.name) (expected \(d.metadataDirectory)/root.json)") }
        source = d
    } else {
        let url = args.value("server") ?? DCTTrust.defaultServer(for: reference, environment: environment)
        var credentials: any CredentialProvider = RegistryCredentialsForAnyHost(base: registryCredentials, registry: reference.registry)
        if let auth = environment["NOTARY_AUTH"], !auth.isEmpty {
            guard let raw = Base64.decode(auth), let colon = raw.firstIndex(of: 0x3a) else {
                throw UsageError("NOTARY_AUTH must be base64 of USER:PASSWORD (as `printf %s user:pass | base64` makes it); the value set is not")
            }
            let user = String(decoding: raw[..<colon], as: UTF8.self)
            let password = raw[(colon + 1)...].withUnsafeBytes { SecretBytes(copying: $0) }
            credentials = StaticCredentials(.basic(username: user, password: password))
        }
        let dockerConfig = DockerConfigCredentials.defaultConfigFile(environment: Environment.values(["DOCKER_CONFIG", "HOME"])).map { AtomicFile.directory(of: $0) }
        source = try NotaryServerSource(url: url, gun: reference.name, caFile: args.value("notary-ca-file"), dockerConfigDirectory: dockerConfig,
                                        credentials: credentials)
    }
    // The first root.
    var pin: DCTRootPin?
    let pinChoices = [args.value("root") != nil, !args.values("root-key-id").isEmpty, args.value("root-ca") != nil, args.flag("trust-on-first-use")].filter { $0 }.count
    guard pinChoices <= 1 else { throw UsageError("give one of --root, --root-key-id, --root-ca and --trust-on-first-use") }
    if let file = args.value("root") {
        let bytes = try AtomicFile.readExisting(file, limit: NotaryUpdater.rootLimit)
        do { _ = try NotaryRoot(bytes: bytes, file: file) } catch {
            if let json = try? JSONParser.parse(bytes), json["signed"]?["_type"]?.stringValue == "root" {
                throw UsageError("\(file) is the root of Signet's own trust data (`signet verify --root \(file)`), not a Notary v1 root; `signet dct` needs the Notary root (for example ~/.docker/trust/tuf/GUN/metadata/root.json)")
            }
            throw TrustError.tuf(error)
        }
        pin = .rootFile(path: file, bytes: bytes)
    } else if !args.values("root-key-id").isEmpty {
        pin = .rootKeyIDs(args.values("root-key-id"))
    } else if let file = args.value("root-ca") {
        let pem = try AtomicFile.readExisting(file, limit: 1 << 20)
        do { pin = .certificateAuthority(path: file, try X509Certificate.parseChain(pem: String(decoding: pem, as: UTF8.self))) } catch {
            throw UsageError("--root-ca \(file): \(error) (expected PEM CA certificates)")
        }
    } else if args.flag("trust-on-first-use") {
        pin = .trustOnFirstUse
    }
    // What the command needs besides the trust data, checked before anything is fetched.
    if sub == "verify" || sub == "pull", reference.tag == nil { throw UsageError("\(reference) names no tag (dct \(sub) takes REF:TAG)") }
    if sub == "pull", args.value("output") == nil { throw UsageError("dct pull needs --output DIR") }
    let dct = DCTTrust(reference: reference, source: source, options: options, events: trustEventPrinter())
    dct.unsafeAllowExpired = args.flag("unsafe-allow-expired")
    if dct.unsafeAllowExpired {
        note("signet: WARNING: --unsafe-allow-expired: expired Notary metadata is accepted; an old state replayed by whoever serves it cannot be told from the current one")
    }
    // For verify, the manifest the tag named last time is fetched while the trust data is verified.
    var prefetch: ManifestPrefetch?
    var earlyClient: RegistryClient?
    if sub == "verify", let tag = reference.tag, reference.digest == nil, dct.isPinned {
        let client = try registry.makeClient(for: reference, credentials: registryCredentials)
        prefetch = ManifestPrefetch(trust: dct, tag: tag, client: client)
        earlyClient = client
    }
    defer { prefetch?.wait() }
    let set = try dct.refresh(pin: pin)
    let json = args.flag("json")

    switch sub {
    case "inspect":
        try args.expectPositionals(1)
        printDCTInspection(DCTInspection(set), json: json)
        return 0
    case "verify", "pull":
        guard let tag = reference.tag else { throw UsageError("\(reference) names no tag") }
        guard let (target, role) = try set.dockerTarget(tag) else {
            throw TrustError.unsignedTag(tag: tag, repository: "\(reference.name) (Docker Content Trust)")
        }
        guard let digest = target.sha256 else { throw TrustError.tuf(.noSupportedHash(file: tag)) }
        if let wanted = reference.digest, wanted != digest {
            throw TrustError.manifestMismatch("\(reference) asks for \(wanted) but Docker Content Trust signs \(digest) for \(tag)")
        }
        let client = try earlyClient ?? registry.makeClient(for: reference, credentials: registryCredentials)
        let pinned = "\(reference.name)@\(digest.ociString)"
        if sub == "verify" {
            let fetched = try prefetch?.manifest(digest: digest, length: target.length)
                ?? client.fetchManifest(repository: reference.repository, reference: digest.ociString,
                                        maxBytes: Int(clamping: target.length), what: "manifest \(pinned)")
            let manifest = try VerifiedManifest.verify(fetched.bytes, expectedDigest: digest, expectedSize: target.length,
                                                       declaredMediaType: fetched.contentType, what: "manifest of \(reference.name):\(tag)")
            if dct.isPinned { ManifestCache(directory: dct.pinDirectory + "/manifests").keep(fetched.bytes, digest: digest) }
            if json {
                printJSON(["reference": pinned, "tag": tag, "digest": digest.ociString, "size": Int(target.length), "role": role, "mediaType": manifest.mediaType])
            } else {
                print(pinned)
            }
            return 0
        }
        guard let output = args.value("output") else { throw UsageError("dct pull needs --output DIR") }
        if args.flag("all-platforms") && args.value("platform") != nil { throw UsageError("give --platform or --all-platforms, not both") }
        var platforms: PlatformSelection = args.flag("all-platforms") ? .all : .host
        if let p = args.value("platform") { platforms = .platform(try Platform(parsing: p)) }
        let result = try ImagePuller(client: client).pull(reference.with(digest: digest), trust: .digest(digest, size: target.length),
                                                          to: .layout(output), options: PullOptions(platforms: platforms, refName: tag))
        if json { printJSONValue(pullResultJSON(result, output: output)) } else { print(result.reference.description) }
        return 0
    case "import":
        let destination = try args.value("to").map { try ImageReference(parsing: $0) } ?? reference
        guard destination.tag == nil, destination.digest == nil else { throw UsageError("--to takes a repository, not \(destination)") }
        let signersChoice: DCTImporter.Signers
        switch args.value("signers") ?? "dct" {
        case "dct": signersChoice = .dct
        case "new": signersChoice = .existing
        case let other: throw UsageError("--signers must be dct or new, got \"\(other)\"")
        }
        let destinationReference = try ImageReference(parsing: destination.name)
        let client = try registry.makeClient(for: destinationReference, credentials: destination.registry == reference.registry ? registryCredentials : nil)
        let trust = RegistryTrust(reference: destinationReference, client: client, options: options, events: trustEventPrinter())
        let keyring = try openKeyring()
        var passphrases = Passphrases(file: args.value("passphrase-file"))
        let publisher = TrustPublisher(trust: trust, keyring: keyring) { entry, root in
            try signingKey(entry, ring: keyring, root: root, passphrases: &passphrases)
        }
        let importer = DCTImporter(inspection: DCTInspection(set), set: set, publisher: publisher, keyring: keyring)
        var p2 = Passphrases(file: args.value("passphrase-file"))
        let report = try importer.run(signers: signersChoice, replace: args.flag("replace")) { signerIDs in
            try publisher.initialize(keys: signerIDs.isEmpty ? [:] : [TrustPublisher.releasesRole: signerIDs]) { role in
                try p2.get(root: role == "root", role: role, what: "the new \(role) key", confirm: true)
            }
        }
        printDCTImportReport(report, source: reference, destination: destinationReference, json: json)
        if case .staged? = report.outcome { return 1 }
        return report.refused.isEmpty ? 0 : 1
    default:
        throw UsageError("unknown dct command \"\(sub)\"" + (nearest(sub, among: ["inspect", "verify", "pull", "import"]).map { " (did you mean `signet dct \($0)`?)" } ?? "") + "\n\(dctUsage)")
    }
}

func printDCTInspection(_ i: DCTInspection, json: Bool) {
    if json {
        printJSON(["repository": i.gun,
                   "tags": i.tags.map { ["tag": $0.name, "digest": $0.digest.ociString, "size": Int($0.length), "role": $0.role, "signers": $0.signers] as [String: Any] },
                   "ignored": i.ignored.map { ["tag": $0.name, "role": $0.role] },
                   "unusable": i.unusable.map { ["tag": $0.name, "reason": $0.reason] },
                   "roles": i.roles.map { ["role": $0.name, "keyIDs": $0.keyIDs, "threshold": $0.threshold, "version": orNull($0.version.map { Int($0) }),
                                            "expires": orNull($0.expires)] as [String: Any] },
                   "skipped": i.skipped.map { ["role": $0.role, "reason": $0.reason] }])
        return
    }
    print("Signatures for \(i.gun)\n")
    print("SIGNED TAG".padded(to: 24) + "DIGEST".padded(to: 72) + "SIGNERS")
    for t in i.tags {
        print(t.name.padded(to: 24) + t.digest.ociString.padded(to: 72)
              + (t.signers.isEmpty ? (t.role == "targets" ? "(Repo Admin)" : "(releases)") : t.signers.joined(separator: ", ")))
    }
    if i.tags.isEmpty { print("(no signed tags)") }
    for g in i.ignored { print("note: \(g.name) is signed only in \(g.role), which Docker did not use") }
    for u in i.unusable { print("note: \(u.name) cannot be used: \(u.reason)") }
    let signers = i.roles.filter { NotaryTargets.parent(of: $0.name) == "targets" && $0.name != "targets/releases" }
    if !signers.isEmpty {
        print("\nList of signers and their keys for \(i.gun)\n")
        print("SIGNER".padded(to: 24) + "KEYS")
        for s in signers { print(String(s.name.dropFirst("targets/".count)).padded(to: 24) + s.keyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")) }
    }
    print("\nAdministrative keys for \(i.gun)\n")
    for r in i.roles where ["root", "targets"].contains(r.name) {
        print("  \(r.name == "root" ? "Root Key" : "Repository Key"):\t\(r.keyIDs.joined(separator: ", "))")
    }
    print("\nRoles:")
    for r in i.roles {
        print("  " + r.name.padded(to: 20) + "version \(r.version.map(String.init) ?? "-")".padded(to: 12)
              + "expires \(r.expires ?? "-")  \(r.threshold) of \(r.keyIDs.count) keys")
    }
    for s in i.skipped { print("warning: \(s.role) was skipped: \(s.reason)") }
}

func printDCTImportReport(_ r: DCTImporter.Report, source: ImageReference, destination: ImageReference, json: Bool) {
    func entries(_ list: [DCTImporter.Entry]) -> [[String: Any]] {
        list.map { ["tag": $0.tag, "digest": $0.digest?.ociString ?? "", "detail": $0.detail] }
    }
    var published = false
    var staged = false
    switch r.outcome {
    case .published?: published = true
    case .staged?: staged = true
    case nil: break
    }
    if json {
        var o: [String: Any] = ["source": source.name, "destination": destination.name, "imported": entries(r.imported), "unchanged": entries(r.unchanged),
                                "skipped": entries(r.skipped), "refused": entries(r.refused), "ignored": entries(r.ignored), "published": published, "staged": staged,
                                "signersAdded": r.signersAdded.map { ["name": $0.name, "keyID": $0.keyID] },
                                "registryTagDiffers": entries(r.registryTagDiffers)]
        if let i = r.initialized { o["rootFile"] = i.rootFile; o["rootKeyIDs"] = i.rootKeyIDs }
        printJSON(o)
        return
    }
    if let i = r.initialized {
        print("created trust data for \(destination.name); root file to pin on clients: \(i.rootFile)")
    }
    for s in r.signersAdded { print("signer \(s.name) (key \(s.keyID.prefix(12))) added to releases") }
    print("imported \(r.imported.count) tags, \(r.unchanged.count) already signed, \(r.skipped.count) skipped, \(r.refused.count) refused")
    for e in r.skipped { print("  skipped \(e.tag): \(e.detail)") }
    for e in r.refused { print("  refused \(e.tag): \(e.detail)") }
    for e in r.ignored { print("  not imported \(e.tag): \(e.detail)") }
    for e in r.registryTagDiffers {
        print("  note: \(e.tag): \(e.detail); Docker pulled by digest, `signet verify` reports it as moved until \(e.digest?.ociString ?? "the signed image") is pushed under that tag again")
    }
    if case .staged(let change)? = r.outcome {
        note("signet: the change is not published: \(change.shortfalls.map(\.description).joined(separator: "; ")); it waits under _tuf-staged")
    }
}
