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
    /// Member positions in ascending key-byte order, when known; only kept for large objects.
    private(set) var sortedPositions: [Int32]?
    /// Maps key bytes to the member's position; used for large objects without `sortedPositions`.
    private var index: [UTF8Key: Int]

    /// Creates an empty object.
    public init() {
        members = []
        sortedPositions = nil
        index = [:]
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
        self.sortedPositions = members.count > Self.indexThreshold ? sortedPositions : nil
        self.index = [:]
        if members.count > Self.indexThreshold && self.sortedPositions == nil {
            rebuildIndex()
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
                    sortedPositions = nil
                    rebuildIndex()
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
        if let order = sortedPositions {
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
        return index[UTF8Key(key)]
    }

    /// Appends a member whose key is known to be absent.
    private mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        if var order = sortedPositions {
            // Keep the key order when the new key sorts last; otherwise switch to the hash index.
            sortedPositions = nil
            if let last = order.last, utf8Less(members[Int(last)].key, key) {
                order.append(Int32(truncatingIfNeeded: members.count))
                members.append((key, value))
                sortedPositions = order
            } else {
                members.append((key, value))
                rebuildIndex()
            }
            return
        }
        members.append((key, value))
        if members.count > Self.indexThreshold {
            if index.isEmpty {
                rebuildIndex()
            } else {
                index[UTF8Key(key)] = members.count - 1
            }
        }
    }

    private mutating func rebuildIndex() {
        guard members.count > Self.indexThreshold else {
            index = [:]
            return
        }
        var fresh = [UTF8Key: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() {
            fresh[UTF8Key(member.key)] = position
        }
        index = fresh
    }
}
