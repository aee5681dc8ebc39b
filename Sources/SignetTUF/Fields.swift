import SignetJSON

/// A string compared and hashed by its UTF-8 bytes (never by Unicode canonical equivalence), for
/// dictionaries keyed by untrusted names: key IDs, role names, target paths.
public struct ByteKey: Hashable, Sendable, CustomStringConvertible {
    /// The UTF-8 bytes.
    public let bytes: [UInt8]
    /// The string as received.
    public let string: String
    /// Wraps a string.
    public init(_ string: String) {
        self.string = string
        bytes = Array(string.utf8)
    }
    public static func == (a: ByteKey, b: ByteKey) -> Bool { a.bytes == b.bytes }
    public func hash(into h: inout Hasher) { h.combine(bytes) }
    public var description: String { string }
}

/// Reads typed fields out of a JSON object, remembering which were read so that the rest can be kept
/// verbatim (unknown fields survive read-then-write, keeping signatures valid).
struct Fields {
    let file: String
    let context: String
    let object: JSONObject
    private var used: Set<ByteKey> = []

    init(_ value: JSONValue, file: String, context: String) throws(TUFError) {
        guard case .object(let o) = value else {
            throw TUFError.invalidMetadata(file: file, reason: "\(context) must be a JSON object")
        }
        self.init(o, file: file, context: context)
    }

    init(_ object: JSONObject, file: String, context: String) {
        self.object = object
        self.file = file
        self.context = context
    }

    func fail(_ reason: String) -> TUFError { .invalidMetadata(file: file, reason: "\(context): \(reason)") }

    mutating func optional(_ key: String) -> JSONValue? {
        used.insert(ByteKey(key))
        return object[key]
    }

    mutating func required(_ key: String) throws(TUFError) -> JSONValue {
        guard let v = optional(key) else { throw fail("missing field \"\(key)\"") }
        return v
    }

    mutating func string(_ key: String) throws(TUFError) -> String {
        guard case .string(let s) = try required(key) else { throw fail("\"\(key)\" must be a string") }
        return s
    }

    mutating func optionalString(_ key: String) throws(TUFError) -> String? {
        guard let v = optional(key) else { return nil }
        guard case .string(let s) = v else { throw fail("\"\(key)\" must be a string") }
        return s
    }

    mutating func integer(_ key: String, minimum: Int64) throws(TUFError) -> Int64 {
        guard case .integer(let i) = try required(key) else { throw fail("\"\(key)\" must be an integer") }
        guard i >= minimum else { throw fail("\"\(key)\" must be at least \(minimum), got \(i)") }
        return i
    }

    mutating func optionalInteger(_ key: String, minimum: Int64) throws(TUFError) -> Int64? {
        guard let v = optional(key) else { return nil }
        guard case .integer(let i) = v else { throw fail("\"\(key)\" must be an integer") }
        guard i >= minimum else { throw fail("\"\(key)\" must be at least \(minimum), got \(i)") }
        return i
    }

    mutating func optionalBool(_ key: String) throws(TUFError) -> Bool? {
        guard let v = optional(key) else { return nil }
        guard case .bool(let b) = v else { throw fail("\"\(key)\" must be true or false") }
        return b
    }

    mutating func objectField(_ key: String) throws(TUFError) -> JSONObject {
        guard case .object(let o) = try required(key) else { throw fail("\"\(key)\" must be an object") }
        return o
    }

    mutating func optionalObject(_ key: String) throws(TUFError) -> JSONObject? {
        guard let v = optional(key) else { return nil }
        guard case .object(let o) = v else { throw fail("\"\(key)\" must be an object") }
        return o
    }

    mutating func array(_ key: String) throws(TUFError) -> [JSONValue] {
        guard case .array(let a) = try required(key) else { throw fail("\"\(key)\" must be an array") }
        return a
    }

    mutating func optionalArray(_ key: String) throws(TUFError) -> [JSONValue]? {
        guard let v = optional(key) else { return nil }
        guard case .array(let a) = v else { throw fail("\"\(key)\" must be an array") }
        return a
    }

    mutating func stringArray(_ key: String, unique: Bool) throws(TUFError) -> [String] {
        try strings(try array(key), key: key, unique: unique)
    }

    mutating func optionalStringArray(_ key: String, unique: Bool) throws(TUFError) -> [String]? {
        guard let a = try optionalArray(key) else { return nil }
        return try strings(a, key: key, unique: unique)
    }

    private func strings(_ a: [JSONValue], key: String, unique: Bool) throws(TUFError) -> [String] {
        var out: [String] = []
        out.reserveCapacity(a.count)
        var seen: Set<ByteKey> = []
        for v in a {
            guard case .string(let s) = v else { throw fail("\"\(key)\" must hold only strings") }
            if unique, !seen.insert(ByteKey(s)).inserted { throw fail("\"\(key)\" lists \"\(s)\" twice") }
            out.append(s)
        }
        return out
    }

    /// Every member not read so far, in received order.
    func unknown() -> JSONObject {
        var rest = JSONObject()
        for m in object where !used.contains(ByteKey(m.key)) { rest[m.key] = m.value }
        return rest
    }
}

extension JSONObject {
    /// Adds the members of `extra` that are not already present.
    mutating func merge(unknown extra: JSONObject) {
        for m in extra where self[m.key] == nil { self[m.key] = m.value }
    }
}
