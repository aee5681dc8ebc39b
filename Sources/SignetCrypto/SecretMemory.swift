import COpenSSL
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide protections for a process that holds private keys for a long time (the agent).
public enum SecretMemory {
    nonisolated(unsafe) static var lockingEnabled = false

    /// What ``hardenProcess()`` achieved, for the agent's start-up report.
    public struct Protections: Sendable, CustomStringConvertible {
        /// Secrets are locked in memory (`mlock`), so they are never written to swap.
        public var lockedMemory: Bool
        /// OpenSSL keeps private key numbers in its locked secure heap.
        public var secureHeap: Bool
        /// The process cannot be dumped or attached to by other processes of the same user.
        public var notDumpable: Bool

        public var description: String {
            "memory locking \(lockedMemory ? "on" : "unavailable"), OpenSSL secure heap \(secureHeap ? "on" : "unavailable"), "
                + "core dumps and ptrace \(notDumpable ? "off" : "still possible")"
        }
    }

    /// Call once, before any key is loaded and before other threads start: from then on every
    /// `SecretBytes` is locked in memory (best effort: within `RLIMIT_MEMLOCK`), OpenSSL allocates
    /// private key numbers from a locked secure heap, the process is marked not dumpable (no core files,
    /// no `ptrace` by other processes of the same user) and core dumps are disabled.
    public static func hardenProcess() -> Protections {
        var core = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &core)
        let notDumpable = signet_set_not_dumpable() == 0
        let heap = CRYPTO_secure_malloc_init(1 << 20, 16) != 0
        // One probe allocation tells whether mlock works here at all.
        lockingEnabled = true
        let probe = SecretBytes(count: 32) { (_: UnsafeMutableRawBufferPointer) in }
        let locked = probe.storage.locked
        return Protections(lockedMemory: locked, secureHeap: heap, notDumpable: notDumpable)
    }
}
