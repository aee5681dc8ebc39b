import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetHTTP
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF
import SignetTrust

let registryValued: Set<String> = RegistryOptions.valued
let registryBoolean: Set<String> = RegistryOptions.boolean
let trustValued: Set<String> = ["root", "passphrase-file", "as", "policy"]
let trustBoolean: Set<String> = ["trust-on-first-use", "json"]
/// Options of commands that change trust data (or only show it): `--allow-expired` lets them build on
/// expired metadata this machine already trusted. Never accepted by `verify` or `pull`.
let publishingBoolean: Set<String> = trustBoolean.union(["allow-expired", "no-retry"])

/// Registry options from simple arguments (same meaning as for pull and push).
func registryOptions(_ args: Args) throws -> RegistryOptions { try RegistryOptions(args) }

/// Trust options from the environment. `SIGNET_UNSAFE_NOW` (seconds since the epoch) replaces the
/// system clock in test builds only: it defeats expiry (freeze-attack) protection.
func trustOptions(as identity: String? = nil) throws -> TrustOptions {
    // Pinned roots are kept in the home: one another user can change is refused.
    for directory in [Keyring.defaultHome, Keyring.defaultHome + "/trust", Keyring.defaultHome + "/dct"] {
        try AtomicFile.checkOwnDirectory(directory)
    }
    var o = TrustOptions(home: Keyring.defaultHome)
    if let text = testSwitch("SIGNET_UNSAFE_NOW") {
        guard let now = Int64(text) else { throw UsageError("SIGNET_UNSAFE_NOW must be seconds since the epoch, got \"\(text)\"") }
        o.clock = { now }
    }
    if let identity {
        let parsed = try ImageReference(parsing: identity)
        guard parsed.tag == nil, parsed.digest == nil else { throw UsageError("--as takes a repository (REGISTRY/NAME), not \"\(identity)\"") }
        o.expectedIdentity = parsed.name
    }
    return o
}

/// Prints what trust operations report: pins and expired metadata always, every TUF step with
/// `SIGNET_VERBOSE=1`.
func trustEventPrinter() -> (TrustEvent) -> Void {
    let verbose = Environment.value("SIGNET_VERBOSE") == "1"
    return { event in
        switch event {
        case .pinned(let repository, let root, let directory, let tofu, let original):
            if let original {
                note("signet: pinned the root this machine trusts for \(original) (\(root)) for its copy \(repository) in \(directory)")
            } else {
                note(tofu ? "signet: trust on first use: pinned the registry's root (\(root)) for \(repository) in \(directory)"
                          : "signet: pinned the given root (\(root)) for \(repository) in \(directory)")
            }
        case .pinKept(let repository, let given, let pinned):
            if verbose { note("signet: the root given is version \(given) of \(repository)'s chain; the pinned root (version \(pinned)) stays") }
        case .expiredAccepted(let repository, let role, let version, let expires):
            note("signet: warning: \(role) of \(repository) (version \(version)) expired at \(expires); accepted as the command or the policy allows (signatures, versions and hashes were verified)")
        case .updater(let e):
            if verbose { note("signet: \(e.description)") }
        case .tagMoved(let tag, let from, let to):
            note("signet: \(tag) was signed for \(from); it is now signed for \(to)")
        case .notary(let e):
            switch e {
            case .delegationSkipped: note("signet: warning: \(e.description)")
            default: if verbose { note("signet: \(e.description)") }
            }
        case .fetchingAhead(let repository, let files):
            if verbose { note("signet: fetching ahead from \(repository): \(files.sorted().joined(separator: ", "))") }
        case .newKeysKept(let repository, let keyIDs):
            note("signet: the new key\(keyIDs.count == 1 ? "" : "s") \(keyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")) stay\(keyIDs.count == 1 ? "s" : "") in the key store: "
                 + "the trust data of \(repository) naming \(keyIDs.count == 1 ? "it" : "them") was sent to the registry and may be the current state "
                 + "(`signet inspect \(repository)` shows which keys it names)")
        case .waitingChangeIgnored(let repository, let reason):
            note("signet: warning: the change waiting under the staged tag of \(repository) is ignored: \(reason) "
                 + "(`signet trust staged \(repository)` shows it; `signet trust discard-staged \(repository)` removes it)")
        }
    }
}

/// Everything a trust command needs for one repository.
struct TrustContext {
    let reference: ImageReference
    let trust: RegistryTrust
    let keyring: Keyring
    var passphrases: Passphrases
    let root: RootChoice
    let allowExpired: Bool
    let noRetry: Bool
    /// The machine's trust policy and the rule for this repository, if any.
    let policy: TrustPolicy?
    let policyRule: TrustPolicy.Rule?

    /// - Note: `--allow-expired` is read only where the command accepts it (never `verify` or `pull`).
    init(_ args: Args, referenceIndex: Int = 0, reference given: ImageReference? = nil) throws {
        let ref = try given ?? ImageReference(parsing: try args.positional(referenceIndex, "image reference"))
        reference = ref
        policy = try TrustPolicy.load(file: args.value("policy"), home: Keyring.defaultHome)
        policyRule = policy?.rule(for: ref.name)
        let client = try registryOptions(args).makeClient(for: ref)
        trust = RegistryTrust(reference: ref, client: client, options: try trustOptions(as: args.value("as") ?? policyRule?.sameAs), events: trustEventPrinter())
        keyring = try openKeyring()
        passphrases = Passphrases(file: args.value("passphrase-file"))
        try args.checkOneRootChoice()
        var choice = RootChoice(trustOnFirstUse: args.flag("trust-on-first-use"))
        if let file = args.value("root") ?? policyRule?.roots.first { choice.given = try RootChoice.file(file).given }
        root = choice
        allowExpired = args.flag("allow-expired")
        noRetry = args.flag("no-retry")
    }

    mutating func publisher() -> TrustPublisher {
        var p = passphrases
        let ring = keyring
        let pub = TrustPublisher(trust: trust, keyring: keyring) { entry, root in
            try signingKey(entry, ring: ring, root: root, passphrases: &p)
        }
        pub.root = root
        pub.allowExpired = allowExpired
        configureRetries(pub, noRetry: noRetry, repository: reference.name)
        passphrases = p
        return pub
    }

