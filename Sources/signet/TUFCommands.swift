import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetJSON
import SignetEditor
import SignetFiles
import SignetKeys
import SignetTUF

let tufUsage = """
usage: signet tuf init DIR [--root-key ID ...] [--targets-key ID ...] [--snapshot-key ID ...] [--timestamp-key ID ...]
                          [--root-threshold N] [--targets-threshold N] [--snapshot-threshold N] [--timestamp-threshold N] [--start-over]
       signet tuf add-target DIR FILE [--path TARGET_PATH] [--role ROLE] [--replace] [--custom JSON]
       signet tuf remove-target DIR TARGET_PATH [--role ROLE]
       signet tuf delegate DIR NAME --key ID [--key ID ...] [--threshold N] [--from ROLE]
                          (--path PATTERN ... | --hash-prefix HEX ... | --bins BITS) [--terminating]
       signet tuf signer DIR ROLE [--add-key ID ...] [--remove-key ID ...] [--threshold N] [--from ROLE]
       signet tuf rotate DIR ROLE --key ID [--key ID ...] [--threshold N]
       signet tuf renew DIR [--role ROLE ...] [--within DAYS]
       signet tuf sign DIR [--yes]
       signet tuf staged DIR [--json]
       signet tuf status DIR [--json]

A repository is a directory with metadata/ and targets/ that any web server can publish (consistent
snapshots). Every change is signed with the matching keys found in the key store and published with
timestamp.json written last. A change that needs signatures from keys not present here is staged in
DIR/staged; other key holders run `signet tuf sign DIR` on a copy of it to add theirs.
`init` without key IDs generates one Ed25519 key per role in the key store, and pins the new root on
this machine. Every other command first verifies the repository with the TUF client workflow from the
root pinned for DIR on this machine (in $SIGNET_HOME/tuf/), so files changed by someone else in DIR are
refused rather than re-signed; for a repository created elsewhere, pass --root ROOT_FILE (or
--trust-on-first-use to trust DIR/metadata/1.root.json). `sign` shows the staged change and signs only
after confirmation (on a terminal, or --yes); the change must have been made on the current state.
Common options: --passphrase-file FILE, --json, --root ROOT_FILE, --trust-on-first-use,
--allow-expired (build on expired metadata this machine already verified; `renew` does so by itself).
"""

