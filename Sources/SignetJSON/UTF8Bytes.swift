// Byte-level helpers. JSON object keys are compared, hashed and ordered by their UTF-8 bytes only;
// Swift's `String ==` and `<` apply Unicode canonical equivalence, which would merge "é" (U+00E9) and
// "e\u{301}" into one key, so they are never used for keys.

/// Calls `body` with the string's UTF-8 bytes in contiguous memory (no copy for native strings).
@inline(__always)
func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    if let result = try string.utf8.withContiguousStorageIfAvailable(body) {
        return result
    }
    var contiguous = string
    return try contiguous.withUTF8(body)
}

/// Loads eight bytes starting at `pointer` without alignment requirements.
@inline(__always)
func loadWord(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
    UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self)
}

/// Has the high bit set in some byte exactly when some byte of `word` equals `byte`. Only the presence
/// is exact: a borrow can also mark bytes above a matching one.
@inline(__always)
func bytesEqualMask(_ word: UInt64, _ byte: UInt8) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let difference = word ^ (ones &* UInt64(byte))
    return (difference &- ones) & ~difference & 0x8080_8080_8080_8080
}

/// Has the high bit set in some byte exactly when some byte of `word` is below `bound` (at most 0x80).
/// Only the presence is exact, as for `bytesEqualMask`.
@inline(__always)
func bytesBelowMask(_ word: UInt64, _ bound: UInt8) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    return (word &- (ones &* UInt64(bound))) & ~word & 0x8080_8080_8080_8080
}

/// True when the two byte buffers hold the same bytes.
@inline(__always)
func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let count = a.count
    guard count == b.count else { return false }
    guard count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    if pa == pb { return true }
    var i = 0
    while i + 8 <= count {
        if loadWord(pa + i) != loadWord(pb + i) { return false }
        i += 8
    }
    while i < count {
        if pa[i] != pb[i] { return false }
        i += 1
    }
    return true
}

/// Orders two byte buffers lexicographically as unsigned bytes; a proper prefix sorts first.
/// Returns a negative number, zero or a positive number.
@inline(__always)
func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let common = min(a.count, b.count)
    if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        var i = 0
        while i + 8 <= common {
            let wa = loadWord(pa + i)
            let wb = loadWord(pb + i)
            if wa != wb {
                // Big-endian view puts the first byte in the most significant position.
                return UInt64(bigEndian: wa) < UInt64(bigEndian: wb) ? -1 : 1
            }
            i += 8
        }
        while i < common {
            if pa[i] != pb[i] { return pa[i] < pb[i] ? -1 : 1 }
            i += 1
        }
    }
    return a.count - b.count
}

/// True when two strings have identical UTF-8 bytes (unlike `==`, which applies canonical equivalence).
@inline(__always)
func utf8Equal(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    return withUTF8Bytes(a) { pa in withUTF8Bytes(b) { pb in bytesEqual(pa, pb) } }
}

/// True when `a` sorts before `b` comparing UTF-8 bytes as unsigned numbers.
@inline(__always)
func utf8Less(_ a: String, _ b: String) -> Bool {
    withUTF8Bytes(a) { pa in withUTF8Bytes(b) { pb in compareBytes(pa, pb) < 0 } }
}

/// A dictionary key that hashes and compares a string by its UTF-8 bytes.
struct UTF8Key: Hashable, Sendable {
    let string: String

    @inline(__always)
    init(_ string: String) { self.string = string }

    static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool { utf8Equal(lhs.string, rhs.string) }

    func hash(into hasher: inout Hasher) {
        withUTF8Bytes(string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Orders member positions by key bytes (ties broken by position), for large objects.
///
/// Copies every key's bytes into one buffer first, so comparisons touch plain memory only. Returns the
/// order and the smallest position whose key repeats an earlier key's bytes (nil when keys are unique).
func sortKeyPositions(_ members: UnsafeBufferPointer<JSONObject.Member>) -> (order: [Int32], duplicate: Int?) {
    let count = members.count
    var total = 0
    for i in 0..<count { total += members[i].key.utf8.count }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(total)
    var ends = [Int](repeating: 0, count: count)
    for i in 0..<count {
        withUTF8Bytes(members[i].key) { bytes.append(contentsOf: $0) }
        ends[i] = bytes.count
    }
    var order = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { buffer[i] = Int32(truncatingIfNeeded: i) }
        initialized = count
    }
    var duplicate: Int?
    bytes.withUnsafeBufferPointer { arena in
        ends.withUnsafeBufferPointer { ends in
            @inline(__always) func key(_ position: Int32) -> UnsafeBufferPointer<UInt8> {
                let p = Int(position)
                let start = p == 0 ? 0 : ends[p - 1]
                return UnsafeBufferPointer(rebasing: arena[start..<ends[p]])
            }
            // Input that is already in canonical order (common for signed metadata) needs no sort.
            var increasing = true
            for i in 1..<max(count, 1) where compareBytes(key(Int32(i - 1)), key(Int32(i))) >= 0 {
                increasing = false
                break
            }
            if increasing { return }
            order.sort { a, b in
                let c = compareBytes(key(a), key(b))
                return c < 0 || (c == 0 && a < b)
            }
            for i in 1..<count where compareBytes(key(order[i - 1]), key(order[i])) == 0 {
                // Equal keys sort by position, so order[i] is a later occurrence.
                duplicate = min(duplicate ?? Int.max, Int(order[i]))
            }
        }
    }
    return (order, duplicate)
}
