import FoundationEssentials
import SignetPlatform
#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto
import SignetFiles
import SignetKeys
import SignetTrust

let agentUsage = """
usage: signet agent start [--timeout DURATION]   start the agent in the background (default timeout 10m)
       signet agent run [--timeout DURATION]     run it in the foreground, logging to stderr (for a service manager)
       signet agent add [KEY_ID ...] [--root] [--passphrase-file FILE]
                                                 unlock keys into the agent: the given keys, else every key of
                                                 the store except root keys: labelled root, or named as root
                                                 by trust data this machine verified (--root includes them)
       signet agent list [--json]                the keys it holds and when it forgets them
       signet agent lock                         forget every key now (the agent keeps running)
       signet agent stop                         forget every key and exit

The agent holds unlocked keys in locked memory and signs with them over a Unix socket in $SIGNET_HOME
(agent.sock, mode 0600; SIGNET_AGENT_SOCKET overrides the path) for processes of the same user only: the
kernel's peer credentials are checked on every connection. It never hands out a private key. Keys are
forgotten after DURATION without use (for example 30m, 8h; 0 keeps them until `lock` or `stop`).
Every command that signs uses the agent's keys when it runs and holds them, and reads key files
otherwise (SIGNET_NO_AGENT=1 ignores the agent). Passphrases for `add` come from the same places as for
other commands: --passphrase-file, SIGNET_ROOT_PASSPHRASE, SIGNET_<ROLE>_PASSPHRASE, SIGNET_KEY_PASSPHRASE,
or a prompt.
"""

