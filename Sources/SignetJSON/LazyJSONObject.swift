/// An object whose member values are kept as validated byte ranges of the source document and decoded on
/// demand, from `JSONParser.parse(_:lazyPath:limits:)`.
///
/// It shares the document's `[UInt8]` (no copy) and holds an index from key bytes to where each value
/// starts: a hash table over the keys' UTF-8 bytes (about 50 bytes per member). Keys are compared only as
/// UTF-8 bytes, never with Swift's `String ==`, so "é" (U+00E9) and "e\u{301}" are different keys, as in
/// `JSONObject`. The document was fully validated when the object was made, duplicate keys included.
public struct LazyJSONObject: Sendable {
    let document: [UInt8]
    /// Members in document order.
    let members: SegmentedList<LazyMember>
    /// Decoded bytes of the keys that were written with escapes (see `KeyRef`).
    let escapedKeys: [UInt8]
    /// Hash slots: member position + 1, or 0 when free; the count is a power of two.
    let table: [Int]
    let maxDepth: Int

    /// The number of members.
    public var count: Int { members.count }

    /// The keys in document order.
    public var keys: [String] {
        withKeys { key in (0..<members.count).map { String(decoding: key(members[$0]), as: UTF8.self) } }
    }

    /// True when a key with the same UTF-8 bytes as `key` is present.
    public func contains(key: String) -> Bool { position(of: key) != nil }

    /// The value of the member whose key has the same UTF-8 bytes as `key`, parsed from the document now;
    /// nil when there is no such member. The value equals the one `JSONParser.parse` produces for it.
    ///
    /// - Throws: nothing in practice: the value was validated with the document. The signature keeps
    ///   `JSONError` so that a broken invariant surfaces as an error rather than a crash.
    public func value(forKey key: String) throws(JSONError) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        let start = members[position].valueStart
        let values = try parseValues(count: 1) { _ in start }
        return values.first
    }

    /// Parses every member and returns the object `JSONParser.parse` would have produced: members in
    /// document order, with the same key-order lookup structure.
    ///
    /// - Throws: nothing in practice (see `value(forKey:)`).
    public func toJSONObject() throws(JSONError) -> JSONObject {
        let list = members
        let values = try parseValues(count: list.count) { list[$0].valueStart }
        let names = keys
        var pairs: [JSONObject.Member] = []
        pairs.reserveCapacity(list.count)
        for n in 0..<list.count { pairs.append((names[n], values[n])) }
        var sortedPositions: [Int32]?
        if pairs.count > JSONObject.indexThreshold {
            sortedPositions = pairs.withUnsafeBufferPointer { sortKeyPositions($0).order }
        }
        return JSONObject(uncheckedMembers: pairs, sortedPositions: sortedPositions)
    }

    // MARK: - Lookup

    /// Calls `body` with a function that gives a member's key bytes (valid only during the call).
    private func withKeys<R>(_ body: ((LazyMember) -> UnsafeBufferPointer<UInt8>) -> R) -> R {
        document.withUnsafeBufferPointer { source in
            escapedKeys.withUnsafeBufferPointer { decoded in
                body { member in
                    let start = member.keyStart >= 0
                        ? source.baseAddress.map { $0 + member.keyStart }
                        : decoded.baseAddress.map { $0 + ~member.keyStart }
                    return UnsafeBufferPointer(start: start, count: start == nil ? 0 : member.keyLength)
                }
            }
        }
    }

    /// The position of the member whose key has the same UTF-8 bytes as `key`.
    func position(of key: String) -> Int? {
        guard !table.isEmpty else { return nil }
        return withUTF8Bytes(key) { wanted in
            let hash = hashKeyBytes(wanted)
            let mask = table.count - 1
            return withKeys { keyBytes in
                var slot = hash & mask
                while true {
                    let entry = table[slot]
                    if entry == 0 { return nil }
                    let member = members[entry - 1]
                    if member.hash == hash && bytesEqual(keyBytes(member), wanted) { return entry - 1 }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private func parseValues(count: Int, start: (Int) -> Int) throws(JSONError) -> [JSONValue] {
        let result = document.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> [JSONValue] in
                try JSONParser.parseValidatedValues(in: buffer, count: count, maxDepth: maxDepth, start: start)
            }
        }
        return try result.get()
    }
}

extension JSONParser {
    /// Parses `bytes` strictly like `parse(_:limits:)`, except that the object at `lazyPath` (object keys
    /// from the top-level value, compared as UTF-8 bytes; for example `["signed", "targets"]`) is not
    /// materialised: in the returned tree it is an empty object, and its members come back as a
    /// `LazyJSONObject` that shares `bytes`. The second result is nil when the path cannot be followed or
    /// leads to something other than an object; the tree is then complete.
    ///
    /// The whole document is validated as `parse` validates it, the lazy object's values and duplicate
    /// keys included.
    ///
    /// - Throws: exactly the `JSONError` that `parse(_:limits:)` throws for `bytes`.
    public static func parse(
        _ bytes: [UInt8], lazyPath: [String], limits: JSONLimits = .default
    ) throws(JSONError) -> (JSONValue, LazyJSONObject?) {
        typealias Index = (members: SegmentedList<LazyMember>, escapedKeys: [UInt8], table: [Int])
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> (JSONValue, Index?) in
                let base = try checkedStart(buffer, limits: limits)
                var scanner = StreamScanner(
                    base: base, count: buffer.count, maxDepth: limits.maxDepth, path: lazyPath, goal: .index,
                    out: ByteSink(capacity: 16))
                try scanner.scanDocument()
                guard scanner.indexedObject, let range = scanner.targetRange else {
                    return (try parseBuffer(buffer, limits: limits), nil)
                }
                // The document is valid; build the tree of everything but the indexed object.
                let tree = try parseBuffer(buffer, limits: limits, skipping: range)
                let index: Index = (scanner.lazyMembers, scanner.lazyKeys.makeArray(), scanner.lazyTable)
                return (tree, index)
            }
        }
        let (tree, index) = try result.get()
        guard let index else { return (tree, nil) }
        let object = LazyJSONObject(
            document: bytes, members: index.members, escapedKeys: index.escapedKeys, table: index.table,
            maxDepth: limits.maxDepth)
        return (tree, object)
    }
}