    /// Verifies the repository's trust data from the pinned (or chosen) root.
    func refresh() throws -> TrustState {
        if allowExpired { return try trust.refresh(root, expired: .allowIfSeen) }
        if let days = policyRule?.exportValidityDays { return try trust.refresh(root, expired: .timestampGrace(seconds: Int64(days) * 86400)) }
        return try trust.refresh(root, expired: .refuse)
    }
}

/// Retries of a publish that lost a race with another publisher: said on stderr, or none with --no-retry.
func configureRetries(_ publisher: TrustPublisher, noRetry: Bool, repository: String) {
    publisher.retries = noRetry ? 0 : 2
    publisher.onRetry = { attempt, all in
        note("signet: another publisher changed the trust data of \(repository) first; making the change again on the new state (attempt \(attempt) of \(all))")
    }
}

/// Prints the outcome of a trust change; a staged change is exit status 1 with the missing thresholds named.
/// With `json`, prints `{"published", "staged", "repository", "missing": [{role, have, need, mayStillSign}]}`
/// plus `extra` (what the command did: tag and digest, key IDs, …).
func reportTrustChange(_ outcome: PublishOutcome, _ what: String, _ ref: ImageReference, json: Bool, extra: [String: Any] = [:]) -> Int32 {
    switch outcome {
    case .published:
        if json { printJSON(extra.merging(["published": true, "staged": false, "repository": ref.name]) { $1 }) } else { print("\(what): trust data of \(ref.name) published") }
        return 0
    case .staged(let change):
        let missing = change.shortfalls
        if json { printJSON(extra.merging(["published": false, "staged": true, "repository": ref.name, "missing": shortfallsJSON(missing)]) { $1 }) }
        note("signet: \(what): not published: \(missing.map(\.description).joined(separator: "; "))\nThe change, with this key store's signatures, waits in the registry (tag _tuf-staged); other signers review it with `signet trust staged \(ref.name)` and add their signatures with `signet trust sign-staged \(ref.name)`.")
        return 1
    }
}

let trustUsage = """
usage: signet trust init REF [--root-key ID ...] [--signer-key ID ...] [--signer-threshold N] [--expiry ROLE=DURATION ...]
                        [--immutable-tags] [--start-over] [--json]
       signet trust pin REF --root ROOT_FILE [--replace]   pin a root (after the trust data verified with it)
       signet trust expiry REF ROLE=DURATION ...            set the lifetime roles are signed with (re-signs them)
       signet trust renew REF ROLE ...                      renew roles now (those needing other signatures are staged)
       signet trust restore REF [--json]                    publish again the last state this machine verified, when
                                                            the trust tag was deleted or overwritten
       signet trust staged REF [--json]                     show the change waiting for signatures: what it changes, who signed
       signet trust sign-staged REF [--yes]                 review, then add this machine's signatures to the waiting change
       signet trust discard-staged REF                      drop the waiting change (needs a root, targets or signer key)
       signet trust status REF [--json]
Common options: --root ROOT_FILE (pin this root when nothing is pinned; otherwise it must be a version of
the pinned root), --trust-on-first-use, --as ORIGINAL_REPO (verify a copy in a mirror as the original),
--allow-expired (build on expired metadata this machine already trusted), --no-retry (fail instead of
making the change again when another publisher published first), --passphrase-file FILE,
registry options --username USER --password-stdin, --tls, --unsafe-plain-http, --ca-file FILE.

`trust init` creates root, targets, snapshot and timestamp keys and a `releases` delegation for tag
signers (generating Ed25519 keys in $SIGNET_HOME/keys unless key IDs are given), publishes the trust
data into the repository under the tag _tuf, and pins its root locally. Give the printed root file to
everyone who verifies (`signet verify --root FILE REF`).
A waiting change is signed only after it is shown and confirmed (on a terminal, or with --yes); the roles
it re-signs must be as it found them. While it waits, renewals and changes to other roles go ahead.
--immutable-tags stores the trust data under tags that never move (_tuf, then _tuf.2, _tuf.3, …; waiting
changes under _tuf-staged.1, …) for registries with immutable tags; clients detect it (docs/tuf-on-oci.md).
Lifetimes (DURATION: 7d, 12h, 26w, 1y …; default root 1y, targets and releases 90d, snapshot 30d,
timestamp 7d) are recorded in each role, so every machine that re-signs it keeps them.
"""

/// Asks on the terminal; false when not interactive.
func confirm(_ question: String) -> Bool {
    guard isatty(STDIN_FILENO) == 1 else { return false }
    writeStandardError((question + " [y/N] ").utf8)
    var line: [UInt8] = []
    var c: UInt8 = 0
    while read(STDIN_FILENO, &c, 1) == 1, c != 0x0a, line.count < 64 { line.append(c) }
    let answer = String(decoding: line, as: UTF8.self).trimmingWhitespace(keepingNewlines: true).lowercased()
    return answer == "y" || answer == "yes"
}

/// Prints a review of a staged change (human, to stderr when `toStderr`, or JSON to stdout).
func printReview(_ review: ChangeReview, reference: ImageReference, json: Bool, toStderr: Bool = false) {
    if json {
        var o = review.json.objectValue ?? JSONObject()
        o["repository"] = .string(reference.name)
        printJSONValue(.object(o))
        return
    }
    let text = (["Change waiting for signatures in \(reference.name) (made on root version \(review.base.root.version)"
                 + (review.base.source.map { ", \($0)" } ?? "") + "):"] + review.lines().map { "  " + $0 }).joined(separator: "\n")
    if toStderr { note(text) } else { print(text) }
}

