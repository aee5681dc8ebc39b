import FoundationEssentials
import Glibc

/// Hash algorithms Signet computes (all through OpenSSL EVP).
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha256, sha384, sha512

    /// Length of a digest in bytes.
    public var byteCount: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }
}

/// A computed or expected digest: algorithm plus bytes. `==` compares in constant time.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    /// The algorithm.
    public let algorithm: DigestAlgorithm
    /// The raw digest bytes.
    public let bytes: [UInt8]

    /// Wraps raw digest bytes.
    /// - Throws: `CryptoError.invalidDigest` when the length does not fit the algorithm.
    public init(algorithm: DigestAlgorithm, bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == algorithm.byteCount else {
            throw CryptoError.invalidDigest("\(algorithm.rawValue) digests are \(algorithm.byteCount) bytes, got \(bytes.count)")
        }
        self.algorithm = algorithm
        self.bytes = bytes
    }

    init(trusted algorithm: DigestAlgorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Parses lowercase hex (uppercase is rejected so that one digest has one spelling).
    /// - Throws: `CryptoError.invalidDigest` for bad characters or length.
    public init(algorithm: DigestAlgorithm, hex: String) throws(CryptoError) {
        guard let raw = Hex.decode(hex, lowercaseOnly: true) else {
            throw CryptoError.invalidDigest("expected \(algorithm.byteCount * 2) lowercase hex characters for \(algorithm.rawValue), got \(Hex.preview(hex))")
        }
        try self.init(algorithm: algorithm, bytes: raw)
    }

    /// Parses the OCI form `algorithm:hex`, for example `sha256:e3b0…`.
    /// - Throws: `CryptoError.invalidDigest` for an unknown algorithm or bad hex.
    public init(oci text: String) throws(CryptoError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw CryptoError.invalidDigest("expected ALGORITHM:HEX, got \(Hex.preview(text))")
        }
        let name = String(text[..<colon])
        guard let algorithm = DigestAlgorithm(rawValue: name) else {
            throw CryptoError.invalidDigest("unsupported digest algorithm \(Hex.preview(name)) (expected sha256, sha384 or sha512)")
        }
        try self.init(algorithm: algorithm, hex: String(text[text.index(after: colon)...]))
    }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }
    /// Standard base64 with padding.
    public var base64: String { Data(bytes).base64EncodedString() }
    /// `algorithm:hex`, the OCI digest string.
    public var ociString: String { "\(algorithm.rawValue):\(hex)" }
    public var description: String { ociString }

    public static func == (lhs: Digest, rhs: Digest) -> Bool {
        guard lhs.algorithm == rhs.algorithm else { return false }
        return lhs.bytes.withUnsafeBytes { a in rhs.bytes.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(algorithm)
        hasher.combine(bytes)
    }

    /// Computes a digest of `bytes` in one call.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide the algorithm.
    public static func compute(_ algorithm: DigestAlgorithm, over bytes: UnsafeRawBufferPointer) throws(CryptoError) -> Digest {
        Digest(trusted: algorithm, bytes: try DigestContext.oneShot(algorithm, bytes))
    }

    /// Computes a digest of `bytes` in one call.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide the algorithm.
    public static func compute(_ algorithm: DigestAlgorithm, over bytes: [UInt8]) throws(CryptoError) -> Digest {
        try withBytes(bytes) { (buf) throws(CryptoError) -> Digest in try compute(algorithm, over: buf) }
    }
}

/// SHA-256 shortcuts.
public enum SHA256 {
    /// SHA-256 of `bytes`.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide SHA-256.
    public static func hash(_ bytes: [UInt8]) throws(CryptoError) -> Digest { try Digest.compute(.sha256, over: bytes) }
    /// SHA-256 of `bytes`.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide SHA-256.
    public static func hash(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> Digest { try Digest.compute(.sha256, over: bytes) }
}

/// SHA-512 shortcuts.
public enum SHA512 {
    /// SHA-512 of `bytes`.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide SHA-512.
    public static func hash(_ bytes: [UInt8]) throws(CryptoError) -> Digest { try Digest.compute(.sha512, over: bytes) }
}

/// Incremental hashing: feed bytes with `update`, then `finalize` once.
public final class StreamingDigest {
    private let context: DigestContext
    private var finished = false
    /// Total bytes fed so far.
    public private(set) var byteCount: Int64 = 0

    /// Starts a new hash.
    /// - Throws: `CryptoError.library` if OpenSSL cannot provide the algorithm.
    public init(_ algorithm: DigestAlgorithm) throws(CryptoError) {
        context = try DigestContext(algorithm)
    }

    /// The algorithm being computed.
    public var algorithm: DigestAlgorithm { context.algorithm }

    /// Feeds more bytes. Calls after `finalize` are ignored.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !finished else { return }
        byteCount += Int64(bytes.count)
        context.update(bytes)
    }

    /// Feeds more bytes.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Returns the digest of everything fed; the hasher cannot be used afterwards.
    public func finalize() -> Digest {
        finished = true
        return Digest(trusted: context.algorithm, bytes: context.finalize())
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex; returns nil for odd length or non-hex characters.
    public static func decode(_ text: String, lowercaseOnly: Bool = false) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i], lowercaseOnly), let lo = value(utf8[i + 1], lowercaseOnly) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8, _ lowercaseOnly: Bool) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F") where !lowercaseOnly: return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// A short, printable preview of untrusted text for error messages.
    static func preview(_ text: String) -> String {
        let limited = text.unicodeScalars.prefix(80).map { s -> String in
            (s.value >= 0x20 && s.value < 0x7f) ? String(s) : "\\u{\(String(s.value, radix: 16))}"
        }.joined()
        return "\"" + limited + (text.unicodeScalars.count > 80 ? "…" : "") + "\""
    }
}
