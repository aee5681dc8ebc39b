/// A deterministic writer for human-facing JSON files. Its output is NOT canonical JSON: never sign it
/// or hash it for verification; use `CanonicalJSON` for that.
///
/// - Object members are written in stored order.
/// - Strings use the standard JSON escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00XX`
///   (lowercase hex) for other bytes below 0x20; everything else, `/` and non-ASCII included, is raw UTF-8.
/// - `.float` values are written as their stored text unchanged (the parser only produces valid text;
///   a hand-built `.float` is the caller's responsibility).
/// - Pretty output indents by two spaces, puts `": "` between key and value, writes empty arrays and
///   objects as `[]` and `{}`, and ends with a newline. Compact output has no whitespace at all.
public enum JSONWriter {
    /// Returns the UTF-8 bytes of `value`, pretty-printed (default) or compact.
    ///
    /// Never throws: every `JSONValue` has a plain JSON representation.
    public static func encode(_ value: JSONValue, pretty: Bool = true) -> [UInt8] {
        let out = ByteSink()
        write(value, pretty: pretty, level: 0, to: out)
        if pretty { out.append(0x0A) }
        return out.makeArray()
    }

    static func write(_ value: JSONValue, pretty: Bool, level: Int, to out: ByteSink) {
        switch value {
        case .null:
            out.append(ascii: "null")
        case let .bool(flag):
            if flag { out.append(ascii: "true") } else { out.append(ascii: "false") }
        case let .integer(number):
            out.appendDecimal(number)
        case let .float(text):
            withUTF8Bytes(text) { bytes in
                if let start = bytes.baseAddress { out.append(start, count: bytes.count) }
            }
        case let .string(string):
            appendEscaped(string, to: out)
        case let .array(elements):
            guard !elements.isEmpty else {
                out.append(ascii: "[]")
                return
            }
            out.append(0x5B)
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(0x2C) }
                if pretty { newline(level + 1, out) }
                write(element, pretty: pretty, level: level + 1, to: out)
            }
            if pretty { newline(level, out) }
            out.append(0x5D)
        case let .object(object):
            guard !object.isEmpty else {
                out.append(ascii: "{}")
                return
            }
            out.append(0x7B)
            for (position, member) in object.members.enumerated() {
                if position > 0 { out.append(0x2C) }
                if pretty { newline(level + 1, out) }
                appendEscaped(member.key, to: out)
                out.append(0x3A)
                if pretty { out.append(0x20) }
                write(member.value, pretty: pretty, level: level + 1, to: out)
            }
            if pretty { newline(level, out) }
            out.append(0x7D)
        }
    }

    @inline(__always)
    static func newline(_ level: Int, _ out: ByteSink) {
        out.append(0x0A)
        out.append(repeating: 0x20, count: 2 * level)
    }

    /// Writes a string with the standard JSON escapes.
    static func appendEscaped(_ string: String, to out: ByteSink) {
        out.append(0x22)
        withUTF8Bytes(string) { bytes in
            guard let base = bytes.baseAddress else { return }
            let count = bytes.count
            var runStart = 0
            for i in 0..<count {
                let byte = base[i]
                let escape: UInt8
                switch byte {
                case 0x22: escape = 0x22
                case 0x5C: escape = 0x5C
                case 0x08: escape = 0x62  // b
                case 0x0C: escape = 0x66  // f
                case 0x0A: escape = 0x6E  // n
                case 0x0D: escape = 0x72  // r
                case 0x09: escape = 0x74  // t
                case 0x00..<0x20: escape = 0x75  // u
                default: continue
                }
                out.append(base + runStart, count: i - runStart)
                out.append(0x5C)
                out.append(escape)
                if escape == 0x75 {
                    let hex: StaticString = "0123456789abcdef"
                    out.append(0x30)
                    out.append(0x30)
                    out.append(hex.utf8Start[Int(byte >> 4)])
                    out.append(hex.utf8Start[Int(byte & 0x0F)])
                }
                runStart = i + 1
            }
            out.append(base + runStart, count: count - runStart)
        }
        out.append(0x22)
    }
}