/// `signet trust …`
func runTrustCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(trustUsage); return 2 }
        printHelp(trustUsage)
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued).union(["root-key", "signer-key", "signer-threshold", "expiry", "expiry-warning"]),
                        boolean: registryBoolean.union(publishingBoolean).union(["help", "yes", "replace", "start-over", "immutable-tags"]))
    if args.flag("help") { printHelp(trustUsage); return 0 }
    if sub == "pin" {
        guard let file = args.value("root") else { throw UsageError("trust pin needs --root ROOT_FILE") }
        let ref = try ImageReference(parsing: try args.positional(0, "image reference"))
        try args.expectPositionals(1)
        let client = try registryOptions(args).makeClient(for: ref)
        let trust = RegistryTrust(reference: ref, client: client, options: try trustOptions(as: args.value("as")), events: trustEventPrinter())
        guard let given = try RootChoice.file(file).given else { throw UsageError("cannot read \(file)") }
        let wasPinned = trust.isPinned
        let replaced = try trust.replacePin(with: given, replace: args.flag("replace"))
        if let replaced {
            print("pinned \(file) (\(RootPin.describe(given.bytes))) for \(ref.name), replacing the root pinned before (\(replaced))")
        } else if wasPinned {
            print("\(file) is a version of the root already pinned for \(ref.name); the pin stays (pass --replace to replace it)")
        } else {
            print("pinned \(file) (\(RootPin.describe(given.bytes))) for \(ref.name)")
        }
        return 0
    }
    var ctx = try TrustContext(args)
    switch sub {
    case "expiry":
        let lifetimes = try parseLifetimes(Array(args.positionals.dropFirst()))
        guard !lifetimes.isEmpty else { throw UsageError("trust expiry needs ROLE=DURATION (for example timestamp=7d targets=180d)") }
        return reportTrustChange(try ctx.publisher().setLifetimes(lifetimes),
                                 "set lifetimes (" + lifetimes.map { "\($0.role) \(ExpiryNotice.duration($0.seconds))" }.joined(separator: ", ") + ")",
                                 ctx.reference, json: args.flag("json"))
    case "renew":
        let roles = Array(args.positionals.dropFirst())
        guard !roles.isEmpty else { throw UsageError("trust renew needs the roles to renew (root, targets, releases, …); snapshot and timestamp are renewed by `signet timestamp renew`") }
        return reportTrustChange(try ctx.publisher().renew(roles: roles), "renew " + roles.joined(separator: ", "), ctx.reference, json: args.flag("json"),
                                 extra: ["renewed": roles])
    default: break
    }
    try args.expectPositionals(1)
    switch sub {
    case "init":
        var keys: [String: [String]] = [:]
        if !args.values("root-key").isEmpty { keys["root"] = args.values("root-key") }
        if !args.values("signer-key").isEmpty { keys[TrustPublisher.releasesRole] = args.values("signer-key") }
        var thresholds: [String: Int] = [:]
        if let t = try args.int("signer-threshold") { thresholds[TrustPublisher.releasesRole] = t }
        let lifetimes = try parseLifetimes(args.values("expiry"))
        // Checked before any key is made (and any passphrase asked for).
        for (role, seconds) in lifetimes {
            let roles = Root.topLevelRoles + [TrustPublisher.releasesRole]
            guard roles.contains(role) else { throw UsageError("--expiry \(role)=…: unknown role (expected one of \(roles.joined(separator: ", ")))") }
            guard RepositoryEditor.lifetimeBounds.contains(seconds) else { throw UsageError("--expiry \(role)=…: a lifetime must be between 1 hour and 10 years") }
        }
        var p = ctx.passphrases
        let result = try ctx.publisher().initialize(keys: keys, thresholds: thresholds, lifetimes: lifetimes, startOver: args.flag("start-over"),
                                                    storage: args.flag("immutable-tags") ? .versioned : .normal) { role in
            try p.get(root: role == "root", role: role, what: "the new \(role) key", confirm: true)
        }
        if args.flag("json") {
            printJSON(["repository": ctx.reference.name, "rootKeyIDs": result.rootKeyIDs, "rootFile": result.rootFile, "signerKeyIDs": result.signerKeyIDs,
                       "rootBesideOnlineKeys": result.rootBesideOnlineKeys])
        } else {
            print("trust data for \(ctx.reference.name) published (tag _tuf)")
            print("root key ID: \(result.rootKeyIDs.joined(separator: ", "))")
            print("root file to pin on clients: \(result.rootFile)")
            print("release signer key: \(result.signerKeyIDs.joined(separator: ", "))")
        }
        if result.rootBesideOnlineKeys {
            note("signet: note: the root key is in the same key store (\(ctx.keyring.directory)) as the snapshot and timestamp keys that a scheduled job uses; for production keep root offline (README, \"Keeping the root key offline\")")
        }
        return 0
    case "staged":
        guard let (_, review) = try ctx.publisher().stagedChange() else {
            if args.flag("json") { printJSON(["repository": ctx.reference.name, "staged": false]) } else { print("no change is waiting for signatures in \(ctx.reference.name)") }
            return 0
        }
        printReview(review, reference: ctx.reference, json: args.flag("json"))
        return 0
    case "sign-staged":
        let json = args.flag("json")
        let outcome = try ctx.publisher().signStaged { review in
            printReview(review, reference: ctx.reference, json: false, toStderr: true)
            if args.flag("yes") { return true }
            return confirm(review.changesRoot ? "This changes root (the keys everyone trusts). Sign it?" : "Sign this change?")
        }
        return reportTrustChange(outcome, "signing the staged change", ctx.reference, json: json)
    case "restore":
        let restored = try ctx.publisher().restore()
        if args.flag("json") {
            printJSON(["repository": ctx.reference.name, "restored": true, "timestampVersion": Int(restored.timestampVersion),
                       "snapshotVersion": Int(restored.snapshotVersion), "replaced": orNull(restored.replaced?.ociString),
                       "renewed": restored.renewal != nil])
        } else {
            print("restored the trust data of \(ctx.reference.name) this machine verified last (snapshot version \(restored.snapshotVersion), timestamp version \(restored.timestampVersion))"
                  + (restored.replaced.map { "; the trust tag held \($0)" } ?? "; the trust tag was missing"))
            if restored.renewal != nil { print("snapshot and timestamp were renewed") }
        }
        return 0
    case "discard-staged":
        try ctx.publisher().discardStaged()
        if args.flag("json") { printJSON(["repository": ctx.reference.name, "discarded": true]) }
        else { print("the change waiting for signatures in \(ctx.reference.name) was dropped") }
        return 0
    case "status":
        return try printInspection(ctx, json: args.flag("json"), windows: try expiryWindows(args))
    default:
        throw UsageError("unknown trust command \"\(sub)\"" + (nearest(sub, among: ["init", "pin", "expiry", "renew", "restore", "staged", "sign-staged", "discard-staged", "status"]).map { " (did you mean `signet trust \($0)`?)" } ?? "") + "\n\(trustUsage)")
    }
}

