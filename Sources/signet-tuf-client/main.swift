import FoundationEssentials
import Glibc
import SignetHTTP
import SignetPlatform
import SignetTUF

// signet-tuf-client: the TUF client command-line protocol used by conformance test suites.
//   signet-tuf-client --metadata-dir DIR init ROOT_FILE
//   signet-tuf-client --metadata-dir DIR --metadata-url URL refresh
//   signet-tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH [--target-name PATH ...]
//                     --target-base-url URL --target-dir DIR download
// Exit status: 0 on success, 1 on any failure.

struct Invocation {
    var metadataDir: String?
    var metadataURL: String?
    var targetNames: [String] = []
    var targetBaseURL: String?
    var targetDir: String?
    var command: String?
    var operands: [String] = []
}

func log(_ message: String) {
    writeStandardError("signet-tuf-client: \(message)\n".utf8)
}

struct UsageError: Error { let message: String }

func parse(_ args: [String]) -> Result<Invocation, UsageError> {
    var inv = Invocation()
    var i = 0
    func value(_ name: String) -> String? {
        guard i + 1 < args.count else { return nil }
        i += 1
        return args[i]
    }
    while i < args.count {
        let a = args[i]
        switch a {
        case "--metadata-dir": guard let v = value(a) else { return .failure(UsageError(message: "\(a) needs a value")) }; inv.metadataDir = v
        case "--metadata-url": guard let v = value(a) else { return .failure(UsageError(message: "\(a) needs a value")) }; inv.metadataURL = v
        case "--target-name": guard let v = value(a) else { return .failure(UsageError(message: "\(a) needs a value")) }; inv.targetNames.append(v)
        case "--target-base-url": guard let v = value(a) else { return .failure(UsageError(message: "\(a) needs a value")) }; inv.targetBaseURL = v
        case "--target-dir": guard let v = value(a) else { return .failure(UsageError(message: "\(a) needs a value")) }; inv.targetDir = v
        case "-h", "--help": return .failure(UsageError(message: "help"))
        default:
            if a.hasPrefix("--") { return .failure(UsageError(message: "unknown option \(a)")) }
            if inv.command == nil { inv.command = a } else { inv.operands.append(a) }
        }
        i += 1
    }
    return .success(inv)
}

let usage = """
usage: signet-tuf-client --metadata-dir DIR init ROOT_FILE
       signet-tuf-client --metadata-dir DIR --metadata-url URL refresh
       signet-tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH [--target-name PATH ...]
                         --target-base-url URL --target-dir DIR download
"""

func run() -> Int32 {
    let inv: Invocation
    switch parse(Array(CommandLine.arguments.dropFirst())) {
    case .success(let v): inv = v
    case .failure(let error):
        if error.message != "help" { log(error.message) }
        writeStandardError((usage + "\n").utf8)
        return 1
    }
    guard let dir = inv.metadataDir else { log("--metadata-dir is required"); return 1 }
    // The commands that make HTTP requests load libcurl on another thread while they read local state.
    if inv.command == "refresh" || inv.command == "download", let url = inv.metadataURL, url.hasPrefix("http://") || url.hasPrefix("https://") {
        startLoadingCurl()
    }
    do {
        switch inv.command {
        case "init":
            guard inv.operands.count == 1 else { log("init takes exactly one ROOT_FILE"); return 1 }
            try TUFClient.initialize(metadataDir: dir, rootFile: inv.operands[0])
            log("trusted root stored in \(dir)/root.json")
        case "refresh":
            guard let url = inv.metadataURL else { log("--metadata-url is required"); return 1 }
            let updater = try TUFClient.updater(metadataDir: dir, metadataURL: url) { log($0.description) }
            try updater.refresh()
            log("refresh complete")
            withExtendedLifetime(updater) { finish(0) }
        case "download":
            guard let url = inv.metadataURL, let base = inv.targetBaseURL, let targetDir = inv.targetDir, !inv.targetNames.isEmpty else {
                log("download needs --metadata-url, --target-name, --target-base-url and --target-dir")
                return 1
            }
            let updater = try TUFClient.updater(metadataDir: dir, metadataURL: url) { log($0.description) }
            let paths = try TUFClient.download(updater: updater, targets: inv.targetNames, targetBaseURL: base, targetDir: targetDir)
            log("downloaded \(paths.count) target(s)")
            // Exit while the updater is alive: tearing down a large trusted set only costs time.
            withExtendedLifetime(updater) { finish(0) }
        case .some(let other):
            log("unknown command \(other)")
            return 1
        case .none:
            log("no command given")
            writeStandardError((usage + "\n").utf8)
            return 1
        }
        return 0
    } catch {
        log("error: \(error)")
        return 1
    }
}

/// Exits once libcurl, if it is being loaded, is loaded: `exit` runs the TLS libraries' clean-up
/// handlers, which must not run while they are being set up on the loading thread.
func finish(_ status: Int32) -> Never {
    waitForCurlLoading()
    exit(status)
}

finish(run())
