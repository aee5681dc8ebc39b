import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetKeys
import SignetTUF
import SignetTrust

let keyUsage = """
usage: signet key generate [--type ed25519|ecdsa-p256|ecdsa-p384] [--label NAME=VALUE ...] [--root] [--passphrase-file FILE] [--json]
       signet key list [--all] [--json]          each key's labels and where trust data pinned here names it
                                                   ("current"); --all also lists retired keys
       signet key retire KEY_ID [--force]        stop using a key (kept in keys/retired/)
       signet key delete KEY_ID [--force]        delete a key file
                                                   (both refuse a key still named by pinned trust data unless --force)
       signet key import PEM_FILE|DIR [--pem-passphrase-file FILE] [--label NAME=VALUE ...] [--root] [--passphrase-file FILE] [--json]
       signet key export KEY_ID [--format pem|tuf] [--json]
       signet key rotate REF ROLE [--type TYPE]   (new key for ROLE of REF's trust data: root, targets, snapshot,
                                                   timestamp through a new cross-signed root; releases as its signer)

Keys live in $SIGNET_HOME/keys (default ~/.signet/keys), each encrypted with its passphrase.
`key import` reads PKCS#8 PEM keys (encrypted or not) and Docker Content Trust / notary key files: a file,
a folder of .key files, or a trust directory (~/.docker/trust, ~/.notary: its private/ keys). The role and
GUN in their headers become labels. Their passphrases come from --pem-passphrase-file, else the variables
Docker and notary users set (DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE,
NOTARY_ROOT_PASSPHRASE, NOTARY_TARGETS_PASSPHRASE, NOTARY_SNAPSHOT_PASSPHRASE, NOTARY_DELEGATION_PASSPHRASE),
else a prompt; each key is re-encrypted in Signet's format with Signet's passphrase.
Passphrases come from --passphrase-file, SIGNET_ROOT_PASSPHRASE (keys marked --root or labelled role=root),
SIGNET_<ROLE>_PASSPHRASE for a key labelled role=targets|snapshot|timestamp|releases when it is set, else
SIGNET_KEY_PASSPHRASE (other keys), or a prompt on the terminal; never from the command line.
"""