// MARK: sign, revoke, verify, inspect, signer, timestamp

let signUsage = """
usage: signet sign REF:TAG[@sha256:DIGEST] [--replace] [--json]
                                    sign TAG for DIGEST (which must be in the registry; the registry's
                                    tag is moved to it once the signature is published), or without a
                                    digest for the manifest the registry's tag names now
       signet revoke REF:TAG[@sha256:DIGEST] [--json]
                                    remove the signature of TAG (with a digest, only if TAG is signed
                                    for it)
A tag already signed for another digest is re-signed only with --replace.
Options: --root ROOT_FILE, --passphrase-file FILE, --allow-expired, registry options (see `signet trust --help`).
"""

func runSignCommand(_ arguments: [String], revoke: Bool) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued), boolean: registryBoolean.union(publishingBoolean).union(["help", "replace"]))
    if args.flag("help") { printHelp(signUsage); return 0 }
    var ctx = try TrustContext(args)
    try args.expectPositionals(1)
    guard let tag = ctx.reference.tag else { throw UsageError("\(ctx.reference) names no tag to \(revoke ? "revoke" : "sign") (REPO:TAG or REPO:TAG@sha256:…)") }
    let publisher = ctx.publisher()
    if revoke && args.flag("replace") { throw UsageError("--replace is an option of `signet sign`; revoke takes none") }
    if revoke {
        return reportTrustChange(try publisher.revoke(tag: tag, digest: ctx.reference.digest), "revoke \(tag)", ctx.reference, json: args.flag("json"), extra: ["tag": tag, "revoked": true])
    }
    let result = try publisher.sign(tag: tag, digest: ctx.reference.digest, replace: args.flag("replace"))
    // Signed by digest: the registry's tag is moved to that manifest when it names another (or none), so
    // that clients, which compare the registry's tag with the signed digest, do not report it as moved.
    var published = true
    if case .changed(.staged, _, _) = result { published = false }
    if published, let given = ctx.reference.digest {
        alignRegistryTag(ctx, tag: tag, digest: given)
    }
    switch result {
    case .alreadySigned(let digest):
        if args.flag("json") {
            printJSON(["published": false, "staged": false, "repository": ctx.reference.name, "tag": tag, "digest": digest.ociString,
                       "reference": "\(ctx.reference.name)@\(digest.ociString)", "alreadySigned": true])
        }
        else { print("\(ctx.reference.name):\(tag) is already signed for \(digest); nothing to do") }
        return 0
    case .changed(let outcome, let digest, let replaced):
        if let replaced { note("signet: \(tag) was signed for \(replaced); it is now signed for \(digest)") }
        var extra: [String: Any] = ["tag": tag, "digest": digest.ociString, "reference": "\(ctx.reference.name)@\(digest.ociString)"]
        if let replaced { extra["replaced"] = replaced.ociString }
        let code = reportTrustChange(outcome, "sign \(tag)", ctx.reference, json: args.flag("json"), extra: extra)
        if code == 0 && !args.flag("json") { print("\(ctx.reference.name):\(tag) -> \(digest)") }
        return code
    }
}

/// Puts the manifest `digest` under `tag` in the registry when the tag names another manifest or none,
/// and says so; a registry that refuses (immutable tags) is reported, not an error: the signature is
/// published either way.
func alignRegistryTag(_ ctx: TrustContext, tag: String, digest: Digest) {
    let client = ctx.trust.client, repository = ctx.reference.repository
    do {
        if let head = try client.headManifest(repository: repository, reference: tag), head.claimedDigest == digest.ociString { return }
        let fetched = try client.fetchManifest(repository: repository, reference: digest.ociString, what: "manifest \(ctx.reference.name)@\(digest)")
        // Only the manifest the digest names goes under the tag, with the media type its bytes carry.
        let manifest = try VerifiedManifest.verify(fetched.bytes, expectedDigest: digest, declaredMediaType: fetched.contentType,
                                                   what: "manifest \(ctx.reference.name)@\(digest)")
        _ = try client.putManifest(repository: repository, reference: tag, bytes: fetched.bytes, mediaType: manifest.mediaType)
        note("signet: the registry's tag \(tag) now names \(digest), as signed")
    } catch {
        note("signet: warning: the registry's tag \(tag) could not be moved to \(digest) (\(error)); clients that check the registry's tag report it as moved until it names \(digest)")
    }
}

let verifyUsage = """
usage: signet verify REF:TAG[@sha256:DIGEST] [--deep] [--root ROOT_FILE | --trust-on-first-use] [--as ORIGINAL_REPO] [--json]
       signet verify REF@sha256:DIGEST [--tag TAG] [...]   a digest (as deployments carry it): it must be the
                                                        signed digest of some tag (of TAG with --tag); the tags are named
       signet verify --layout DIR [REF] [--root ROOT_FILE] [--as ORIGINAL_REPO]
Refreshes the repository's trust data, resolves the tag, fetches and checks the manifest and prints
the pinned reference REF@sha256:… to use in deployments (exit 0), or explains and exits 1.
--deep also streams and checks every blob without storing it. The registry's tag must still point to
the signed manifest (--ignore-registry-tag skips that check and only reports the signed digest).
--layout verifies a layout written by `signet pull` offline: its trust metadata is verified from the
root pinned on this machine for the repository (or --root when nothing is pinned), never from a root
stored in the layout, and must name the repository.
--as ORIGINAL_REPO verifies a copy (a mirror) with the trust data of the original repository.
--policy FILE: the trust policy (default $SIGNET_HOME/policy.json, else /etc/signet/policy.json;
docs/policy.md): it may reject the reference, supply its root and mirror mapping, and require signers.
Trust data that expires soon is reported on stderr (and under "warnings" with --json): within 2 days for
timestamp and snapshot, 14 days for other roles (--expiry-warning ONLINE[,OTHER], e.g. 1d,30d, or
SIGNET_EXPIRY_WARNING).
"""

