import FoundationEssentials
import Dispatch
import Glibc
import SignetPlatform
import SignetJSON
import SignetHTTP
import SignetOCI

/// Exit statuses of `signet pull` and `signet push` for library errors:
/// 1 verification failure, 2 usage error, 3 network or registry error (authentication included),
/// 4 local error (files, OCI layout, credential lookup), 130 interrupted by SIGINT/SIGTERM.
func ociExitCode(for error: OCIError) -> Int32 { error.exitCode }

/// Writes a JSON document (encoded by `JSONWriter`) to standard output.
func printJSONValue(_ value: JSONValue) {
    writeAll(1, JSONWriter.encode(value, pretty: true))
}

/// Whether standard error is a terminal (progress is drawn only then).
var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

/// `bytes` as a short human-readable size with binary units.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : formatOneDecimal(value) + " " + units[unit]
}

/// JSON for a descriptor in command results.
func descriptorJSON(_ descriptor: Descriptor, extra: [(String, JSONValue)] = []) -> JSONValue {
    var object = JSONObject()
    object["digest"] = .string(descriptor.digest.ociString)
    object["mediaType"] = .string(descriptor.mediaType)
    object["size"] = .integer(descriptor.size)
    if let platform = descriptor.platform { object["platform"] = .string(platform.description) }
    for (key, value) in extra { object[key] = value }
    return .object(object)
}

/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a stop every command honours: transfers end within
/// a second (libcurl's progress callback checks at least that often), staging files are deleted, and the
/// command exits with status 130. Whatever still runs 1.5 s later (a computation, a critical section
/// that outlives its deadline) ends then; a second signal ends the process at once.
enum Interrupts {
    /// Set on the first signal (pulls check it between chunks, too).
    static let flag = CancellationFlag()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                flag.cancel()
                TransferInterruption.request()
                signal(number, SIG_DFL)
                forceExitLater()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Ends the process with 130 if it has not ended 1.5 s after the signal (waiting while a critical
    /// section runs).
    private static func forceExitLater() {
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) {
            if TransferInterruption.isHeldOff { return forceExitLater() }
            note("signet: interrupted")
            fflush(nil)
            _exit(130)
        }
    }
}
