/// A JSON object: members kept in the order they were parsed or inserted, with unique keys.
///
/// Keys are compared only as UTF-8 byte sequences, never with Swift's `String ==` (which treats
/// "é" (U+00E9) and "e\u{301}" as equal). So those two are distinct keys here, exactly as they are
/// distinct bytes on the wire and in a signature.
///
/// Objects with more than eight members keep a lookup structure so that lookups stay fast for very
/// large objects: objects from the parser keep their members' positions in key-byte order (found while
/// checking for duplicates, reused by `CanonicalJSON` and for binary-search lookups); objects built or
/// restructured through the subscript keep a hash index over the key bytes instead.
///
/// Equality ignores member order: two objects are equal when they have the same byte-equal keys and
/// equal values.
public struct JSONObject: Sendable, Equatable, Sequence {
    /// Objects with more members than this get a lookup structure; smaller ones are scanned linearly.
    static let indexThreshold = 8

    /// One member: a key and its value.
    public typealias Member = (key: String, value: JSONValue)

    /// The members in stored order.
    public private(set) var members: [Member]
    /// Lookup structure; present exactly when `members.count > indexThreshold`.
    private var lookup: KeyLookup?

    /// Member positions in ascending key-byte order, when known (large parsed objects).
    var sortedPositions: [Int32]? { lookup?.sortedPositions }

    /// Creates an empty object.
    public init() {
        members = []
        lookup = nil
    }

    /// Creates an object with `members` in the given order.
    ///
    /// - Throws: `JSONError.duplicateKey(key, offset: 0)` when two keys have the same UTF-8 bytes.
    public init(_ members: [(String, JSONValue)]) throws(JSONError) {
        self.init()
        self.members.reserveCapacity(members.count)
        for (key, value) in members {
            if position(of: key) != nil {
                throw JSONError.duplicateKey(key, offset: 0)
            }
            appendUnchecked(key, value)
        }
    }

    /// Builds an object from members already known to have distinct keys, with their key order when
    /// known.
    init(uncheckedMembers members: [Member], sortedPositions: [Int32]?) {
        self.members = members
        self.lookup = nil
        if members.count > Self.indexThreshold {
            if let sortedPositions {
                lookup = KeyLookup(sortedPositions: sortedPositions)
            } else {
                rebuildLookup()
            }
        }
    }

    /// The number of members.
    public var count: Int { members.count }

    /// True when the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The keys in stored order.
    public var keys: [String] { members.map(\.key) }

    /// The value stored under the key with the same UTF-8 bytes as `key`, or nil.
    ///
    /// Setting a value replaces the value of a byte-equal key in place (keeping its position) or appends
    /// a new member; setting nil removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            if let position = position(of: key) {
                if let newValue {
                    members[position].value = newValue
                } else {
                    members.remove(at: position)
                    rebuildLookup()
                }
            } else if let newValue {
                appendUnchecked(key, newValue)
            }
        }
    }

    /// True when a key with the same UTF-8 bytes as `key` is present.
    public func contains(key: String) -> Bool { position(of: key) != nil }

    /// Returns an iterator over `(key, value)` pairs in stored order.
    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    /// The number of members, for `Sequence` clients that pre-size buffers.
    public var underestimatedCount: Int { members.count }

    /// Order-insensitive equality over byte-equal keys; values compare with `JSONValue.==`.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }

    // MARK: - Storage

    /// The position of the member whose key has the same UTF-8 bytes as `key`.
    func position(of key: String) -> Int? {
        let count = members.count
        if count <= Self.indexThreshold {
            let length = key.utf8.count
            return withUTF8Bytes(key) { wanted in
                for position in 0..<count where members[position].key.utf8.count == length {
                    if withUTF8Bytes(members[position].key, { bytesEqual($0, wanted) }) { return position }
                }
                return nil
            }
        }
        guard let lookup else { return nil }
        if let order = lookup.sortedPositions {
            return withUTF8Bytes(key) { wanted in
                var low = 0
                var high = order.count
                while low < high {
                    let middle = (low + high) / 2
                    let position = Int(order[middle])
                    let c = withUTF8Bytes(members[position].key) { compareBytes($0, wanted) }
                    if c == 0 { return position }
                    if c < 0 { low = middle + 1 } else { high = middle }
                }
                return nil
            }
        }
        return lookup.index[UTF8Key(key)]
    }

    /// Appends a member whose key is known to be absent.
    private mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        let position = members.count
        members.append((key, value))
        guard members.count > Self.indexThreshold else { return }
        guard lookup != nil else {
            rebuildLookup()
            return
        }
        if !isKnownUniquelyReferenced(&lookup) {
            lookup = lookup?.copy()
        }
        guard let lookup else { return }
        if var order = lookup.sortedPositions {
            // Keep the key order when the new key sorts last; otherwise switch to the hash index.
            lookup.sortedPositions = nil
            if let last = order.last, utf8Less(members[Int(last)].key, key) {
                order.append(Int32(truncatingIfNeeded: position))
                lookup.sortedPositions = order
            } else {
                rebuildLookup()
            }
        } else {
            lookup.index[UTF8Key(key)] = position
        }
    }

    /// Replaces the lookup structure with a fresh hash index (or none for small objects).
    private mutating func rebuildLookup() {
        guard members.count > Self.indexThreshold else {
            lookup = nil
            return
        }
        var index = [UTF8Key: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() {
            index[UTF8Key(member.key)] = position
        }
        lookup = KeyLookup(index: index)
    }
}

/// The lookup structure of a large `JSONObject`: either member positions in key-byte order (binary
/// search) or a hash index over the key bytes.
///
/// Mutated only through a `JSONObject` that holds the sole reference (copy-on-write), which is what
/// makes sharing it between threads safe.
final class KeyLookup: @unchecked Sendable {
    var sortedPositions: [Int32]?
    var index: [UTF8Key: Int]

    init(sortedPositions: [Int32]) {
        self.sortedPositions = sortedPositions
        self.index = [:]
    }

    init(index: [UTF8Key: Int]) {
        self.sortedPositions = nil
        self.index = index
    }

    private init(sortedPositions: [Int32]?, index: [UTF8Key: Int]) {
        self.sortedPositions = sortedPositions
        self.index = index
    }

    func copy() -> KeyLookup { KeyLookup(sortedPositions: sortedPositions, index: index) }
}
