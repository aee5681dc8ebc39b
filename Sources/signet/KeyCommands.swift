import Foundation
import SignetCrypto
import SignetFiles
import SignetJSON
import SignetKeys
import SignetTUF

let keyUsage = """
usage: signet key generate [--type ed25519|ecdsa-p256|ecdsa-p384] [--label NAME=VALUE ...] [--root] [--passphrase-file FILE] [--json]
       signet key list [--json]
       signet key import PEM_FILE [--pem-passphrase-file FILE] [--label NAME=VALUE ...] [--root] [--passphrase-file FILE] [--json]
       signet key export KEY_ID [--format pem|tuf]
       signet key rotate REF ROLE [--type TYPE]   (new key for ROLE of REF's trust data: root, targets, snapshot,
                                                   timestamp through a new cross-signed root; releases as its signer)

Keys live in $SIGNET_HOME/keys (default ~/.signet/keys), each encrypted with its passphrase.
Passphrases come from --passphrase-file, SIGNET_ROOT_PASSPHRASE (keys marked --root or labelled role=root),
SIGNET_KEY_PASSPHRASE (other keys), or a prompt on the terminal; never from the command line.
"""

/// `signet key …`
func runKeyCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(keyUsage); return 2 }
        print(keyUsage)
        return 0
    }
    if sub == "rotate" { return try runKeyRotate(Array(arguments.dropFirst())) }
    let args = try Args(Array(arguments.dropFirst()), valued: ["type", "label", "passphrase-file", "pem-passphrase-file", "format"],
                        boolean: ["json", "root", "help"])
    if args.flag("help") { print(keyUsage); return 0 }
    let ring = try openKeyring()
    var passphrases = Passphrases(file: args.value("passphrase-file"))
    func labels() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for l in args.values("label") {
            guard let eq = l.firstIndex(of: "=") else { throw UsageError("--label takes NAME=VALUE, got \"\(l)\"") }
            out.append((String(l[..<eq]), String(l[l.index(after: eq)...])))
        }
        if args.flag("root") && !out.contains(where: { $0.0 == "role" }) { out.append(("role", "root")) }
        return out
    }
    func describe(_ e: KeyringEntry) -> [String: Any] {
        ["keyid": e.keyID, "type": e.algorithm.rawValue, "labels": Dictionary(e.labels, uniquingKeysWith: { $1 }), "path": e.path]
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
        let pass = try passphrases.get(root: isRoot, what: "the new \(isRoot ? "root " : "")key", confirm: true)
        let e = try ring.generate(algorithm, passphrase: pass, labels: l)
        if args.flag("json") { printJSON(describe(e)) } else { print("generated \(e.algorithm) key \(e.keyID)") }
    case "list":
        try args.expectPositionals(0)
        let all = try ring.list()
        if args.flag("json") {
            printJSON(all.map(describe))
        } else if all.isEmpty {
            print("no keys in \(ring.directory)")
        } else {
            for e in all {
                let labels = e.labels.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                print("\(e.keyID)  \(e.algorithm.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  \(labels)")
            }
        }
    case "import":
        let file = try args.positional(0, "PEM_FILE")
        try args.expectPositionals(1)
        var data = try AtomicFile.readExisting(file, limit: 1 << 20)
        let pem = String(decoding: data, as: UTF8.self)
        for i in data.indices { data[i] = 0 }
        var pemPass: SecretBytes?
        if pem.contains("ENCRYPTED PRIVATE KEY") {
            var p = Passphrases(file: args.value("pem-passphrase-file"))
            if args.value("pem-passphrase-file") == nil, isatty(STDIN_FILENO) == 1 {
                pemPass = try Passphrases.prompt("Passphrase of \(file): ")
            } else {
                pemPass = try p.get(root: false, what: file)
            }
        }
        let l = try labels()
        let pass = try passphrases.get(root: l.contains { $0 == ("role", "root") }, what: "the imported key", confirm: true)
        let e = try ring.importPEM(pem, pemPassphrase: pemPass, passphrase: pass, labels: l)
        if args.flag("json") { printJSON(describe(e)) } else { print("imported \(e.algorithm) key \(e.keyID)") }
    case "export":
        let id = try args.positional(0, "KEY_ID")
        try args.expectPositionals(1)
        let e = try ring.find(id)
        switch args.value("format") ?? "pem" {
        case "pem": print(try e.publicKey.pem(), terminator: "")
        case "tuf":
            let key = try e.tufKey()
            print(String(decoding: JSONWriter.encode(key.json), as: UTF8.self))
        case let other: throw UsageError("--format must be pem or tuf, got \"\(other)\"")
        }
    default:
        throw UsageError("unknown key command \"\(sub)\"\n\(keyUsage)")
    }
    return 0
}