/// Expiry warning windows: `--expiry-warning ONLINE[,OTHER]` or `SIGNET_EXPIRY_WARNING` (durations such as
/// `2d,14d`, the defaults): how close to expiry timestamp/snapshot and the other roles may be before a warning.
func expiryWindows(_ args: Args) throws -> ExpiryWindows {
    var w = ExpiryWindows()
    guard let text = args.value("expiry-warning") ?? Environment.nonEmpty("SIGNET_EXPIRY_WARNING"), !text.isEmpty else { return w }
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard parts.count <= 2 else { throw UsageError("--expiry-warning takes ONLINE[,OTHER] durations (for example 2d,14d), got \"\(text)\"") }
    w.online = try parseDuration(parts[0], what: "the expiry warning window for timestamp and snapshot")
    if parts.count == 2 { w.other = try parseDuration(parts[1], what: "the expiry warning window for other roles") }
    return w
}

/// Warns on stderr about each notice; returns them as JSON objects for `--json` output.
func reportExpiry(_ notices: [ExpiryNotice]) -> [[String: Any]] {
    for n in notices { note("signet: warning: \(n.description)") }
    return notices.map { ["role": $0.role, "expires": $0.expires, "secondsLeft": Int($0.secondsLeft), "expired": $0.expired, "fix": $0.fix] }
}

func runVerifyCommand(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["layout", "platform", "expiry-warning", "tag"]),
                        boolean: registryBoolean.union(trustBoolean).union(["deep", "help", "all-platforms", "ignore-registry-tag"]))
    if args.flag("help") { printHelp(verifyUsage, [.registry, .trust]); return 0 }
    let windows = try expiryWindows(args)   // checked before anything is fetched
    if let layout = args.value("layout") {
        try args.expectPositionals(1)
        let ref = try args.positionals.first.map { try ImageReference(parsing: $0) }
        let root = try args.value("root").map { try RootChoice.file($0) } ?? RootChoice()
        let result = try LayoutVerifier.verify(layout: layout, reference: ref, options: try trustOptions(as: args.value("as")), root: root)
        if args.flag("json") {
            printJSON(["reference": result.reference, "repository": result.repository, "tag": result.tag, "digest": result.digest.ociString, "checked": result.checked])
        } else {
            print(result.reference)
            note("verified \(result.checked) manifests and blobs in \(layout) against its trust metadata, from the root pinned for \(result.repository)")
        }
        return 0
    }
    let ctx = try TrustContext(args)
    try args.expectPositionals(1)
    if try policyAllowsUnsigned(ctx) {
        let fetched = try ctx.trust.client.fetchManifest(repository: ctx.reference.repository, reference: ctx.reference.digest?.ociString ?? ctx.reference.tagOrDefault,
                                                         what: "manifest \(ctx.reference)")
        let digest = try SHA256.hash(fetched.bytes)
        if let wanted = ctx.reference.digest, wanted != digest { throw TrustError.oci(.digestMismatch(what: "manifest \(ctx.reference)", expected: wanted.ociString, received: digest.ociString)) }
        note("signet: warning: \(ctx.reference.name) has no trust data; the policy (\(ctx.policy?.source ?? "")) allows it unsigned: NOT verified")
        if args.flag("json") { printJSON(["reference": "\(ctx.reference.name)@\(digest.ociString)", "digest": digest.ociString, "signed": false]) }
        else { print("\(ctx.reference.name)@\(digest.ociString)") }
        return 0
    }
    if ctx.reference.tag == nil, let digest = ctx.reference.digest {
        return try verifyDigest(ctx, digest: digest, args: args, windows: windows)
    }
    guard let tag = ctx.reference.tag else { throw UsageError("\(ctx.reference) names no tag or digest to verify") }
    // With a digest the registry's tag is not used (the manifest is fetched by digest), so it is not
    // checked either: a tag moved by whoever can push does not stop a reference pinned by digest.
    let checkRegistryTag = !args.flag("ignore-registry-tag") && ctx.reference.digest == nil
    // The registry's tag is read while the trust data is refreshed: the two round trips overlap, and
    // what the tag names is only compared with the signed digest once that is known.
    let tagRead = checkRegistryTag ? ctx.trust.startTagRead(tag) : nil
    ctx.trust.tagsToResolve = [tag]
    let state = try ctx.refresh()
    let verified = try ctx.trust.verifyTag(tag, state: state, pinnedDigest: ctx.reference.digest, checkRegistryTag: checkRegistryTag, tagRead: tagRead)
    let target = verified.target
    try ctx.policyRule?.check(ctx.trust, state: state, target: target)
    if args.flag("deep") {
        let puller = ImagePuller(client: ctx.trust.client)
        _ = try puller.pull(ctx.reference.with(digest: target.digest), trust: .digest(target.digest, size: target.length), to: .verifyOnly,
                            options: PullOptions(platforms: args.flag("all-platforms") ? .all : .host))
    }
    let pinnedRef = "\(ctx.reference.name)@\(target.digest.ociString)"
    let warnings = reportExpiry(ExpiryNotice.notices(state.updater.trusted, repository: ctx.reference.name, original: ctx.trust.identity, now: ctx.trust.options.clock(),
                                                     windows: windows))
    if args.flag("json") {
        printJSON(["reference": pinnedRef, "tag": tag, "digest": target.digest.ociString, "size": Int(target.length), "mediaType": verified.manifest.mediaType,
                   "deep": args.flag("deep"), "warnings": warnings])
    } else {
        print(pinnedRef)
    }
    return 0
}

/// Applies the policy's decision before anything is verified: refuses a rejected reference; returns
/// true when the policy allows the repository unsigned and it has no trust data (nothing to verify).
func policyAllowsUnsigned(_ ctx: TrustContext) throws -> Bool {
    guard let policy = ctx.policy else { return false }
    let rule = ctx.policyRule
    switch rule?.decision ?? policy.defaultDecision {
    case .reject:
        throw TrustError.policy("\(policy.source) rejects \(ctx.reference.name) (" + (rule.map { "rule \"\($0.pattern)\"" } ?? "the default") + ")")
    case .requireSigned:
        return false
    case .allowUnsigned:
        // A copy verified as its original (--as, sameAs) carries signed content: never unsigned.
        if ctx.trust.isPinned || ctx.trust.options.expectedIdentity != nil { return false }
        return try ctx.trust.trustTagContent() == nil
    }
}

