import CSodium

/// Secret material: private keys, passphrases, derived keys, registry credentials.
///
/// The bytes live in one heap allocation that is overwritten with zeros when the last copy is released.
/// They are only reachable through ``withUnsafeBytes(_:)``; `description` and reflection print a redacted
/// placeholder, and `==` compares in constant time.
public struct SecretBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    final class Storage: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        /// Never nil: at least one byte is always allocated.
        let base: UnsafeMutablePointer<UInt8>
        init(count: Int) {
            base = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
            base.initialize(repeating: 0, count: max(count, 1))
            buffer = UnsafeMutableRawBufferPointer(start: base, count: max(count, 1))
            self.count = count
            locked = SecretMemory.lockingEnabled && sodium_mlock(base, max(count, 1)) == 0
        }
        let count: Int
        /// Whether the pages holding the bytes are locked in memory (never swapped out).
        let locked: Bool
        deinit {
            if locked { _ = sodium_munlock(base, max(count, 1)) } else { Sodium.zero(buffer) }
            buffer.deallocate()
        }
    }

    let storage: Storage

    /// Creates `count` secret bytes filled by `initializer`.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = Storage(count: count)
        try initializer(UnsafeMutableRawBufferPointer(rebasing: storage.buffer[0..<count]))
    }

    /// Copies bytes into a new secret. The caller remains responsible for wiping the source.
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { dst in
            if bytes.count > 0, let src = bytes.baseAddress, let d = dst.baseAddress { d.copyMemory(from: src, byteCount: bytes.count) }
        }
    }

    /// Moves bytes out of an array into a new secret and zeroes the array.
    public init(consuming bytes: inout [UInt8]) {
        self = bytes.withUnsafeBytes { SecretBytes(copying: $0) }
        bytes.withUnsafeMutableBytes { Sodium.zero($0) }
        bytes.removeAll()
    }

    /// Builds a secret from a string's UTF-8 bytes (for passphrases typed or read from a file).
    public init(utf8 string: String) {
        var copy = Array(string.utf8)
        self.init(consuming: &copy)
    }

    /// Overwrites an array's bytes with zeros and empties it (for buffers that held a secret in transit).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { Sodium.zero($0) }
        bytes.removeAll()
    }

    /// Number of bytes.
    public var count: Int { storage.count }

    /// Whether the secret is empty.
    public var isEmpty: Bool { storage.count == 0 }

    /// Calls `body` with read-only access to the bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage.buffer[0..<storage.count]))
    }

    /// Non-optional pointer access for C calls inside the module.
    func withPointer<R>(_ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
        try body(UnsafePointer(storage.base), storage.count)
    }

    /// Builds `count` secret bytes through a non-optional pointer.
    init(count: Int, pointerInitializer: (UnsafeMutablePointer<UInt8>) -> Void) {
        storage = Storage(count: count)
        pointerInitializer(storage.base)
    }

    /// A new secret with the bytes in `range`.
    public func slice(_ range: Range<Int>) -> SecretBytes {
        withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Constant-time comparison (the length is not secret).
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count]) }
}
