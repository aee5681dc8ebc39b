import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetKeys
import SignetTUF

/// A small argument reader for `signet` subcommands: `--name value`, `--flag`, and positionals.
struct Args {
    private(set) var positionals: [String] = []
    private var options: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments`; `valued` are options that take a value, `boolean` those that do not.
    init(_ arguments: [String], valued: Set<String>, boolean: Set<String>) throws(UsageError) {
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" {
                positionals.append(contentsOf: arguments[(i + 1)...])
                break
            }
            if a == "-h" && boolean.contains("help") {
                flags.insert("help")
                i += 1
                continue
            }
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if valued.contains(name) {
                    if let inline {
                        options[name, default: []].append(inline)
                    } else {
                        guard i + 1 < arguments.count else { throw UsageError("--\(name) needs a value") }
                        options[name, default: []].append(arguments[i + 1])
                        i += 1
                    }
                } else if boolean.contains(name) {
                    guard inline == nil else { throw UsageError("--\(name) takes no value (got --\(name)=\(inline ?? ""))") }
                    flags.insert(name)
                } else {
                    let hint = nearest(name, among: valued.union(boolean)).map { " (did you mean --\($0)?)" } ?? ""
                    throw UsageError("unknown option --\(name)\(hint)")
                }
            } else if a.count > 1, a.hasPrefix("-"), a != "-" {
                // Single-dash options do not exist (besides -h); a word like "-o" is a mistake, not an argument.
                let hint = nearest(String(a.drop { $0 == "-" }), among: valued.union(boolean)).map { " (did you mean --\($0)?)" } ?? ""
                throw UsageError("unknown option \(a)\(hint); options are spelled --NAME (put -- before an argument that starts with -)")
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { options[name]?.last }
    func values(_ name: String) -> [String] { (options[name] ?? []).flatMap { $0.split(separator: ",").map(String.init) } }
    /// Every value given for a repeatable option, as given (not split at commas).
    func repeated(_ name: String) -> [String] { options[name] ?? [] }

    /// Refuses `--root` together with `--trust-on-first-use` (one says which root, the other to take any).
    func checkOneRootChoice() throws(UsageError) {
        if value("root") != nil && flag("trust-on-first-use") { throw UsageError("give --root ROOT_FILE or --trust-on-first-use, not both") }
    }
    func flag(_ name: String) -> Bool { flags.contains(name) }

    func int(_ name: String) throws(UsageError) -> Int? {
        guard let v = value(name) else { return nil }
        guard let n = Int(v) else { throw UsageError("--\(name) must be a whole number, got \"\(v)\"") }
        return n
    }

    func positional(_ index: Int, _ what: String) throws(UsageError) -> String {
        guard index < positionals.count else { throw UsageError("missing \(what)") }
        return positionals[index]
    }

    func expectPositionals(_ count: Int) throws(UsageError) {
        if positionals.count > count { throw UsageError("unexpected argument \"\(positionals[count])\"") }
    }
}

/// Wrong command-line usage (exit status 2).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes to stderr.
func note(_ message: String) {
    writeStandardError((message + "\n").utf8)
}


/// Where passphrases come from: `--passphrase-file`, then `SIGNET_ROOT_PASSPHRASE` (root keys) or
/// `SIGNET_KEY_PASSPHRASE` (other keys), then a no-echo prompt on the terminal. Never from argv.
struct Passphrases {
    var file: String?
    private var cache: [String: SecretBytes] = [:]

    init(file: String?) { self.file = file }

    /// The environment variable for `role`'s passphrase (`SIGNET_TARGETS_PASSPHRASE`, …), if the role has one.
    static func variable(forRole role: String) -> String? {
        switch role {
        case "targets", "snapshot", "timestamp", "releases": return "SIGNET_\(role.uppercased())_PASSPHRASE"
        default: return nil
        }
    }

    /// The passphrase for a root key (`root`) or a key of `role`, described as `what` in prompts. In
    /// order: `--passphrase-file`, `SIGNET_PASSPHRASE_FILE`, `SIGNET_ROOT_PASSPHRASE` for root keys,
    /// else the role's own variable (`SIGNET_TARGETS_PASSPHRASE`, `SIGNET_SNAPSHOT_PASSPHRASE`,
    /// `SIGNET_TIMESTAMP_PASSPHRASE`, `SIGNET_RELEASES_PASSPHRASE`) and then `SIGNET_KEY_PASSPHRASE`,
    /// else a prompt on the terminal.
    mutating func get(root: Bool, role: String? = nil, what: String, confirm: Bool = false) throws -> SecretBytes {
        let environment = ProcessInfo.processInfo.environment
        let roleVariable = root ? nil : role.flatMap(Passphrases.variable(forRole:)).flatMap { environment[$0] != nil ? $0 : nil }
        let cacheKey = root ? "root" : (roleVariable ?? "key")
        if let cached = cache[cacheKey] { return cached }
        let secret: SecretBytes
        if let file = file ?? environment["SIGNET_PASSPHRASE_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            // A missing or unreadable file is a local error (exit 4) naming the file.
            var bytes = try AtomicFile.readExisting(file, limit: 64 << 10)
            while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
            secret = SecretBytes(consuming: &bytes)
        } else if let env = environment[root ? "SIGNET_ROOT_PASSPHRASE" : (roleVariable ?? "SIGNET_KEY_PASSPHRASE")] {
            secret = SecretBytes(utf8: env)
        } else if isatty(STDIN_FILENO) == 1 {
            secret = try Passphrases.prompt("Passphrase for \(what): ")
            if confirm {
                let again = try Passphrases.prompt("Repeat the passphrase: ")
                guard again == secret else { throw UsageError("the passphrases do not match") }
            }
        } else {
            let variable = root ? "SIGNET_ROOT_PASSPHRASE" : (role.flatMap(Passphrases.variable(forRole:)).map { "\($0) or SIGNET_KEY_PASSPHRASE" } ?? "SIGNET_KEY_PASSPHRASE")
            throw UsageError("no passphrase for \(what): set \(variable), use --passphrase-file (or SIGNET_PASSPHRASE_FILE), or run on a terminal")
        }
        guard !secret.isEmpty else { throw UsageError("empty passphrase for \(what)") }
        cache[cacheKey] = secret
        return secret
    }

    /// Reads one line from the terminal with echo off.
    static func prompt(_ text: String) throws -> SecretBytes {
        writeStandardError(text.utf8)
        var old = termios()
        tcgetattr(STDIN_FILENO, &old)
        var silent = old
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
            writeStandardError("\n".utf8)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        var c: UInt8 = 0
        while read(STDIN_FILENO, &c, 1) == 1, c != 0x0a, bytes.count < 1024 { bytes.append(c) }
        return SecretBytes(consuming: &bytes)
    }
}

/// A test-only environment variable: honoured by debug builds (and builds with
/// `-DSIGNET_UNSAFE_TEST_HOOKS`); a release build ignores it and says so once.
func testSwitch(_ name: String) -> String? {
    if let value = TestHooks.environment(name) { return value }
    if Environment.value(name) != nil { warnIgnoredTestSwitch(name) }
    return nil
}

nonisolated(unsafe) private var warnedSwitches: Set<String> = []
private func warnIgnoredTestSwitch(_ name: String) {
    guard warnedSwitches.insert(name).inserted else { return }
    note("signet: warning: \(name) is set but ignored: test switches work only in test builds")
}

/// The signing agent this process uses, if one runs for this user and holds keys: asked once, at the
/// first key a command needs. `SIGNET_NO_AGENT=1` ignores any agent.
enum SigningAgent {
    static let held: (client: AgentClient, keyIDs: Set<String>)? = {
        if Environment.value("SIGNET_NO_AGENT") == "1" { return nil }
        let client = AgentClient(socketPath: AgentClient.defaultSocketPath(home: Keyring.defaultHome))
        guard AtomicFile.exists(client.socketPath) else { return nil }
        do {
            let status = try client.status()
            return (client, Set(status.keys.map(\.keyID)))
        } catch {
            // A killed agent leaves its socket behind: the key files still work.
            if case AgentError.notRunning = error {} else { note("signet: warning: not using the signing agent: \(error)") }
            return nil
        }
    }()

    /// The agent's handle on `entry`'s key, if it holds it.
    static func key(for entry: KeyringEntry) -> PrivateKey? {
        guard let held, held.keyIDs.contains(entry.keyID) else { return nil }
        return held.client.remoteKey(for: entry)
    }
}

/// A key to sign with: the agent's, when it holds it; else the key file opened with its passphrase.
func signingKey(_ entry: KeyringEntry, ring: Keyring, root: Bool, passphrases: inout Passphrases) throws -> PrivateKey {
    if let key = SigningAgent.key(for: entry) { return key }
    let isRoot = root || entry.label("role") == "root"
    return try ring.unlock(entry, passphrase: try passphrases.get(root: isRoot, role: entry.label("role"),
                                                                  what: "\(isRoot ? "root" : "signing") key \(entry.keyID.prefix(12))"))
}

/// The key store at `$SIGNET_HOME`. `SIGNET_UNSAFE_TEST_KDF=1` (test builds only) makes new key files
/// use libsodium's minimum Argon2id cost: it removes the brute-force resistance of the passphrase and
/// exists only so that test suites can create many keys quickly.
func openKeyring() throws -> Keyring {
    let unsafeFast = testSwitch("SIGNET_UNSAFE_TEST_KDF") == "1"
    return try Keyring(home: Keyring.defaultHome, kdf: unsafeFast ? .unsafeMinimumForTests : .moderate)
}

/// A duration: a whole number with a unit `s`, `m`, `h`, `d`, `w` or `y` (365 days), such as `7d`, `12h`
/// or `90m`; a bare number is seconds.
func parseDuration(_ text: String, what: String) throws(UsageError) -> Int64 {
    let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400]
    var digits = Substring(text)
    var unit: Int64 = 1
    if let last = text.last, let u = units[last] {
        digits = digits.dropLast()
        unit = u
    }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits), n > 0, n <= 100 * 366 * 86400 / unit else {
        throw UsageError("\(what) must be a duration such as 7d, 12h or 90m (units s, m, h, d, w, y), got \"\(text)\"")
    }
    return n * unit
}

/// `ROLE=DURATION` items (for example `timestamp=7d targets=180d`).
func parseLifetimes(_ items: [String]) throws(UsageError) -> [(role: String, seconds: Int64)] {
    var out: [(String, Int64)] = []
    for item in items {
        guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
            throw UsageError("expected ROLE=DURATION (for example timestamp=7d), got \"\(item)\"")
        }
        let role = String(item[..<eq])
        guard !out.contains(where: { $0.0 == role }) else { throw UsageError("\(role) is given twice") }
        out.append((role, try parseDuration(String(item[item.index(after: eq)...]), what: "the lifetime of \(role)")))
    }
    return out
}

/// The candidate closest to `word` (edit distance at most 2, or a prefix match), if any.
func nearest(_ word: String, among candidates: some Sequence<String>) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let w = Array(word)
    var best: (String, Int)?
    for c in candidates.sorted() {
        let d = c.hasPrefix(word) && word.count >= 3 ? 1 : distance(w, Array(c))
        if d <= 2, best.map({ d < $0.1 }) ?? true { best = (c, d) }
    }
    return best?.0
}

/// What every command's `--help` ends with: the options shared by commands and the exit statuses.
/// The shared parts of `--help`: each command shows those it accepts.
enum HelpBlock {
    /// Registry addressing and credentials.
    case registry
    /// --root / --trust-on-first-use / --as / --allow-expired, as the registry trust commands read them.
    case trust
    /// Where key passphrases come from.
    case passphrases
}

let registryHelp = """

Registry options (commands that talk to a registry):
\(RegistryOptions.help)
"""

let trustHelp = """
Trust options: --root ROOT_FILE (the first time; later the pinned root is used), --trust-on-first-use,
--as ORIGINAL_REPO (verify a mirror's copy as the original), --allow-expired (publishing commands only).
"""

let passphraseHelp = """
Passphrases: --passphrase-file FILE, else SIGNET_ROOT_PASSPHRASE (root keys) / SIGNET_<ROLE>_PASSPHRASE
or SIGNET_KEY_PASSPHRASE (other keys), else a prompt on the terminal; never from the command line.
"""

let outputAndExitHelp = """
Output: --json prints the result as JSON on stdout, and errors as {"error": {"code", "message",
"exitStatus"}} on stderr (docs/cli.md).
Exit status: 0 success; 1 verification failure or refused change; 2 usage error; 3 network or registry
error; 4 local error (files, layouts, keys, credentials); 5 another publisher changed the trust data
first; 6 renewal needs keys held elsewhere; 130 interrupted.
"""

/// Prints a command's usage followed by the shared blocks it accepts (a block its usage already has
/// is not repeated), then output and exit statuses.
func printHelp(_ usage: String, _ blocks: [HelpBlock] = [.registry, .trust, .passphrases]) {
    var parts = [usage]
    if blocks.contains(.registry) && !usage.contains(RegistryOptions.help) { parts.append(registryHelp) } else { parts.append("") }
    if blocks.contains(.trust) { parts.append(trustHelp) }
    if blocks.contains(.passphrases) { parts.append(passphraseHelp) }
    parts.append(outputAndExitHelp)
    print(parts.joined(separator: "\n"))
}
