import SignetCrypto
import SignetJSON

/// A target as targets metadata describes it: length, hashes and optional `custom` data.
public struct TargetFile: Sendable {
    /// The target path (the key in the `targets` object).
    public var path: String
    /// Length in bytes.
    public var length: Int64
    /// Hashes by algorithm name (lowercase hex); never empty.
    public var hashes: [(String, String)]
    /// Application data (`custom`), if any.
    public var custom: JSONValue?
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a target entry.
    public init(path: String, length: Int64, hashes: [(String, String)], custom: JSONValue? = nil, unknown: JSONObject = JSONObject()) {
        self.path = path
        self.length = length
        self.hashes = hashes
        self.custom = custom
        self.unknown = unknown
    }

    /// Describes `bytes` with SHA-256 (and optionally SHA-512) hashes.
    /// - Throws: `CryptoError` if hashing fails.
    public init(path: String, bytes: [UInt8], custom: JSONValue? = nil, sha512: Bool = false) throws {
        var hashes = [("sha256", try SHA256.hash(bytes).hex)]
        if sha512 { hashes.append(("sha512", try SHA512.hash(bytes).hex)) }
        self.init(path: path, length: Int64(bytes.count), hashes: hashes, custom: custom)
    }

    init(path: String, json: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: "target \"\(path)\"")
        self.path = path
        length = try f.integer("length", minimum: 0)
        hashes = try parseHashes(try f.objectField("hashes"), fields: f)
        custom = f.optional("custom")
        unknown = f.unknown()
    }

    /// The entry as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["length"] = .integer(length)
        o["hashes"] = .object(hashesObject(hashes))
        if let custom { o["custom"] = custom }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// The SHA-256 digest, if listed and well formed.
    public var sha256: Digest? {
        guard let hex = hashes.first(where: { $0.0 == "sha256" })?.1 else { return nil }
        return try? Digest(algorithm: .sha256, hex: hex)
    }

    /// Supported digests listed for this target (unsupported algorithms are skipped).
    /// - Throws: `TUFError.noSupportedHash` if none is supported, `.invalidMetadata` for malformed hex.
    public func supportedDigests() throws(TUFError) -> [Digest] {
        var out: [Digest] = []
        for (name, hex) in hashes {
            guard let algorithm = DigestAlgorithm(rawValue: name) else { continue }
            guard let d = try? Digest(algorithm: algorithm, hex: hex) else {
                throw TUFError.invalidMetadata(file: path, reason: "\(name) hash is not \(algorithm.byteCount * 2) lowercase hex characters")
            }
            out.append(d)
        }
        if out.isEmpty { throw TUFError.noSupportedHash(file: path) }
        return out
    }

    /// Checks bytes against the length and every supported hash.
    /// - Throws: `TUFError.lengthMismatch`, `.hashMismatch`, `.noSupportedHash`.
    public func verify(_ bytes: [UInt8]) throws(TUFError) {
        guard Int64(bytes.count) == length else {
            throw TUFError.lengthMismatch(file: path, expected: length, received: Int64(bytes.count))
        }
        try verifyHashes(hashes, of: bytes, file: path)
    }
}
