import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetKeys
import SignetTUF
import SignetTrust

let mainUsage = """
usage: signet <command> [options]

Content trust for container images (trust data stored in the image's own repository):
  trust     create trust for a repository (init), co-sign a staged change, show status
  push      push an OCI layout and sign the tag in one step
  sign      sign a tag already in the registry          revoke   remove a tag's signature
  verify    verify a tag and print REF@sha256:… for deployments (--deep: every blob)
  pull      pull a verified image into an OCI layout (a tag is resolved through trust data)
  inspect   signed tags, signers, thresholds, expiries and root keys
  signer    add or remove tag signers, set the N-of-M threshold
  timestamp renew the timestamp (for a scheduled job)
  policy    explain what this machine's trust policy decides for a reference (docs/policy.md)
  copy      copy signed images with their trust data to another repository or registry, verified at both ends
  export    write signed images and their trust data to an OCI layout (or tar) for a site without network
  import    check such an export offline and publish it into a registry inside
Docker Content Trust (Notary v1):
  dct       inspect, verify and pull as Docker did; import signed tags into registry-native trust
Registries:
  login     check and store registry credentials as `docker login` does     logout   remove them
Keys and static TUF repositories:
  key       generate, list, import, export keys; rotate a repository's role key
  agent     hold unlocked keys in memory and sign for this user's commands (ssh-agent style)
  tuf       create and maintain a static TUF repository on disk

Run `signet <command> --help` for details; `signet man` prints the manual page, `signet completion bash|zsh`
a completion script. Keys live in $SIGNET_HOME (default ~/.signet).
Exit status: 0 success, 1 verification failure or refused change, 2 usage error, 3 network or registry error,
4 local error (files, OCI layout, credentials, key files, wrong passphrase), 5 another publisher changed the
trust data first (retry), 6 renewal needs keys held elsewhere, 130 interrupted. docs/cli.md: --json output.
"""

func exitCode(for error: Error) -> Int32 {
    // Whatever failed after SIGINT/SIGTERM failed because of it.
    if TransferInterruption.wasRequested { return 130 }
    switch error {
    case is UsageError: return 2
    case let e as OCIError: return ociExitCode(for: e)
    case let e as TrustError: return e.exitCode
    case let e as KeyringError: return keyringExitCode(e)
    case is FileError: return 4
    case is AgentError: return 4
    case let e as TUFError:
        if case .storage = e { return 4 }
        return 1
    case let e as RepositoryError:
        // A request the repository cannot take (a bad target path, a bin count out of range) is usage.
        switch e {
        case .invalidRequest, .unknownRole: return 2
        case .tuf(.storage): return 4
        default: return 1
        }
    default: return 1
    }
}

/// A key reference that names nothing is a usage error; unreadable or undecryptable keys are local errors.
func keyringExitCode(_ e: KeyringError) -> Int32 {
    switch e {
    case .notFound, .ambiguous: return 2
    default: return 4
    }
}

let signetVersion = "0.1.0"

/// The top-level commands.
let signetCommands = ["key", "tuf", "pull", "trust", "sign", "revoke", "verify", "inspect", "signer", "timestamp", "push", "dct", "login", "logout", "agent", "policy", "copy", "export", "import", "man", "completion", "version", "help"]

func runSignet(_ arguments: [String]) -> Int32 {
    guard let command = arguments.first else {
        note(mainUsage)
        return 2
    }
    do {
        switch command {
        case "key": return try runKeyCommand(Array(arguments.dropFirst()))
        case "tuf": return try runTUFCommand(Array(arguments.dropFirst()))
        case "pull": return try runPullCommand(Array(arguments.dropFirst()))
        case "trust": return try runTrustCommand(Array(arguments.dropFirst()))
        case "sign": return try runSignCommand(Array(arguments.dropFirst()), revoke: false)
        case "revoke": return try runSignCommand(Array(arguments.dropFirst()), revoke: true)
        case "verify": return try runVerifyCommand(Array(arguments.dropFirst()))
        case "inspect": return try runInspectCommand(Array(arguments.dropFirst()))
        case "signer": return try runSignerCommand(Array(arguments.dropFirst()))
        case "timestamp": return try runTimestampCommand(Array(arguments.dropFirst()))
        case "push": return try runPushCommand(Array(arguments.dropFirst()))
        case "dct": return try runDCTCommand(Array(arguments.dropFirst()))
        case "man", "completion": return try runDocumentationCommand(command, Array(arguments.dropFirst()))
        case "policy": return try runPolicyCommand(Array(arguments.dropFirst()))
        case "copy": return try runCopyCommand(Array(arguments.dropFirst()))
        case "export": return try runExportCommand(Array(arguments.dropFirst()), importing: false)
        case "import": return try runExportCommand(Array(arguments.dropFirst()), importing: true)
        case "agent": return try runAgentCommand(Array(arguments.dropFirst()))
        case "login": return try runLoginCommand(Array(arguments.dropFirst()), logout: false)
        case "logout": return try runLoginCommand(Array(arguments.dropFirst()), logout: true)
        case "--version", "version":
            print("signet \(signetVersion)")
            return 0
        case "-h", "--help", "help":
            if command == "help", arguments.count > 1 { return runSignet([arguments[1], "--help"]) }
            print(mainUsage)
            return 0
        default:
            let hint = nearest(command, among: signetCommands).map { " (did you mean `signet \($0)`?)" } ?? ""
            throw UsageError("unknown command \"\(command)\"\(hint)\n\(mainUsage)")
        }
    } catch {
        let status = exitCode(for: error)
        if arguments.contains("--json") {
            let interrupted = TransferInterruption.wasRequested
            var e = JSONObject()
            e["code"] = .string(interrupted ? "interrupted" : errorCode(for: error))
            e["exitStatus"] = .integer(Int64(status))
            e["message"] = .string("\(error)")
            var o = JSONObject()
            o["error"] = .object(e)
            writeStandardError(JSONWriter.encode(.object(o), pretty: true))
        } else {
            note("signet: \(error)")
        }
        return status
    }
}

_ = RegistryOptions.commandStart
// Commands that talk to a registry start loading libcurl at once, on a thread of its own, and do the
// rest of their start-up meanwhile; the others never load it (the agent, which holds keys, maps none
// of libcurl's libraries).
let offlineCommands: Set<String> = ["key", "agent", "policy", "man", "completion", "version", "help"]
if let first = CommandLine.arguments.dropFirst().first, signetCommands.contains(first), !offlineCommands.contains(first),
   !CommandLine.arguments.contains("--help") {
    startLoadingCurl()
}
// The agent handles SIGINT/SIGTERM itself (it removes its socket and exits at once); Dispatch's signal
// sources would take those signals over from it.
if CommandLine.arguments.dropFirst().first != "agent" { Interrupts.install() }
let status = runSignet(Array(CommandLine.arguments.dropFirst()))
// Everything this process wrote is already in place (atomic writes are fsynced and renamed before they
// return) and output is flushed here, so the libraries' exit-time teardown (OpenSSL, curl's TLS
// libraries), which nothing needs, is skipped.
if Environment.value("SIGNET_KDF_STATS") == "1" {
    note("signet: argon2id derivations: \(KeyDerivationCache.derivationCount)")
}
fflush(nil)
_exit(status)
