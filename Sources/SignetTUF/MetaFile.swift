import SignetCrypto
import SignetJSON

/// What timestamp says of snapshot, and snapshot of each targets role: version, and optionally length and hashes.
public struct MetaFile: Sendable {
    /// The listed version (at least 1).
    public var version: Int64
    /// The listed length in bytes, if any.
    public var length: Int64?
    /// Listed hashes by algorithm name, as lowercase hex, if any.
    public var hashes: [(String, String)]?
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a meta entry.
    public init(version: Int64, length: Int64? = nil, hashes: [(String, String)]? = nil, unknown: JSONObject = JSONObject()) {
        self.version = version
        self.length = length
        self.hashes = hashes
        self.unknown = unknown
    }

    init(json: JSONValue, file: String, context: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: context)
        version = try f.integer("version", minimum: 1)
        length = try f.optionalInteger("length", minimum: 0)
        if let h = try f.optionalObject("hashes") {
            hashes = try parseHashes(h, fields: f)
        }
        unknown = f.unknown()
    }

    /// The entry as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["version"] = .integer(version)
        if let length { o["length"] = .integer(length) }
        if let hashes { o["hashes"] = .object(hashesObject(hashes)) }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Checks downloaded bytes against the listed length and every listed supported hash.
    /// - Throws: `TUFError.lengthMismatch`, `.hashMismatch`, `.noSupportedHash`.
    public func verify(_ bytes: [UInt8], file: String) throws(TUFError) {
        try verify(bytes, file: file, computed: [])
    }

    /// As `verify`, taking the digest of an algorithm from `computed` when there (digests the caller
    /// computed over exactly these bytes while they arrived).
    func verify(_ bytes: [UInt8], file: String, computed: [Digest]) throws(TUFError) {
        if let length, Int64(bytes.count) != length {
            throw TUFError.lengthMismatch(file: file, expected: length, received: Int64(bytes.count))
        }
        if let hashes { try verifyHashes(hashes, of: bytes, file: file, computed: computed) }
    }
}

func parseHashes(_ o: JSONObject, fields f: Fields) throws(TUFError) -> [(String, String)] {
    guard !o.isEmpty else { throw f.fail("\"hashes\" must not be empty") }
    var out: [(String, String)] = []
    for m in o {
        guard case .string(let h) = m.value, !h.isEmpty else { throw f.fail("hash \"\(m.key)\" must be a non-empty string") }
        out.append((m.key, h))
    }
    return out
}

func hashesObject(_ hashes: [(String, String)]) -> JSONObject {
    var o = JSONObject()
    for (k, v) in hashes { o[k] = .string(v) }
    return o
}

/// Checks every listed hash whose algorithm is supported; at least one must be supported.
func verifyHashes(_ hashes: [(String, String)], of bytes: [UInt8], file: String, computed: [Digest] = []) throws(TUFError) {
    var checked = 0
    for (name, expectedHex) in hashes {
        guard let algorithm = DigestAlgorithm(rawValue: name) else { continue }
        guard let expected = try? Digest(algorithm: algorithm, hex: expectedHex),
              let actual = computed.first(where: { $0.algorithm == algorithm }) ?? (try? Digest.compute(algorithm, over: bytes)),
              actual == expected else {
            throw TUFError.hashMismatch(file: file, algorithm: name)
        }
        checked += 1
    }
    if checked == 0 { throw TUFError.noSupportedHash(file: file) }
}