/// `signet verify REPO@sha256:D`: D must be the signed digest of some tag (or of `--tag T`).
func verifyDigest(_ ctx: TrustContext, digest: Digest, args: Args, windows: ExpiryWindows) throws -> Int32 {
    let state = try ctx.refresh()
    var signed = try ctx.trust.tags(signing: digest, state: state)
    if let wanted = args.value("tag") {
        signed = signed.filter { $0.tag == wanted }
        guard !signed.isEmpty else {
            throw TrustError.manifestMismatch("\(digest) is not the signed digest of tag \(wanted) in \(ctx.reference.name)")
        }
    }
    guard let target = signed.first else {
        throw TrustError.unsignedTag(tag: digest.ociString, repository: "\(ctx.reference.name) (no signed tag names this digest)")
    }
    if let rule = ctx.policyRule {
        // At least one tag signing the digest must meet the policy's demands.
        var lastError: TrustError?
        var met = false
        for t in signed {
            do { try rule.check(ctx.trust, state: state, target: t); met = true; break } catch { lastError = error }
        }
        if !met, let lastError { throw lastError }
    }
    let manifest = try ctx.trust.fetchVerifiedManifest(target)
    if args.flag("deep") {
        _ = try ImagePuller(client: ctx.trust.client).pull(ctx.reference.with(digest: digest), trust: .digest(digest, size: target.length), to: .verifyOnly,
                                                           options: PullOptions(platforms: args.flag("all-platforms") ? .all : .host))
    }
    let pinnedRef = "\(ctx.reference.name)@\(digest.ociString)"
    let warnings = reportExpiry(ExpiryNotice.notices(state.updater.trusted, repository: ctx.reference.name, original: ctx.trust.identity, now: ctx.trust.options.clock(),
                                                     windows: windows))
    if args.flag("json") {
        printJSON(["reference": pinnedRef, "tag": target.tag, "tags": signed.map(\.tag), "digest": digest.ociString, "size": Int(target.length),
                   "mediaType": manifest.mediaType, "deep": args.flag("deep"), "warnings": warnings])
    } else {
        print(pinnedRef)
        note("signed as \(signed.map(\.tag).joined(separator: ", ")) in \(ctx.reference.name)")
    }
    return 0
}

let inspectUsage = """
usage: signet inspect REF [--root ROOT_FILE | --trust-on-first-use] [--as ORIGINAL_REPO] [--expiry-warning ONLINE[,OTHER]] [--json]
Shows the signed tags with digests, the signers and thresholds, each role's expiry, time left and
lifetime, the root key IDs, roles that need renewing soon, and whether a change waits for signatures.
Expired trust data is still shown (signatures checked, marked EXPIRED, nothing stored).
"""

func runInspectCommand(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["expiry-warning"]),
                        boolean: registryBoolean.union(publishingBoolean).union(["help"]))
    if args.flag("help") { printHelp(inspectUsage, [.registry, .trust]); return 0 }
    let ctx = try TrustContext(args)
    try args.expectPositionals(1)
    return try printInspection(ctx, json: args.flag("json"), windows: try expiryWindows(args))
}

/// Refreshes for display: verified as usual; when only expiry stands in the way, the trust data is shown
/// anyway (marked expired), verified in every other way, and nothing is stored or pinned.
func refreshForDisplay(_ ctx: TrustContext) throws -> (TrustState, expired: Bool) {
    do {
        return (try ctx.refresh(), false)
    } catch TrustError.expired(let repository, let role, let expires, _) {
        note("signet: warning: the \(role) metadata of \(repository) expired at \(expires); showing the trust data as it is (signatures checked, nothing stored)")
        return (try ctx.trust.refresh(ctx.root, expired: .unsafeAllowAny, persist: false), true)
    }
}

