import Foundation
import SignetCrypto
import SignetJSON
import SignetTUF

let tufUsage = """
usage: signet tuf init DIR [--root-key ID ...] [--targets-key ID ...] [--snapshot-key ID ...] [--timestamp-key ID ...]
                          [--root-threshold N] [--targets-threshold N] [--snapshot-threshold N] [--timestamp-threshold N]
       signet tuf add-target DIR FILE [--path TARGET_PATH] [--role ROLE] [--replace] [--custom JSON]
       signet tuf remove-target DIR TARGET_PATH [--role ROLE]
       signet tuf delegate DIR NAME --key ID [--key ID ...] [--threshold N] [--from ROLE]
                          (--path PATTERN ... | --hash-prefix HEX ... | --bins BITS) [--terminating]
       signet tuf signer DIR ROLE [--add-key ID ...] [--remove-key ID ...] [--threshold N] [--from ROLE]
       signet tuf rotate DIR ROLE --key ID [--key ID ...] [--threshold N]
       signet tuf renew DIR [--role ROLE ...] [--within DAYS]
       signet tuf sign DIR
       signet tuf status DIR [--json]

A repository is a directory with metadata/ and targets/ that any web server can publish (consistent
snapshots). Every change is signed with the matching keys found in the key store and published with
timestamp.json written last. A change that needs signatures from keys not present here is staged in
DIR/staged; other key holders run `signet tuf sign DIR` on a copy of it to add theirs.
`init` without key IDs generates one Ed25519 key per role in the key store.
Common options: --passphrase-file FILE, --json.
"""

