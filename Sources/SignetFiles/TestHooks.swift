import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Switches for crash-safety and clock tests. They exist only in debug builds, or in builds made with
/// `-Xswiftc -DSIGNET_UNSAFE_TEST_HOOKS` (used by benchmarks); a release build ignores the variables.
public enum TestHooks {
    /// Whether this build honours test switches.
    public static var enabled: Bool {
        #if DEBUG || SIGNET_UNSAFE_TEST_HOOKS
        return true
        #else
        return false
        #endif
    }

    /// The value of a test-only environment variable, or nil in builds without test hooks.
    public static func environment(_ name: String) -> String? {
        guard enabled else { return nil }
        return Environment.value(name)
    }

    /// Test hook: when `SIGNET_FAULT_INJECT` is `POINT` or `POINT:FILENAME` for this point (and file),
    /// the process exits abruptly here (status 70), to prove that an interrupted write leaves the
    /// previous state intact.
    public static func faultPoint(_ name: String, path: String) {
        guard let spec = environment("SIGNET_FAULT_INJECT") else { return }
        let file = AtomicFile.name(of: path)
        guard spec == name || spec == "\(name):\(file)" else { return }
        _exit(70)
    }
}