func printInspection(_ ctx: TrustContext, json: Bool, windows: ExpiryWindows = ExpiryWindows()) throws -> Int32 {
    let (state, _) = try refreshForDisplay(ctx)
    let updater = state.updater
    let set = updater.trusted
    let now = ctx.trust.options.clock()
    let defaults = Expiries()
    struct Row {
        let role: String, version: Int64, expires: String, expiresAt: Int64, threshold: Int, keyIDs: [String], lifetime: Int64, lifetimeRecorded: Bool
    }
    func lifetime(_ unknown: JSONObject, _ role: String) -> (Int64, Bool) {
        if case .integer(let v)? = unknown[RepositoryEditor.lifetimeField], RepositoryEditor.lifetimeBounds.contains(v) { return (v, true) }
        return (defaults.lifetime(of: role), false)
    }
    var tags: [(String, String, Int64, String)] = []
    var rows: [Row] = []
    func add(_ name: String, _ h: Header, _ unknown: JSONObject, _ keys: RoleKeys?) {
        let (l, recorded) = lifetime(unknown, name)
        rows.append(Row(role: name, version: h.version, expires: h.expires, expiresAt: h.expiresAt, threshold: keys?.threshold ?? 0,
                        keyIDs: keys?.keyIDs ?? [], lifetime: l, lifetimeRecorded: recorded))
    }
    func targetsRole(_ name: String, _ m: Metadata<Targets>, keys: RoleKeys?) {
        for path in m.signed.targetPaths {
            if let t = try? m.signed.target(path) { tags.append((path, t.sha256?.ociString ?? "?", t.length, name)) }
        }
        add(name, m.signed.header, m.signed.unknown, keys)
    }
    let root = set.root.signed
    add("root", root.header, root.unknown, root.role("root"))
    if let s = set.snapshot { add("snapshot", s.signed.header, s.signed.unknown, root.role("snapshot")) }
    if let t = set.timestamp { add("timestamp", t.signed.header, t.signed.unknown, root.role("timestamp")) }
    if let t = set.targets { targetsRole("targets", t, keys: root.role("targets")) }
    // Roles delegated by the top-level targets, loaded through the updater so they are verified.
    if let t = set.targets, let d = t.signed.delegations {
        for r in d.roles ?? [] {
            let m = try updater.role(r.name, delegator: "targets")
            targetsRole(r.name, m, keys: r.roleKeys)
            // A role split into hash bins: its tags are in the bins, shown under the role's name; the
            // bins' expiry is reported as the earliest of them.
            if let bins = m.signed.delegations?.succinctRoles {
                var earliest: Header?
                for n in 0..<bins.binCount {
                    let bin = try updater.role(bins.binName(n), delegator: r.name)
                    for path in bin.signed.targetPaths {
                        if let t = try? bin.signed.target(path) { tags.append((path, t.sha256?.ociString ?? "?", t.length, r.name)) }
                    }
                    if earliest.map({ bin.signed.header.expiresAt < $0.expiresAt }) ?? true { earliest = bin.signed.header }
                }
                if let h = earliest {
                    add("\(r.name) (\(bins.binCount) hash bins)", h, m.signed.unknown, RoleKeys(keyIDs: bins.keyIDs, threshold: bins.threshold))
                }
            }
        }
    }
    // Only what a client would accept: a path listed by a role the client's search does not reach for
    // it (outside the delegation's paths, in another hash bin, behind an earlier role) is not shown.
    var shown: Set<String> = []
    tags = tags.filter { tag in
        guard let resolved = try? updater.lookup(tag.0) else { return false }
        return resolved.sha256?.ociString == tag.1 && resolved.length == tag.2 && shown.insert(tag.0).inserted
    }
    let staged = ((try? ctx.trust.fetchIndex(tag: ctx.trust.options.stagedTag)) ?? nil).map { !$0.0.files.isEmpty } ?? false
    let notices = ExpiryNotice.notices(set, repository: ctx.reference.name, original: ctx.trust.identity, now: now, windows: windows)
    if json {
        printJSON(["repository": ctx.reference.name,
                   "tags": tags.map { ["tag": $0.0, "digest": $0.1, "size": Int($0.2), "signedBy": $0.3] as [String: Any] },
                   "roles": rows.map { r in
                       ["role": r.role, "version": Int(r.version), "expires": r.expires, "secondsLeft": Int(r.expiresAt - now), "expired": r.expiresAt <= now,
                        "threshold": r.threshold, "keyIDs": r.keyIDs, "lifetimeSeconds": Int(r.lifetime), "lifetimeRecorded": r.lifetimeRecorded] as [String: Any]
                   },
                   "rootKeyIDs": root.role("root")?.keyIDs ?? [],
                   "stagedChange": staged,
                   "warnings": notices.map { ["role": $0.role, "expires": $0.expires, "secondsLeft": Int($0.secondsLeft), "expired": $0.expired, "fix": $0.fix] as [String: Any] }])
        return 0
    }
    print("Signed tags of \(ctx.reference.name):")
    if tags.isEmpty { print("  (none)") }
    for t in tags.sorted(by: { $0.0 < $1.0 }) {
        print("  " + t.0.padded(to: 24) + t.1 + "  (\(t.2) bytes, role \(t.3))")
    }
    print("\nRoles:")
    print("  ROLE        VERSION  EXPIRES               LEFT              LIFETIME   THRESHOLD  KEYS")
    for r in rows {
        let left = r.expiresAt <= now ? "EXPIRED" : String(ExpiryNotice.relative(r.expiresAt - now).dropFirst(3))
        print("  " + r.role.padded(to: 12) + String(r.version).padded(to: 9)
              + r.expires.padded(to: 22) + left.padded(to: 18)
              + (ExpiryNotice.duration(r.lifetime) + (r.lifetimeRecorded ? "" : "*")).padded(to: 11)
              + "\(r.threshold) of \(r.keyIDs.count)".padded(to: 11)
              + r.keyIDs.map { String($0.prefix(12)) }.joined(separator: ", "))
    }
    print("  (* default lifetime; `signet trust expiry \(ctx.reference.name) ROLE=DURATION` records another)")
    print("\nRoot key IDs: \(root.role("root")?.keyIDs.joined(separator: ", ") ?? "")")
    if !notices.isEmpty {
        print("\nAttention:")
        for n in notices { print("  \(n.description)") }
    }
    if staged { print("\nA change waits for signatures: see `signet trust staged \(ctx.reference.name)`.") }
    return 0
}

let signerUsage = """
usage: signet signer add REF NAME --key PUBKEY     add a tag signer (PUBKEY: key ID in the key store or a PEM public key file)
       signet signer remove REF NAME|KEY_ID [--threshold N]
                                                   remove (revoke) a signer; when fewer signers than the
                                                   threshold would remain, the new threshold must be given
       signet signer threshold REF N               require N signer signatures per change (N of M)
       signet signer list REF
Changes the `releases` delegation; needs the targets key.
"""

func runSignerCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(signerUsage); return 2 }
        printHelp(signerUsage)
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued).union(["key", "threshold"]),
                        boolean: registryBoolean.union(publishingBoolean).union(["help"]))
    if args.flag("help") { printHelp(signerUsage); return 0 }
    var ctx = try TrustContext(args)
    let publisher = ctx.publisher()
    let role = TrustPublisher.releasesRole
    switch sub {
    case "add":
        let name = try args.positional(1, "signer NAME")
        try args.expectPositionals(2)
        guard let keyArg = args.value("key") else { throw UsageError("signer add needs --key PUBKEY") }
        let key: PublicKey
        if FileManager.default.fileExists(atPath: keyArg) {
            let pem = try AtomicFile.readExisting(keyArg, limit: 1 << 20)
            do { key = try PublicKey(pem: String(decoding: pem, as: UTF8.self)) } catch {
                throw FileError.io(path: keyArg, detail: "not a PEM public key (\(error)); export one with `signet key export KEY_ID`")
            }
        } else if keyArg.contains("/") || keyArg.hasSuffix(".pem") {
            throw FileError.io(path: keyArg, detail: "no such file (--key takes a PEM public key file, or the ID of a key in this key store)")
        } else {
            key = try ctx.keyring.find(keyArg).publicKey
        }
        return reportTrustChange(try publisher.addSigner(name: name, key: key), "add signer \(name)", ctx.reference, json: args.flag("json"),
                                 extra: ["signer": name, "keyID": (try? Key(publicKey: key).keyID()) ?? ""])
    case "remove":
        let name = try args.positional(1, "signer NAME")
        try args.expectPositionals(2)
        return reportTrustChange(try publisher.removeSigner(name, threshold: try args.int("threshold")), "remove signer \(name)", ctx.reference, json: args.flag("json"),
                                 extra: ["removed": name])
    case "list":
        try args.expectPositionals(1)
        let state = try ctx.refresh()
        guard let d = state.trusted.targets?.signed.delegations?.roles?.first(where: { $0.name == role }) else {
            throw UsageError("\(ctx.reference.name) has no \(role) delegation")
        }
        var names: [String: String] = [:]
        for m in d.unknown[RepositoryEditor.signerNamesField]?.objectValue ?? JSONObject() { if let id = m.value.stringValue { names[id] = m.key } }
        if args.flag("json") {
            printJSON(["repository": ctx.reference.name, "role": role, "threshold": d.threshold, "signers": d.keyIDs.map { ["keyID": $0, "name": names[$0] ?? ""] }])
        } else {
            print("\(role): \(d.threshold) of \(d.keyIDs.count) signatures required")
            for id in d.keyIDs { print("  \(id)  \(names[id] ?? "(unnamed)")") }
        }
        return 0
    case "threshold":
        let n = try args.positional(1, "threshold N")
        try args.expectPositionals(2)
        guard let t = Int(n) else { throw UsageError("threshold must be a whole number, got \"\(n)\"") }
        return reportTrustChange(try publisher.setSignerThreshold(t), "set signer threshold to \(t)", ctx.reference, json: args.flag("json"), extra: ["threshold": t])
    default:
        throw UsageError("unknown signer command \"\(sub)\"" + (nearest(sub, among: ["add", "remove", "list", "threshold"]).map { " (did you mean `signet signer \($0)`?)" } ?? "") + "\n\(signerUsage)")
    }
}