/// `signet tuf …`
func runTUFCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(tufUsage); return 2 }
        print(tufUsage)
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()),
                        valued: ["root-key", "targets-key", "snapshot-key", "timestamp-key", "root-threshold", "targets-threshold",
                                 "snapshot-threshold", "timestamp-threshold", "path", "role", "custom", "key", "threshold", "from",
                                 "hash-prefix", "bins", "add-key", "remove-key", "within", "passphrase-file"],
                        boolean: ["replace", "terminating", "json", "help"])
    if args.flag("help") { print(tufUsage); return 0 }
    let dir = try args.positional(0, "repository DIR")
    let ring = try openKeyring()
    var passphrases = Passphrases(file: args.value("passphrase-file"))

    func publicKeys(_ ids: [String]) throws -> [PublicKey] { try ids.map { try ring.find($0).publicKey } }

    /// Unlocks every key in the store that `repo` may need to sign the pending change.
    func signers(for repo: Repository) throws -> [PrivateKey] {
        let wanted = repo.signingKeyIDs()
        var out: [PrivateKey] = []
        for e in try ring.list() where wanted.all.contains(e.keyID) {
            let isRoot = wanted.root.contains(e.keyID) || e.label("role") == "root"
            out.append(try ring.unlock(e, passphrase: try passphrases.get(root: isRoot, what: "\(isRoot ? "root" : "signing") key \(e.keyID.prefix(12))")))
        }
        return out
    }

    func report(_ outcome: PublishOutcome) -> Int32 {
        switch outcome {
        case .published(let files):
            if args.flag("json") { printJSON(["published": files]) } else { print("published \(files.joined(separator: ", "))") }
            return 0
        case .staged(let missing):
            let text = missing.map(\.description).joined(separator: "\n  ")
            if args.flag("json") {
                printJSON(["staged": missing.map { ["role": $0.role, "have": $0.have, "need": $0.need, "may_sign": $0.missingKeyIDs] as [String: Any] }])
            }
            note("signet: not published: signature threshold not met:\n  \(text)\nThe change is staged in \(dir)/staged; other key holders add signatures with `signet tuf sign \(dir)`.")
            return 1
        }
    }

    switch sub {
    case "init":
        try args.expectPositionals(1)
        var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
        for role in Root.topLevelRoles {
            var ids = args.values("\(role)-key")
            if ids.isEmpty {
                let pass = try passphrases.get(root: role == "root", what: "the new \(role) key", confirm: true)
                let e = try ring.generate(.ed25519, passphrase: pass, labels: [("role", role), ("repository", dir)])
                note("generated \(role) key \(e.keyID)")
                ids = [e.keyID]
            }
            spec[role] = (try publicKeys(ids), try args.int("\(role)-threshold") ?? 1)
        }
        let repo = try Repository(creating: dir, keys: spec)
        let code = report(try repo.publish(signers: try signers(for: repo)))
        if code == 0 && !args.flag("json") {
            print("root key IDs: \(repo.root.signed.roles["root"]?.keyIDs.joined(separator: ", ") ?? "")")
            print("pin this root in clients: \(dir)/metadata/1.root.json")
        }
        return code
    case "add-target":
        let file = try args.positional(1, "FILE")
        try args.expectPositionals(2)
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError("cannot read \(file)") }
        let repo = try Repository(directory: dir)
        var custom: JSONValue?
        if let c = args.value("custom") {
            do { custom = try JSONParser.parse(Array(c.utf8)) } catch { throw UsageError("--custom is not valid JSON: \(error)") }
        }
        let path = args.value("path") ?? (file as NSString).lastPathComponent
        var role = args.value("role") ?? "targets"
        if args.value("role") == nil, let bin = repo.hashBin(for: path) { role = bin }
        try repo.addTarget(path: path, content: [UInt8](data), custom: custom, role: role, replace: args.flag("replace"))
        return report(try repo.publish(signers: try signers(for: repo)))
    case "remove-target":
        let path = try args.positional(1, "TARGET_PATH")
        try args.expectPositionals(2)
        let repo = try Repository(directory: dir)
        var role = args.value("role") ?? "targets"
        if args.value("role") == nil, let bin = repo.hashBin(for: path) { role = bin }
        try repo.removeTarget(path: path, role: role)
        return report(try repo.publish(signers: try signers(for: repo)))
    case "delegate":
        let name = try args.positional(1, "role NAME")
        try args.expectPositionals(2)
        let keys = try publicKeys(args.values("key"))
        guard !keys.isEmpty else { throw UsageError("delegate needs at least one --key") }
        let repo = try Repository(directory: dir)
        let from = args.value("from") ?? "targets"
        let threshold = try args.int("threshold") ?? 1
        if let bits = try args.int("bins") {
            try repo.delegateHashBins(from: from, namePrefix: name, bitLength: bits, keys: keys, threshold: threshold)
        } else {
            let paths = args.values("path"), prefixes = args.values("hash-prefix")
            guard paths.isEmpty != prefixes.isEmpty else { throw UsageError("give --path patterns or --hash-prefix values (not both), or --bins") }
            try repo.delegate(from: from, name: name, keys: keys, threshold: threshold, paths: paths.isEmpty ? nil : paths,
                              pathHashPrefixes: prefixes.isEmpty ? nil : prefixes, terminating: args.flag("terminating"))
        }
        return report(try repo.publish(signers: try signers(for: repo)))
    case "signer":
        let name = try args.positional(1, "ROLE")
        try args.expectPositionals(2)
        let repo = try Repository(directory: dir)
        try repo.updateDelegation(from: args.value("from") ?? "targets", name: name, addKeys: try publicKeys(args.values("add-key")),
                                  removeKeyIDs: args.values("remove-key"), threshold: try args.int("threshold"))
        return report(try repo.publish(signers: try signers(for: repo)))
    case "rotate":
        let role = try args.positional(1, "ROLE")
        try args.expectPositionals(2)
        let keys = try publicKeys(args.values("key"))
        guard !keys.isEmpty else { throw UsageError("rotate needs at least one --key (the new keys)") }
        let repo = try Repository(directory: dir)
        try repo.rotate(role: role, to: keys, threshold: try args.int("threshold") ?? 1)
        return report(try repo.publish(signers: try signers(for: repo)))
    case "renew":
        try args.expectPositionals(1)
        let repo = try Repository(directory: dir)
        var roles = args.values("role")
        if let days = try args.int("within") { roles += repo.expiringRoles(within: Int64(days) * 86400) }
        if roles.isEmpty { roles = ["timestamp"] }
        for r in Set(roles) { try repo.renew(role: r) }
        return report(try repo.publish(signers: try signers(for: repo)))
    case "sign":
        try args.expectPositionals(1)
        let repo = try Repository(directory: dir)
        let staged = try repo.stagedSigningKeyIDs()
        var keys: [PrivateKey] = []
        for e in try ring.list() where staged.all.contains(e.keyID) {
            let isRoot = staged.root.contains(e.keyID)
            keys.append(try ring.unlock(e, passphrase: try passphrases.get(root: isRoot, what: "\(isRoot ? "root" : "signing") key \(e.keyID.prefix(12))")))
        }
        guard !keys.isEmpty else { throw UsageError("none of the keys in \(ring.directory) may sign the staged change") }
        return report(try repo.signStaged(signers: keys))
    case "status":
        try args.expectPositionals(1)
        let repo = try Repository(directory: dir)
        let status = repo.status()
        let soon = Int64(Date().timeIntervalSince1970) + 7 * 86400
        if args.flag("json") {
            printJSON(status.map { ["role": $0.name, "version": $0.version, "expires": $0.expires, "keyids": $0.keyIDs,
                                    "threshold": $0.threshold, "valid_signatures": $0.validSignatures, "threshold_met": $0.thresholdMet,
                                    "expires_within_week": $0.expiresAt <= soon] as [String: Any] })
        } else {
            print("ROLE".padding(toLength: 22, withPad: " ", startingAt: 0) + "VERSION  EXPIRES               SIGNED  KEYS")
            for s in status {
                let signed = "\(s.validSignatures)/\(s.threshold)" + (s.thresholdMet ? "" : " !")
                print(s.name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(s.version).padding(toLength: 9, withPad: " ", startingAt: 0)
                      + s.expires + "  " + signed.padding(toLength: 8, withPad: " ", startingAt: 0)
                      + s.keyIDs.map { String($0.prefix(12)) }.joined(separator: ","))
            }
            for s in status where s.expiresAt <= soon {
                note("warning: \(s.name) expires \(s.expires)" + (s.name == "timestamp" ? " (renew it with `signet tuf renew \(dir)`)" : ""))
            }
            if FileManager.default.fileExists(atPath: dir + "/staged") { note("a change is staged in \(dir)/staged awaiting signatures") }
        }
        return 0
    default:
        throw UsageError("unknown tuf command \"\(sub)\"\n\(tufUsage)")
    }
}
