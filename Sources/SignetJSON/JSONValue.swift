/// One JSON value, as produced by `JSONParser` and consumed by `CanonicalJSON` and `JSONWriter`.
///
/// Equality is exact: strings compare by their UTF-8 bytes (not by Unicode canonical equivalence),
/// floats by their source text, objects by byte-equal keys regardless of order.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in a signed 64-bit integer. `-0` parses as `0`.
    case integer(Int64)
    /// A number with a fraction and/or exponent, kept as its exact source text (for example `"1.50"`).
    /// Canonical encoding refuses it; `JSONWriter` writes the text back unchanged.
    case float(String)
    /// A string, holding exactly the code points of the source (no normalisation).
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object(JSONObject)

    /// The string, when this is `.string`; otherwise nil.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The integer, when this is `.integer`; otherwise nil.
    public var integerValue: Int64? {
        if case let .integer(value) = self { return value }
        return nil
    }

    /// The Boolean, when this is `.bool`; otherwise nil.
    public var boolValue: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// The number's source text, when this is `.float`; otherwise nil.
    public var floatText: String? {
        if case let .float(text) = self { return text }
        return nil
    }

    /// The elements, when this is `.array`; otherwise nil.
    public var arrayValue: [JSONValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    /// The object, when this is `.object`; otherwise nil.
    public var objectValue: JSONObject? {
        if case let .object(value) = self { return value }
        return nil
    }

    /// True when this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key` (compared as UTF-8 bytes) when this is an object; nil when the key is
    /// absent or this is not an object.
    public subscript(key: String) -> JSONValue? {
        if case let .object(object) = self { return object[key] }
        return nil
    }

    /// The element at `index` when this is an array and the index is in range; otherwise nil.
    public subscript(index: Int) -> JSONValue? {
        if case let .array(elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// Exact structural equality; strings compare by UTF-8 bytes.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.float(a), .float(b)): return utf8Equal(a, b)
        case let (.string(a), .string(b)): return utf8Equal(a, b)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// Creates `.null` from `nil`.
    public init(nilLiteral: ()) { self = .null }
    /// Creates `.bool` from a Boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// Creates `.integer` from an integer literal.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// Creates `.string` from a string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates `.array` from an array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    /// Creates `.object` from a dictionary literal, keeping the written order.
    ///
    /// A literal that repeats a key (by UTF-8 bytes) is a programming error and stops the program, as
    /// a Swift `Dictionary` literal does; use `JSONObject.init(_:)` for keys that come from input.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements {
            precondition(!object.contains(key: key), "duplicate key in JSONValue dictionary literal")
            object[key] = value
        }
        self = .object(object)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Creates an object from a dictionary literal, keeping the written order.
    ///
    /// A literal that repeats a key (by UTF-8 bytes) is a programming error and stops the program, as
    /// a Swift `Dictionary` literal does; use `init(_:)` for keys that come from input.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        for (key, value) in elements {
            precondition(!contains(key: key), "duplicate key in JSONObject dictionary literal")
            self[key] = value
        }
    }
}