/// `signet agent …`
func runAgentCommand(_ arguments: [String]) throws -> Int32 {
    guard let sub = arguments.first, sub != "--help", sub != "-h" else {
        if arguments.isEmpty { note(agentUsage); return 2 }
        printHelp(agentUsage, [])
        return 0
    }
    let args = try Args(Array(arguments.dropFirst()), valued: ["timeout", "passphrase-file"],
                        boolean: ["json", "root", "help", "detached"])
    if args.flag("help") { printHelp(agentUsage, []); return 0 }
    let home = Keyring.defaultHome
    let client = AgentClient(socketPath: AgentClient.defaultSocketPath(home: home))
    func timeout() throws -> Int {
        guard let text = args.value("timeout") else { return 600 }
        if text == "0" { return 0 }
        let seconds = try parseDuration(text, what: "--timeout")
        guard seconds >= 0, seconds <= 7 * 86400 else { throw UsageError("--timeout must be between 0 and 7d, got \"\(text)\"") }
        return Int(seconds)
    }
    switch sub {
    case "run":
        try args.expectPositionals(0)
        let seconds = try timeout()
        if args.flag("detached") { _ = setsid() }
        signal(SIGPIPE, SIG_IGN)
        let protections = SecretMemory.hardenProcess()
        _ = try openKeyring()  // creates $SIGNET_HOME (0700) if needed, so the socket lives in a private directory
        let server = AgentServer(home: home, socketPath: client.socketPath, idleTimeout: seconds) { line in
            note("signet agent: \(line)")
        }
        try server.listen()
        note("signet agent: pid \(getpid()), socket \(client.socketPath), keys forgotten after \(seconds == 0 ? "never (no timeout)" : "\(seconds) s without use"); \(protections)")
        // SIGINT / SIGTERM: forget the keys, remove the socket and exit. The handler only calls
        // async-signal-safe functions, on the socket's path copied here.
        agentSocketPathForSignals = strdup(client.socketPath)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { _ in
                if let path = agentSocketPathForSignals { unlink(path) }
                _exit(0)
            }
        }
        server.serve()
        note("signet agent: stopped")
        return 0
    case "start":
        try args.expectPositionals(0)
        let seconds = try timeout()
        if let status = try? client.status() {
            print("signet agent already running (pid \(status.pid), socket \(client.socketPath))")
            return 0
        }
        _ = try openKeyring()
        // What the agent would stop at, said here (its own output goes nowhere once detached).
        try client.checkSocketPath()
        let agent = try BackgroundProgram(ownExecutable(), arguments: ["agent", "run", "--timeout", String(seconds), "--detached"])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let status = try? client.status() {
                print("signet agent running (pid \(status.pid), socket \(client.socketPath)); keys are forgotten after \(seconds == 0 ? "`signet agent lock`" : "\(seconds) s without use"). Add keys with `signet agent add`.")
                return 0
            }
            if let status = agent.exitStatus() {
                // Run it in the foreground once more to show why it stopped.
                throw AgentError.socket(path: client.socketPath, detail: "the agent exited at start (status \(status)); `signet agent run` shows why")
            }
            usleep(20_000)
        }
        throw AgentError.socket(path: client.socketPath, detail: "the agent did not answer within 10 s")
    case "add":
        let ring = try openKeyring()
        var passphrases = Passphrases(file: args.value("passphrase-file"))
        var entries: [KeyringEntry] = []
        // A root key is one labelled so, or one that trust data this machine verified names as root (a
        // key imported without its label): kept out of the agent unless --root asks for it.
        let usage = KeyUsage.scan(home: Keyring.defaultHome)
        func isRootKey(_ e: KeyringEntry) -> Bool { e.label("role") == "root" || (usage.uses[e.keyID] ?? []).contains { $0.role == "root" } }
        if args.positionals.isEmpty {
            entries = try ring.list().filter { args.flag("root") || !isRootKey($0) }
            guard !entries.isEmpty else { throw UsageError("the key store \(ring.directory) holds no \(args.flag("root") ? "" : "non-root ")keys to add") }
        } else {
            entries = try args.positionals.map { try ring.find($0) }
        }
        // Keys the agent holds already need no passphrase: they are reported as added.
        let held = Set(((try? client.status())?.keys ?? []).map(\.keyID))
        let already = entries.filter { held.contains($0.keyID) }
        entries.removeAll { held.contains($0.keyID) }
        var requests: [(keyID: String, passphrase: SecretBytes)] = []
        for e in entries {
            // The passphrase follows how the key was sealed (its label), not how it is used.
            let isRoot = e.label("role") == "root"
            requests.append((e.keyID, try passphrases.get(root: isRoot, role: e.label("role"), what: "\(isRoot ? "root" : "signing") key \(e.keyID.prefix(12))")))
        }
        let results = try (requests.isEmpty ? [] : client.add(requests)) + already.map { ($0.keyID, nil as String?) }
        var failed = 0
        var report: [[String: Any]] = []
        for (id, error) in results {
            let entry = (entries + already).first { $0.keyID == id }
            let role = entry?.label("role")
            if let error {
                failed += 1
                note("signet: \(id.prefix(12)): not added: \(error)")
            } else if !args.flag("json") {
                print("added \(id)\(role.map { " (\($0))" } ?? "")")
            }
            var item: [String: Any] = ["keyID": id, "added": error == nil]
            if let role { item["role"] = role }
            if let error { item["error"] = error }
            report.append(item)
        }
        if args.flag("json") { printJSON(report) }
        return failed == 0 ? 0 : 4
    case "list":
        try args.expectPositionals(0)
        let status = try client.status()
        let ring = try? openKeyring()
        let labels = Dictionary(((try? ring?.list()) ?? []).map { ($0.keyID, $0) }, uniquingKeysWith: { a, _ in a })
        if args.flag("json") {
            var keys: [[String: Any]] = []
            for k in status.keys {
                var item: [String: Any] = ["keyID": k.keyID, "type": k.publicKey.algorithm.rawValue]
                if let e = labels[k.keyID] { item["labels"] = Dictionary(e.labels, uniquingKeysWith: { $1 }) }
                keys.append(item)
            }
            var out: [String: Any] = ["pid": status.pid, "socket": client.socketPath, "idleTimeoutSeconds": status.idleTimeout, "keys": keys]
            if let left = status.secondsLeft { out["secondsUntilForgotten"] = left }
            printJSON(out)
            return 0
        }
        print("signet agent pid \(status.pid), socket \(client.socketPath)")
        if status.keys.isEmpty { print("no keys held (`signet agent add` unlocks them)") }
        for k in status.keys {
            let e = labels[k.keyID]
            let what = [e?.label("role"), e?.label("repository")].compactMap { $0 }.joined(separator: " ")
            print("  \(k.keyID)  \(k.publicKey.algorithm)\(what.isEmpty ? "" : "  " + what)")
        }
        if let left = status.secondsLeft { print("forgotten in \(left) s unless used") }
        return 0
    case "lock":
        try args.expectPositionals(0)
        try client.lock()
        print("signet agent: every key forgotten")
        return 0
    case "stop":
        try args.expectPositionals(0)
        try client.stop()
        print("signet agent stopped")
        return 0
    default:
        let hint = nearest(sub, among: ["start", "run", "add", "list", "lock", "stop"]).map { " (did you mean `signet agent \($0)`?)" } ?? ""
        throw UsageError("unknown agent command \"\(sub)\"\(hint)")
    }
}

/// This program's path (to start the agent as a child).
func ownExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return CommandLine.arguments[0]
}

/// The running agent's socket path as C bytes, for its signal handlers (set before they are installed).
nonisolated(unsafe) private var agentSocketPathForSignals: UnsafeMutablePointer<CChar>?