/// `signet key …`
func runKeyCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(keyUsage); return 2 }
        printHelp(keyUsage, [])
        return 0
    }
    if sub == "rotate" { return try runKeyRotate(Array(arguments.dropFirst())) }
    let args = try Args(Array(arguments.dropFirst()), valued: ["type", "label", "passphrase-file", "pem-passphrase-file", "format"],
                        boolean: ["json", "root", "help", "all", "force"])
    if args.flag("help") { printHelp(keyUsage, []); return 0 }
    let ring = try openKeyring()
    var passphrases = Passphrases(file: args.value("passphrase-file"))
    func labels() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for l in args.repeated("label") {
            guard let eq = l.firstIndex(of: "=") else { throw UsageError("--label takes NAME=VALUE, got \"\(l)\"") }
            let (name, value) = (String(l[..<eq]), String(l[l.index(after: eq)...]))
            guard EncryptedKeyFile.isValidLabelName(name), EncryptedKeyFile.isValidLabelValue(value) else {
                throw UsageError("--label \(name.debugDescription): the name must be lowercase letters, digits and \"-\", the value one line of printable text")
            }
            out.append((name, value))
        }
        if args.flag("root") && !out.contains(where: { $0.0 == "role" }) { out.append(("role", "root")) }
        return out
    }
    func describe(_ e: KeyringEntry) -> [String: Any] {
        ["keyID": e.keyID, "type": e.algorithm.rawValue, "labels": Dictionary(e.labels, uniquingKeysWith: { $1 }), "path": e.path]
    }
    switch sub {
    case "generate":
        try args.expectPositionals(0)
        let type = args.value("type") ?? "ed25519"
        guard let algorithm = KeyAlgorithm(rawValue: type), algorithm != .rsa else {
            throw UsageError("--type must be ed25519, ecdsa-p256 or ecdsa-p384, got \"\(type)\"")
        }
        let l = try labels()
        let isRoot = l.contains { $0 == ("role", "root") }
        let pass = try passphrases.get(root: isRoot, role: l.first { $0.0 == "role" }?.1, what: "the new \(isRoot ? "root " : "")key", confirm: true)
        let e = try ring.generate(algorithm, passphrase: pass, labels: l)
        if args.flag("json") { printJSON(describe(e)) } else { print("generated \(e.algorithm) key \(e.keyID)") }
    case "list":
        try args.expectPositionals(0)
        let all = try ring.list()
        let usage = KeyUsage.scan(home: Keyring.defaultHome)
        let retired = args.flag("all") ? ring.listRetired() : []
        func uses(_ e: KeyringEntry) -> [[String: Any]] { (usage.uses[e.keyID] ?? []).map { ["repository": $0.repository, "role": $0.role] } }
        if args.flag("json") {
            printJSON(all.map { describe($0).merging(["usedBy": uses($0), "retired": false]) { $1 } }
                      + retired.map { describe($0).merging(["usedBy": uses($0), "retired": true]) { $1 } })
        } else if all.isEmpty && retired.isEmpty {
            print("no keys in \(ring.directory)")
        } else {
            for (e, isRetired) in all.map({ ($0, false) }) + retired.map({ ($0, true) }) {
                let labels = e.labels.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                let used = (usage.uses[e.keyID] ?? []).map { "\($0.role) of \($0.repository)" }
                let status = isRetired ? "  [retired]" : used.isEmpty ? "" : "  [current: " + used.joined(separator: ", ") + "]"
                print("\(e.keyID)  \(e.algorithm.rawValue.padded(to: 10))  \(labels)\(status)")
            }
        }
    case "delete", "retire":
        let id = try args.positional(0, "KEY_ID")
        try args.expectPositionals(1)
        let e = try ring.find(id)
        let usage = KeyUsage.scan(home: Keyring.defaultHome)
        let used = usage.uses[e.keyID] ?? []
        if !used.isEmpty && !args.flag("force") {
            throw UsageError("key \(e.keyID.prefix(16)) is still named by trust data this machine verified: "
                             + used.map { "\($0.role) of \($0.repository)" }.joined(separator: ", ")
                             + "; rotate it out first (`signet key rotate REF ROLE`), or pass --force")
        }
        if let waiting = usage.waiting[e.keyID], !args.flag("force") {
            throw UsageError("key \(e.keyID.prefix(16)) is named by a change this machine staged for \(waiting.joined(separator: ", ")), which may still wait for signatures "
                             + "(`signet trust staged \(waiting.first ?? "")`); publishing it needs the key. Drop the change first (`signet trust discard-staged \(waiting.first ?? "")`), or pass --force")
        }
        if sub == "delete" { try ring.remove(e) } else { try ring.retire(e) }
        if args.flag("json") {
            printJSON(["keyID": e.keyID, sub == "delete" ? "deleted" : "retired": true, "usedBy": used.map { ["repository": $0.repository, "role": $0.role] }])
        } else {
            print(sub == "delete" ? "deleted key \(e.keyID)" : "retired key \(e.keyID) (kept in \(ring.retiredDirectory), never used to sign)")
        }
    case "import":
        let path = try args.positional(0, "PEM_FILE or DIRECTORY")
        try args.expectPositionals(1)
        let files = DCTKeyFile.files(at: path)
        guard !files.isEmpty else {
            guard FileManager.default.fileExists(atPath: path) else { throw FileError.io(path: path, detail: "no such file or directory") }
            throw UsageError("no key file at \(path) (a PEM file, a folder of .key files, or a trust directory)")
        }
        let environment = ProcessInfo.processInfo.environment
        var pemPassphraseFromFile: SecretBytes?
        if let f = args.value("pem-passphrase-file") {
            var bytes = try AtomicFile.readExisting(f, limit: 64 << 10)
            while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
            pemPassphraseFromFile = SecretBytes(consuming: &bytes)
        }
        var imported: [[String: Any]] = []
        var failures: [(String, Error)] = []
        var skipped: [String] = []
        for file in files {
          do {
            let keyFile = try DCTKeyFile.read(file)
            // The key file's passphrase: --pem-passphrase-file, then the variables Docker and notary users set.
            var candidates: [(source: String, secret: SecretBytes)] = []
            if let p = pemPassphraseFromFile { candidates.append(("--pem-passphrase-file", p)) }
            for v in keyFile.passphraseVariables { if let value = environment[v], !value.isEmpty { candidates.append((v, SecretBytes(utf8: value))) } }
            if keyFile.encrypted, candidates.isEmpty, isatty(STDIN_FILENO) == 1 {
                candidates.append(("the terminal", try Passphrases.prompt("Passphrase of \(file)\(keyFile.role.map { " (\($0) key)" } ?? ""): ")))
            }
            let (key, _) = try keyFile.open(passphrases: candidates)
            var l = try labels()
            if l.isEmpty, let role = keyFile.role { l = [("role", role)] }
            let isRoot = keyFile.isRoot || l.contains { $0 == ("role", "root") }
            // Sealed under the passphrase it will be unlocked with: its role's variable when set
            // (SIGNET_TARGETS_PASSPHRASE, …), else SIGNET_KEY_PASSPHRASE.
            let role = l.first { $0.0 == "role" }?.1
            let pass = try passphrases.get(root: isRoot, role: role, what: "the imported \(isRoot ? "root " : role.map { "\($0) " } ?? "")key", confirm: true)
            let (e, added): (KeyringEntry, Bool)
            if args.repeated("label").isEmpty && !args.flag("root") {
                (e, added) = try ring.importDCT(key, from: keyFile, passphrase: pass)
            } else {
                do { (e, added) = (try ring.add(key, passphrase: pass, labels: l), true) } catch {
                    if case .exists(let id) = error { (e, added) = (try ring.find(id), false) } else { throw error }
                }
            }
            var d = describe(e)
            d["file"] = file
            d["added"] = added
            imported.append(d)
            if !args.flag("json") {
                let what = [keyFile.role.map { "role \($0)" }, keyFile.gun.map { "gun \($0)" }].compactMap { $0 }.joined(separator: ", ")
                print((added ? "imported \(e.algorithm) key \(e.keyID)" : "key \(e.keyID) is already in the key store") + (what.isEmpty ? "" : " (\(what))") + " from \(file)")
            }
          } catch {
            // One file of a single-file import fails the command; in a folder, the others still import.
            if files.count == 1 { throw error }
            // A key Signet cannot sign with (RSA, rare in DCT) is reported and skipped, not a failure:
            // importing a whole trust directory should go on to `dct import`.
            if case KeyringError.crypto(_, .unsupportedKey) = error {
                skipped.append(file)
                note("signet: skipped: \(error)")
                continue
            }
            failures.append((file, error))
            note("signet: not imported: \(error)")
          }
        }
        if args.flag("json") { printJSON(files.count == 1 && !FileManager.default.fileExists(atPath: path + "/") ? imported[0] : imported as Any) }
        if let (_, first) = failures.first {
            note("signet: \(failures.count) of \(files.count) key files were not imported")
            return exitCode(for: first)
        }
        if !skipped.isEmpty { note("signet: \(skipped.count) of \(files.count) key files skipped: keys Signet cannot sign with") }
    case "export":
        let id = try args.positional(0, "KEY_ID")
        try args.expectPositionals(1)
        let e = try ring.find(id)
        switch args.value("format") ?? "pem" {
        case "pem":
            if args.flag("json") {
                printJSON(["keyID": e.keyID, "type": e.algorithm.rawValue, "publicKeyPEM": try e.publicKey.pem()])
            } else {
                print(try e.publicKey.pem(), terminator: "")
            }
        case "tuf":
            let key = try e.tufKey()
            if args.flag("json") {
                printJSON(["keyID": e.keyID, "type": e.algorithm.rawValue, "tufKey": key.json])
            } else {
                print(String(decoding: JSONWriter.encode(key.json), as: UTF8.self))
            }
        case let other: throw UsageError("--format must be pem or tuf, got \"\(other)\"")
        }
    default:
        throw UsageError("unknown key command \"\(sub)\"" + (nearest(sub, among: ["generate", "list", "import", "export", "rotate"]).map { " (did you mean `signet key \($0)`?)" } ?? "") + "\n\(keyUsage)")
    }
    return 0
}
