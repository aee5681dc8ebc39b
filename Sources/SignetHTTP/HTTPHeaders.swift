/// An ordered list of HTTP header fields with case-insensitive lookup by name.
///
/// Duplicates are kept in the order received (e.g. several `WWW-Authenticate` challenges).
/// Names are matched ASCII-case-insensitively, as HTTP requires.
public struct HTTPHeaders: Sendable {
    /// Every field in order, as (name, value) with the name spelled as received.
    public var all: [(String, String)]

    /// Creates a header list from (name, value) pairs, kept in order.
    public init(_ fields: [(String, String)] = []) {
        self.all = fields
    }

    /// The value of the first field called `name` (case-insensitive), or `nil` if there is none.
    public subscript(name: String) -> String? {
        let wanted = HTTPHeaders.lowercasedASCII(name)
        for (fieldName, value) in all where HTTPHeaders.lowercasedASCII(fieldName) == wanted {
            return value
        }
        return nil
    }

    /// All values of fields called `name` (case-insensitive), in order; empty if there are none.
    public func values(_ name: String) -> [String] {
        let wanted = HTTPHeaders.lowercasedASCII(name)
        return all.compactMap { HTTPHeaders.lowercasedASCII($0.0) == wanted ? $0.1 : nil }
    }

    /// Whether at least one field called `name` (case-insensitive) is present.
    public func contains(_ name: String) -> Bool {
        self[name] != nil
    }

    /// `name` with ASCII letters lowercased and everything else unchanged (HTTP field names are
    /// ASCII; Unicode case folding must not make two different names equal).
    static func lowercasedASCII(_ name: String) -> String {
        var bytes = Array(name.utf8)
        for index in bytes.indices where bytes[index] >= 0x41 && bytes[index] <= 0x5A {
            bytes[index] += 0x20
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