let timestampUsage = """
usage: signet timestamp renew REF [--within DAYS] [--json]
Re-signs the timestamp and snapshot over the current trust data (for a scheduled job holding the
snapshot and timestamp keys), even while a change waits for signatures. Other roles that expire within
DAYS (default 7) are renewed too when the keys in this key store alone meet their threshold; roles that
need other key holders are never bundled in: they are listed with their expiry and the keys they need.
Renewal exits 0 when nothing else expires within DAYS, and 6 when it renewed but a role expiring within
DAYS needs keys held elsewhere (see the message); other statuses as below.
Expired metadata is renewed only at or above the versions this machine already verified.
"""

func runTimestampCommand(_ arguments: [String]) throws -> Int32 {
    guard arguments.first == "renew" else {
        if arguments.first == "--help" || arguments.first == "-h" { printHelp(timestampUsage); return 0 }
        note(timestampUsage)
        return 2
    }
    let args = try Args(Array(arguments.dropFirst()), valued: registryValued.union(trustValued).union(["within"]),
                        boolean: registryBoolean.union(publishingBoolean).union(["help"]))
    if args.flag("help") { printHelp(timestampUsage); return 0 }
    var ctx = try TrustContext(args)
    try args.expectPositionals(1)
    var days: Int64 = 7
    if let w = args.value("within") {
        guard let d = Int64(w), d >= 0, d <= 3660 else { throw UsageError("--within takes a number of days, got \"\(w)\"") }
        days = d
    }
    let renewal = try ctx.publisher().renew(within: days * 86400)
    let now = try trustOptions().clock()
    let attention = renewal.elsewhere.map { p -> [String: Any] in
        ["role": p.role, "expires": p.expires, "secondsLeft": Int(p.expiresAt - now), "threshold": p.threshold, "keyIDs": p.keyIDs,
         "localKeyIDs": p.localKeyIDs, "reason": p.reason]
    }
    for p in renewal.elsewhere {
        let keys = p.keyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")
        note("signet: attention: \(p.role) of \(ctx.reference.name) \(p.expiresAt <= now ? "expired" : "expires") at \(p.expires) (\(ExpiryNotice.relative(p.expiresAt - now))); it needs \(p.threshold) signature\(p.threshold == 1 ? "" : "s") from keys \(keys); \(p.reason)")
    }
    let what = "renew timestamp, snapshot" + (renewal.renewed.isEmpty ? "" : ", " + renewal.renewed.joined(separator: ", "))
    if let c = renewal.completedWaitingChange, !args.flag("json") {
        print("the change that waited for snapshot and timestamp signatures was published (\(c))")
    }
    switch renewal.outcome {
    case .published:
        if args.flag("json") {
            var o: [String: Any] = ["published": true, "repository": ctx.reference.name, "renewed": ["timestamp", "snapshot"] + renewal.renewed, "attention": attention]
            if let c = renewal.completedWaitingChange { o["completedWaitingChange"] = c }
            printJSON(o)
        } else {
            print("\(what): trust data of \(ctx.reference.name) published")
        }
        return renewal.elsewhere.isEmpty ? 0 : 6
    case .staged:
        return reportTrustChange(renewal.outcome, what, ctx.reference, json: args.flag("json"))
    }
}

/// `signet key rotate REF ROLE`: a new key for ROLE (root, targets, snapshot, timestamp through a new
/// cross-signed root; releases by replacing the signer key).
func runKeyRotate(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["type"]), boolean: registryBoolean.union(publishingBoolean).union(["help"]))
    if args.flag("help") { printHelp(keyUsage, [.registry, .trust]); return 0 }
    var ctx = try TrustContext(args)
    let role = try args.positional(1, "ROLE (root, targets, snapshot, timestamp or releases)")
    try args.expectPositionals(2)
    guard let algorithm = KeyAlgorithm(rawValue: args.value("type") ?? "ed25519"), algorithm != .rsa else { throw UsageError("--type must be ed25519, ecdsa-p256 or ecdsa-p384") }
    var passphrases = ctx.passphrases
    let keyring = ctx.keyring
    let reference = ctx.reference
    let rotation = try ctx.publisher().rotate(role: role) {
        let pass = try passphrases.get(root: role == "root", role: role, what: "the new \(role) key", confirm: true)
        return try keyring.generate(algorithm, passphrase: pass, labels: [("role", role), ("repository", reference.name)])
    }
    let code = reportTrustChange(rotation.outcome, "rotate \(role) key", ctx.reference, json: args.flag("json"),
                                 extra: ["role": role, "newKeyID": rotation.newKey.keyID, "replacedKeyIDs": rotation.replaced])
    if code == 0 && !args.flag("json") { print("new \(role) key: \(rotation.newKey.keyID)") }
    return code
}
