/// OLPC canonical JSON, byte for byte as TUF implementations and securesystemslib's `encode_canonical`
/// produce it: the bytes that signatures over TUF metadata cover.
///
/// Rules:
/// - no whitespace anywhere;
/// - object members sorted by key, comparing the keys' UTF-8 bytes as unsigned numbers (which is also
///   code point order);
/// - strings are written as their raw UTF-8 bytes between quotes, with only `"` and `\` escaped (as
///   `\"` and `\\`); every other byte, control characters included, is written unchanged;
/// - integers in plain decimal; `true`, `false`, `null` as literals;
/// - numbers with a fraction or exponent are refused.
///
/// Because control characters are written raw, the output is not always RFC 8259 JSON; read it back
/// with `JSONParser.parseCanonical`.
public enum CanonicalJSON {
    /// Returns the canonical encoding of `value`.
    ///
    /// - Throws: `JSONError.floatNotAllowed` when `value` contains a `.float` anywhere (naming the first
    ///   one the encoder meets; with several floats, which one is unspecified).
    public static func encode(_ value: JSONValue) throws(JSONError) -> [UInt8] {
        let sink = ByteSink()
        try write(value, to: sink)
        return sink.makeArray()
    }

    /// Appends the canonical encoding of `value` to `out`.
    ///
    /// - Throws: `JSONError.floatNotAllowed` when `value` contains a `.float` anywhere; `out` is then
    ///   left unchanged.
    public static func encode(_ value: JSONValue, into out: inout [UInt8]) throws(JSONError) {
        let sink = ByteSink()
        try write(value, to: sink)
        out.append(contentsOf: sink.bytes)
    }

    static func write(_ value: JSONValue, to sink: ByteSink) throws(JSONError) {
        var failure: JSONError?
        write(value, to: sink, failure: &failure)
        if let failure { throw failure }
    }

    /// Appends `value`; on the first float, records the error in `failure` and stops writing.
    static func write(_ value: JSONValue, to out: ByteSink, failure: inout JSONError?) {
        switch value {
        case .null:
            out.append(ascii: "null")
        case let .bool(flag):
            if flag { out.append(ascii: "true") } else { out.append(ascii: "false") }
        case let .integer(number):
            out.appendDecimal(number)
        case let .float(text):
            failure = .floatNotAllowed(text: text)
        case let .string(string):
            appendString(string, to: out)
        case let .array(elements):
            out.append(0x5B)  // [
            for (n, element) in elements.enumerated() {
                if n > 0 { out.append(0x2C) }  // ,
                write(element, to: out, failure: &failure)
                if failure != nil { return }
            }
            out.append(0x5D)  // ]
        case let .object(object):
            writeObject(object, to: out, failure: &failure)
        }
    }

    static func writeObject(_ object: JSONObject, to out: ByteSink, failure: inout JSONError?) {
        let members = object.members
        out.append(0x7B)  // {
        if members.count <= smallObjectLimit {
            let order = smallObjectOrder(members)
            for n in 0..<members.count {
                if n > 0 { out.append(0x2C) }
                let i = Int((order >> (4 * UInt64(n))) & 0xF)
                writeMember(members[i], to: out, failure: &failure)
                if failure != nil { return }
            }
        } else {
            let order = object.sortedPositions ?? members.withUnsafeBufferPointer { sortKeyPositions($0).order }
            if members.count < permuteThreshold || isIdentity(order) {
                for (n, position) in order.enumerated() {
                    if n > 0 { out.append(0x2C) }
                    writeMember(members[Int(position)], to: out, failure: &failure)
                    if failure != nil { return }
                }
            } else {
                writePermuted(members, order: order, to: out, failure: &failure)
                if failure != nil { return }
            }
        }
        out.append(0x7D)  // }
    }

    @inline(__always)
    static func writeMember(_ member: JSONObject.Member, to out: ByteSink, failure: inout JSONError?) {
        appendString(member.key, to: out)
        out.append(0x3A)  // :
        write(member.value, to: out, failure: &failure)
    }

    /// Objects up to this size are ordered by insertion sort on the keys directly.
    static let smallObjectLimit = 12

    /// Member positions of a small object in key-byte order, packed four bits each (position n of the
    /// order in bits 4n..<4n+4). Insertion sort: already-sorted keys cost count-1 comparisons.
    static func smallObjectOrder(_ members: [JSONObject.Member]) -> UInt64 {
        var order: UInt64 = 0
        for i in 0..<members.count {
            var j = i
            while j > 0 {
                let previous = Int((order >> (4 * UInt64(j - 1))) & 0xF)
                guard utf8Less(members[i].key, members[previous].key) else { break }
                order |= UInt64(previous) << (4 * UInt64(j))
                order &= ~(0xF << (4 * UInt64(j - 1)))
                j -= 1
            }
            order |= UInt64(i) << (4 * UInt64(j))
        }
        return order
    }

    /// Large objects whose stored order differs from key order are written in stored order first.
    static let permuteThreshold = 64

    /// True when `order` is 0, 1, 2, ...
    static func isIdentity(_ order: [Int32]) -> Bool {
        for (n, position) in order.enumerated() where Int(position) != n { return false }
        return true
    }

    /// Writes the members of a large object in key order by first encoding each member in stored order
    /// into a scratch buffer, then copying the encoded members out in key order. Visiting members in
    /// stored order walks memory roughly in allocation order; visiting them in key order directly
    /// would jump around the heap, and for 100 000 members that cache-miss cost dominates encoding.
    static func writePermuted(
        _ members: [JSONObject.Member], order: [Int32], to out: ByteSink, failure: inout JSONError?
    ) {
        let count = members.count
        let scratch = ByteSink(capacity: count * 32)
        var ends = [Int](repeating: 0, count: count)
        for (i, member) in members.enumerated() {
            writeMember(member, to: scratch, failure: &failure)
            if failure != nil { return }
            ends[i] = scratch.count
            if i == 63 {
                // Size the buffer once from the first members instead of doubling repeatedly.
                scratch.reserve(scratch.count / 64 * (count - 64) * 9 / 8)
            }
        }
        out.reserve(scratch.count + count)
        let encoded = scratch.base
        for (n, position) in order.enumerated() {
            if n > 0 { out.append(0x2C) }
            let i = Int(position)
            let start = i == 0 ? 0 : ends[i - 1]
            out.append(encoded + start, count: ends[i] - start)
        }
    }

    /// Writes `"`, the string's UTF-8 bytes with `"` and `\` prefixed by `\`, and `"`.
    static func appendString(_ string: String, to out: ByteSink) {
        out.append(0x22)
        withUTF8Bytes(string) { bytes in
            if let base = bytes.baseAddress { out.appendCanonicalStringBody(base, count: bytes.count) }
        }
        out.append(0x22)
    }
}