/// `signet tuf …`
func runTUFCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(tufUsage); return 2 }
        printHelp(tufUsage, [.passphrases])
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()),
                        valued: ["root-key", "targets-key", "snapshot-key", "timestamp-key", "root-threshold", "targets-threshold",
                                 "snapshot-threshold", "timestamp-threshold", "path", "role", "custom", "key", "threshold", "from",
                                 "hash-prefix", "bins", "add-key", "remove-key", "within", "passphrase-file", "root"],
                        boolean: ["replace", "terminating", "json", "help", "trust-on-first-use", "yes", "allow-expired", "start-over"])
    if args.flag("help") { printHelp(tufUsage, [.passphrases]); return 0 }
    let dir = try args.positional(0, "repository DIR")
    let ring = try openKeyring()
    var passphrases = Passphrases(file: args.value("passphrase-file"))
    let disk = DiskRepository(directory: dir, home: Keyring.defaultHome)
    let clock = try trustOptions().clock

    func publicKeys(_ ids: [String]) throws -> [PublicKey] { try ids.map { try ring.find($0).publicKey } }

    /// Unlocks every key in the store among `wanted`.
    func signers(_ wanted: SigningKeyIDs) throws -> [PrivateKey] {
        var out: [PrivateKey] = []
        for e in try ring.list() where wanted.all.contains(e.keyID) {
            let isRoot = wanted.root.contains(e.keyID) || e.label("role") == "root"
            out.append(try signingKey(e, ring: ring, root: isRoot, passphrases: &passphrases))
        }
        return out
    }

    /// Verifies the repository from this machine's trusted root and builds an editor on it.
    func open(renewal: Bool = false) throws -> RepositoryEditor {
        var anchor = DiskRepository.Anchor.pinned
        if let file = args.value("root") { anchor = .given(try AtomicFile.readExisting(file, limit: UpdaterConfig().rootMaxLength)) }
        else if args.flag("trust-on-first-use") { anchor = .trustOnFirstUse }
        let editor = try disk.open(anchor: anchor, expired: renewal || args.flag("allow-expired") ? .allowIfSeen : .refuse, clock: clock)
        return editor
    }

    func report(_ outcome: PublishOutcome) throws -> Int32 {
        switch outcome {
        case .published(let change):
            try disk.write(change)
            if args.flag("json") { printJSON(["published": true, "files": change.fileNames]) } else { print("published \(change.fileNames.joined(separator: ", "))") }
            return 0
        case .staged(let change):
            try disk.writeStaged(change)
            let missing = change.shortfalls
            let text = missing.map(\.description).joined(separator: "\n  ")
            if args.flag("json") {
                printJSON(["published": false, "staged": true, "missing": shortfallsJSON(missing)])
            }
            note("signet: not published: signature threshold not met:\n  \(text)\nThe change is staged in \(dir)/staged; other key holders review it with `signet tuf staged \(dir)` and add signatures with `signet tuf sign \(dir)`.")
            return 1
        }
    }

    func publish(_ editor: RepositoryEditor) throws -> Int32 {
        if disk.hasStagedChange {
            note("signet: warning: a change staged in \(dir)/staged was made on the state this change replaces; it will have to be made again")
        }
        return try report(try editor.publish(signers: try signers(editor.signingKeyIDs())))
    }

    switch sub {
    case "init":
        try args.expectPositionals(1)
        guard !disk.exists else { throw RepositoryError.alreadyExists(dir) }
        if disk.isPinned {
            // The metadata this machine verified is gone from the directory: a new root would replace the
            // pin (and its rollback floors) silently.
            guard args.flag("start-over") else {
                throw UsageError("\(dir) has no metadata, but this machine pinned a root for it earlier (\(disk.pinDirectory)): its metadata was lost. Restore it (the pinned state is still accepted by its clients), or start over with `signet tuf init \(dir) --start-over`, which makes a new root that clients pinned to the old one refuse")
            }
            try FileManager.default.removeItem(atPath: disk.pinDirectory)
        }
        var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
        // Keys made here are removed again if the repository is not created (nothing names them yet).
        var generated: [KeyringEntry] = []
        let editor: RepositoryEditor
        let signing: [PrivateKey]
        do {
            for role in Root.topLevelRoles {
                var ids = args.values("\(role)-key")
                if ids.isEmpty {
                    let pass = try passphrases.get(root: role == "root", role: role, what: "the new \(role) key", confirm: true)
                    let e = try ring.generate(.ed25519, passphrase: pass, labels: [("role", role), ("repository", disk.directory)])
                    generated.append(e)
                    note("generated \(role) key \(e.keyID)")
                    ids = [e.keyID]
                }
                spec[role] = (try publicKeys(ids), try args.int("\(role)-threshold") ?? 1)
            }
            editor = try RepositoryEditor(creating: spec, clock: clock)
            signing = try signers(editor.signingKeyIDs())
        } catch {
            for e in generated { try? ring.remove(e) }
            throw error
        }
        let outcome = try editor.publish(signers: signing)
        guard case .published(let change) = outcome else { throw RepositoryError.invalidRequest("the keys given do not meet the thresholds") }
        if let first = editor.rootFile(version: 1) { try disk.pin(root: first) }
        let code = try report(.published(change))
        if code == 0 && !args.flag("json") {
            print("root key IDs: \(editor.root.signed.roles["root"]?.keyIDs.joined(separator: ", ") ?? "")")
            print("pin this root in clients: \(dir)/metadata/1.root.json")
        }
        return code
    case "add-target":
        let file = try args.positional(1, "FILE")
        try args.expectPositionals(2)
        let data = try AtomicFile.readExisting(file, limit: 1 << 30)
        let editor = try open()
        var custom: JSONValue?
        if let c = args.value("custom") {
            do { custom = try JSONParser.parse(Array(c.utf8)) } catch { throw UsageError("--custom is not valid JSON: \(error)") }
        }
        let path = args.value("path") ?? AtomicFile.name(of: file)
        var role = args.value("role") ?? "targets"
        if args.value("role") == nil, let bin = editor.hashBin(for: path) { role = bin }
        try editor.addTarget(path: path, content: data, custom: custom, role: role, replace: args.flag("replace"))
        return try publish(editor)
    case "remove-target":
        let path = try args.positional(1, "TARGET_PATH")
        try args.expectPositionals(2)
        let editor = try open()
        var role = args.value("role") ?? "targets"
        if args.value("role") == nil, let bin = editor.hashBin(for: path) { role = bin }
        try editor.removeTarget(path: path, role: role)
        return try publish(editor)
    case "delegate":
        let name = try args.positional(1, "role NAME")
        try args.expectPositionals(2)
        let keys = try publicKeys(args.values("key"))
        guard !keys.isEmpty else { throw UsageError("delegate needs at least one --key") }
        let editor = try open()
        let from = args.value("from") ?? "targets"
        let threshold = try args.int("threshold") ?? 1
        if let bits = try args.int("bins") {
            try editor.delegateHashBins(from: from, namePrefix: name, bitLength: bits, keys: keys, threshold: threshold)
        } else {
            let paths = args.values("path"), prefixes = args.values("hash-prefix")
            guard paths.isEmpty != prefixes.isEmpty else { throw UsageError("give --path patterns or --hash-prefix values (not both), or --bins") }
            try editor.delegate(from: from, name: name, keys: keys, threshold: threshold, paths: paths.isEmpty ? nil : paths,
                                pathHashPrefixes: prefixes.isEmpty ? nil : prefixes, terminating: args.flag("terminating"))
        }
        return try publish(editor)
    case "signer":
        let name = try args.positional(1, "ROLE")
        try args.expectPositionals(2)
        let editor = try open()
        try editor.updateDelegation(from: args.value("from") ?? "targets", name: name, addKeys: try publicKeys(args.values("add-key")),
                                    removeKeyIDs: args.values("remove-key"), threshold: try args.int("threshold"))
        return try publish(editor)
    case "rotate":
        let role = try args.positional(1, "ROLE")
        try args.expectPositionals(2)
        let keys = try publicKeys(args.values("key"))
        guard !keys.isEmpty else { throw UsageError("rotate needs at least one --key (the new keys)") }
        let editor = try open(renewal: true)
        try editor.rotate(role: role, to: keys, threshold: try args.int("threshold") ?? 1)
        return try publish(editor)
    case "renew":
        try args.expectPositionals(1)
        let editor = try open(renewal: true)
        var roles = args.values("role")
        if let days = try args.int("within") { roles += editor.expiringRoles(within: Int64(days) * 86400) }
        if roles.isEmpty { roles = ["timestamp"] }
        for r in Set(roles) { try editor.renew(role: r) }
        return try publish(editor)
    case "staged":
        try args.expectPositionals(1)
        guard let change = try disk.readStaged() else {
            if args.flag("json") { printJSON(["staged": false]) } else { print("no change is staged in \(dir)") }
            return 0
        }
        let review = try open().review(change)
        if args.flag("json") { printJSONValue(review.json) } else { print((["Change staged in \(dir):"] + review.lines().map { "  " + $0 }).joined(separator: "\n")) }
        return 0
    case "sign":
        try args.expectPositionals(1)
        guard let change = try disk.readStaged() else { throw UsageError("nothing is staged in \(dir)/staged") }
        let editor = try open(renewal: args.flag("allow-expired"))
        let review = try editor.review(change)
        note((["Change staged in \(dir):"] + review.lines().map { "  " + $0 }).joined(separator: "\n"))
        guard args.flag("yes") || confirm(review.changesRoot ? "This changes root (the keys everyone trusts). Sign it?" : "Sign this change?") else {
            note("signet: nothing was signed: the change was not confirmed (pass --yes to sign without asking, after reviewing it with `signet tuf staged \(dir)`)")
            return 1
        }
        let keys = try signers(try editor.signingKeyIDs(for: change))
        guard !keys.isEmpty else { throw UsageError("none of the keys in \(ring.directory) may sign the staged change") }
        return try report(try editor.signStaged(change, signers: keys))
    case "status":
        try args.expectPositionals(1)
        let editor = try open(renewal: true)
        let status = editor.status()
        let soon = clock() + 7 * 86400
        if args.flag("json") {
            printJSON(status.map { ["role": $0.name, "version": $0.version, "expires": $0.expires, "keyIDs": $0.keyIDs,
                                    "threshold": $0.threshold, "validSignatures": $0.validSignatures, "thresholdMet": $0.thresholdMet,
                                    "expiresWithinWeek": $0.expiresAt <= soon] as [String: Any] })
        } else {
            print("ROLE".padded(to: 22) + "VERSION  EXPIRES               SIGNED  KEYS")
            for s in status {
                let signed = "\(s.validSignatures)/\(s.threshold)" + (s.thresholdMet ? "" : " !")
                print(s.name.padded(to: 22) + String(s.version).padded(to: 9)
                      + s.expires + "  " + signed.padded(to: 8)
                      + s.keyIDs.map { String($0.prefix(12)) }.joined(separator: ","))
            }
            for s in status where s.expiresAt <= soon {
                note("warning: \(s.name) expires \(s.expires)" + (s.name == "timestamp" ? " (renew it with `signet tuf renew \(dir)`)" : ""))
            }
            if disk.hasStagedChange { note("a change is staged in \(dir)/staged awaiting signatures (`signet tuf staged \(dir)` shows it)") }
        }
        return 0
    default:
        throw UsageError("unknown tuf command \"\(sub)\"" + (nearest(sub, among: tufSubcommands).map { " (did you mean `signet tuf \($0)`?)" } ?? "") + "\n\(tufUsage)")
    }
}

/// The `signet tuf` subcommands (for suggestions).
let tufSubcommands = ["init", "add-target", "remove-target", "delegate", "signer", "rotate", "renew", "staged", "sign", "status"]
