import Foundation
import SignetCrypto
import SignetOCI
import SignetTUF

let mainUsage = """
usage: signet <command> [options]

commands:
  key     manage signing keys (generate, list, import, export)
  tuf     create and maintain a static TUF repository (init, add-target, delegate, sign, rotate, renew, status)
  pull    pull an image by digest into an OCI image layout, verifying every byte
  push    push an image from an OCI image layout to a registry

Run `signet <command> --help` for details.
Exit status: 0 success, 1 verification failure or refused change, 2 usage error, 3 network or registry error,
4 local error (pull/push: files, OCI layout, credentials), 130 interrupted.
"""

func exitCode(for error: Error) -> Int32 {
    switch error {
    case is UsageError: return 2
    case let e as OCIError: return ociExitCode(for: e)
    case let e as KeyringError:
        if case .crypto = e { return 1 }
        return 1
    default: return 1
    }
}

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
        case "push": return try runPushCommand(Array(arguments.dropFirst()))
        case "-h", "--help", "help":
            print(mainUsage)
            return 0
        default:
            throw UsageError("unknown command \"\(command)\"\n\(mainUsage)")
        }
    } catch {
        note("signet: \(error)")
        return exitCode(for: error)
    }
}

exit(runSignet(Array(CommandLine.arguments.dropFirst())))
