// The lexical layer of the strict reader: whitespace, literals, numbers, strings (escapes and UTF-8
// checks) and the punctuation between values, with the depth limit. `JSONParser` (which builds a tree)
// and `StreamScanner` (which builds none) both read through it, so they accept exactly the same bytes
// and report the same error, at the same offset, for every input.

// MARK: - Byte constants

enum Byte {
    static let quote: UInt8 = 0x22  // "
    static let backslash: UInt8 = 0x5C  // \
    static let slash: UInt8 = 0x2F  // /
    static let comma: UInt8 = 0x2C  // ,
    static let colon: UInt8 = 0x3A  // :
    static let openBracket: UInt8 = 0x5B  // [
    static let closeBracket: UInt8 = 0x5D  // ]
    static let openBrace: UInt8 = 0x7B  // {
    static let closeBrace: UInt8 = 0x7D  // }
    static let minus: UInt8 = 0x2D  // -
    static let plus: UInt8 = 0x2B  // +
    static let dot: UInt8 = 0x2E  // .
    static let zero: UInt8 = 0x30  // 0
    static let nine: UInt8 = 0x39  // 9
    static let lowerE: UInt8 = 0x65  // e
    static let upperE: UInt8 = 0x45  // E
    static let lowerU: UInt8 = 0x75  // u
}

/// True when any of the eight bytes in `word` is `"`, `\`, below 0x20, or 0x80 and above: the string
/// reader must then look at the bytes one by one. (Exact for presence; which byte is not reported.)
@inline(__always)
func wordNeedsAttention(_ word: UInt64) -> Bool {
    let special = bytesEqualMask(word, Byte.quote) | bytesEqualMask(word, Byte.backslash) | bytesBelowMask(word, 0x20)
    return (special | (word & 0x8080_8080_8080_8080)) != 0
}

/// The length of the well-formed UTF-8 sequence whose lead byte (0x80 or above) is at `i`, or nil
/// when it is not well-formed (Unicode 15 table 3-7).
@inline(__always)
func utf8SequenceLength(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int? {
    let lead = base[i]
    @inline(__always) func isContinuation(_ j: Int) -> Bool { j < end && base[j] & 0xC0 == 0x80 }
    // The byte after the lead is a continuation byte whose range some lead bytes narrow.
    @inline(__always) func secondIsValid() -> Bool {
        let second = base[i + 1]
        switch lead {
        case 0xE0: return second >= 0xA0 && second <= 0xBF  // no overlongs
        case 0xED: return second >= 0x80 && second <= 0x9F  // no surrogates
        case 0xF0: return second >= 0x90 && second <= 0xBF  // no overlongs
        case 0xF4: return second >= 0x80 && second <= 0x8F  // nothing above U+10FFFF
        default: return second & 0xC0 == 0x80
        }
    }
    switch lead {
    case 0xC2...0xDF:
        return isContinuation(i + 1) ? 2 : nil
    case 0xE0...0xEF:
        return i + 2 < end && secondIsValid() && isContinuation(i + 2) ? 3 : nil
    case 0xF0...0xF4:
        return i + 3 < end && secondIsValid() && isContinuation(i + 2) && isContinuation(i + 3) ? 4 : nil
    default:
        // 0x80...0xC1 (continuation or overlong two-byte lead) and 0xF5...0xFF.
        return nil
    }
}

/// What a value starts with, as `JSONLexer.startValue()` reports it.
enum ValueStart {
    /// `"`: `pos` is on the opening quote.
    case string
    /// `{`: `pos` is on the brace.
    case object
    /// `[`: `pos` is on the bracket.
    case array
    /// `-` or a digit: `pos` is on it.
    case number
    /// `true`, already read.
    case trueLiteral
    /// `false`, already read.
    case falseLiteral
    /// `null`, already read.
    case nullLiteral
}

/// A read position in one input buffer and the current nesting depth, with every lexical rule of the
/// strict reader (see `JSONParser` for the rules). Each reading method leaves `pos` just after what it
/// read; errors carry the offsets the parser documents.
struct JSONLexer {
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    /// Accept raw 0x00-0x1F in strings (canonical JSON input only).
    let allowRawControlCharacters: Bool
    var pos = 0
    var depth = 0

    init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int, allowRawControlCharacters: Bool = false) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
        self.allowRawControlCharacters = allowRawControlCharacters
    }

    // MARK: Whitespace, errors, text

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let byte = base[pos]
            // RFC 8259 §2: ws = space, horizontal tab, line feed, carriage return.
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            pos += 1
        }
    }

    /// Checks that nothing but whitespace follows the top-level value.
    ///
    /// - Throws: `.trailingData` at the first other byte.
    mutating func expectEndOfDocument() throws(JSONError) {
        skipWhitespace()
        if pos < end {
            throw .trailingData(offset: pos)
        }
    }

    /// The error for a byte at `offset` that cannot start `expected`, or for the end of input when `offset`
    /// is `end`: malformed UTF-8 there is reported as such.
    func unexpected(at offset: Int, expected: String) -> JSONError {
        guard offset < end else { return .unexpectedEnd(expected: expected) }
        let byte = base[offset]
        if byte >= 0x80 && utf8SequenceLength(base, at: offset, end: end) == nil {
            return .invalidUTF8(offset: offset)
        }
        return .unexpectedCharacter(found: byte, expected: expected, offset: offset)
    }

    /// The source bytes `start..<stop` as a string (the caller has validated them as UTF-8).
    @inline(__always)
    func text(from start: Int, to stop: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }

    // MARK: Values and containers

    /// Skips whitespace and classifies the value starting there. A literal (`true`, `false`, `null`) is read
    /// whole; for any other value `pos` stays on its first byte.
    ///
    /// - Throws: `.unexpectedEnd` at the end of input; `.unexpectedCharacter` or `.invalidUTF8` for a byte
    ///   that cannot start a value or a misspelt literal.
    @inline(__always)
    mutating func startValue() throws(JSONError) -> ValueStart {
        skipWhitespace()
        guard pos < end else { throw .unexpectedEnd(expected: "a value") }
        switch base[pos] {
        case Byte.quote:
            return .string
        case Byte.openBrace:
            return .object
        case Byte.openBracket:
            return .array
        case Byte.minus, Byte.zero...Byte.nine:
            return .number
        case 0x74:  // t
            try expectLiteral("true")
            return .trueLiteral
        case 0x66:  // f
            try expectLiteral("false")
            return .falseLiteral
        case 0x6E:  // n
            try expectLiteral("null")
            return .nullLiteral
        default:
            throw unexpected(at: pos, expected: "a value (object, array, string, number, true, false or null)")
        }
    }

    /// Reads `word` (an ASCII literal) at `pos`.
    ///
    /// - Throws: `.unexpectedCharacter`, `.invalidUTF8` or `.unexpectedEnd` at the first byte that differs.
    mutating func expectLiteral(_ word: StaticString) throws(JSONError) {
        let letters = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount where pos + k >= end || base[pos + k] != letters[k] {
            throw unexpected(at: pos + k, expected: "'\(word)'")
        }
        pos += word.utf8CodeUnitCount
    }

    /// Enters the array or object whose opening byte is at `pos` and skips whitespace after it. Returns
    /// true when the next byte is `close`: the container is empty, and has been read and left already.
    ///
    /// - Throws: `.tooDeep` (at the opening byte) when this container nests deeper than `maxDepth`.
    @inline(__always)
    mutating func enterContainer(closedBy close: UInt8) throws(JSONError) -> Bool {
        depth += 1
        if depth > maxDepth {
            throw .tooDeep(limit: maxDepth, offset: pos)
        }
        pos += 1
        skipWhitespace()
        if pos < end && base[pos] == close {
            pos += 1
            depth -= 1
            return true
        }
        return false
    }

    /// Reads what follows an array element (`close` is `]`) or an object member (`close` is `}`): true
    /// after a comma, false after `close`, which leaves the container.
    ///
    /// - Throws: `.unexpectedEnd`, `.unexpectedCharacter` or `.invalidUTF8` for anything else.
    @inline(__always)
    mutating func continuesContainer(closedBy close: UInt8) throws(JSONError) -> Bool {
        skipWhitespace()
        guard pos < end else { throw .unexpectedEnd(expected: Self.separatorExpectation(close)) }
        let byte = base[pos]
        pos += 1
        if byte == Byte.comma { return true }
        if byte == close {
            depth -= 1
            return false
        }
        throw unexpected(at: pos - 1, expected: Self.separatorExpectation(close))
    }

    /// What may follow an element of the container that `close` ends, for error messages.
    static func separatorExpectation(_ close: UInt8) -> String {
        close == Byte.closeBracket ? "',' or ']' after an array element" : "',' or '}' after an object member"
    }

    /// Skips whitespace before an object key and checks that a string starts there. Returns the offset of
    /// its opening quote, where `pos` stays.
    ///
    /// - Throws: `.unexpectedEnd`, `.unexpectedCharacter` or `.invalidUTF8` when no `"` is there.
    @inline(__always)
    mutating func expectKey() throws(JSONError) -> Int {
        skipWhitespace()
        guard pos < end, base[pos] == Byte.quote else {
            throw unexpected(at: pos, expected: "'\"' starting an object key")
        }
        return pos
    }

    /// Skips whitespace and the `:` after an object key.
    ///
    /// - Throws: `.unexpectedEnd`, `.unexpectedCharacter` or `.invalidUTF8` when no `:` is there.
    @inline(__always)
    mutating func expectColon() throws(JSONError) {
        skipWhitespace()
        guard pos < end, base[pos] == Byte.colon else {
            throw unexpected(at: pos, expected: "':' after an object key")
        }
        pos += 1
    }

    // MARK: Numbers

    @inline(__always)
    func isDigit(_ offset: Int) -> Bool {
        offset < end && base[offset] >= Byte.zero && base[offset] <= Byte.nine
    }

    /// Reads the number whose first byte (`-` or a digit) is at `pos`. Returns its value when it has
    /// neither fraction nor exponent (`-0` gives 0); nil when it has either.
    ///
    /// - Throws: `.invalidNumber` where a digit is missing, `.leadingZero`, or `.integerOutOfRange` for an
    ///   integer outside `Int64`.
    mutating func readNumber() throws(JSONError) -> Int64? {
        let start = pos
        let negative = base[pos] == Byte.minus
        if negative { pos += 1 }
        guard isDigit(pos) else { throw .invalidNumber(offset: pos) }
        var magnitude: UInt64 = 0
        var overflow = false
        if base[pos] == Byte.zero {
            pos += 1
            if isDigit(pos) { throw .leadingZero(offset: start) }
        } else {
            while isDigit(pos) {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(base[pos] &- Byte.zero))
                overflow = overflow || o1 || o2
                magnitude = sum
                pos += 1
            }
        }
        var isFloat = false
        if pos < end && base[pos] == Byte.dot {
            pos += 1
            guard isDigit(pos) else { throw .invalidNumber(offset: pos) }
            while isDigit(pos) { pos += 1 }
            isFloat = true
        }
        if pos < end && (base[pos] == Byte.lowerE || base[pos] == Byte.upperE) {
            pos += 1
            if pos < end && (base[pos] == Byte.plus || base[pos] == Byte.minus) { pos += 1 }
            guard isDigit(pos) else { throw .invalidNumber(offset: pos) }
            while isDigit(pos) { pos += 1 }
            isFloat = true
        }
        if isFloat { return nil }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        if overflow || magnitude > limit {
            throw .integerOutOfRange(text: text(from: start, to: pos), offset: start)
        }
        // magnitude ≤ 2^63, so 0 &- magnitude reinterpreted as Int64 is exact (Int64.min included).
        return negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude)
    }

    // MARK: Strings

    /// The offset of the first `"` or `\` at or after `start` inside a string, checking every byte before
    /// it.
    ///
    /// - Throws: `.unexpectedEnd` when the input ends first, `.controlCharacterInString` (unless raw
    ///   control characters are allowed), `.invalidUTF8`.
    @inline(__always)
    func nextQuoteOrBackslash(from start: Int) throws(JSONError) -> Int {
        var i = start
        while true {
            while i + 8 <= end && !wordNeedsAttention(loadWord(base + i)) {
                i += 8
            }
            guard i < end else { throw .unexpectedEnd(expected: "'\"' closing the string") }
            let byte = base[i]
            if byte == Byte.quote || byte == Byte.backslash {
                return i
            } else if byte < 0x20 {
                // RFC 8259 §7: control characters must be escaped.
                guard allowRawControlCharacters else { throw .controlCharacterInString(offset: i) }
                i += 1
            } else if byte >= 0x80 {
                guard let length = utf8SequenceLength(base, at: i, end: end) else {
                    throw .invalidUTF8(offset: i)
                }
                i += length
            } else {
                i += 1
            }
        }
    }

    /// Reads a string from its opening quote at `pos` up to the closing quote or the first backslash.
    /// Returns where it stopped and whether that is a backslash; after a closing quote, `pos` is just past
    /// it. The bytes from `pos + 1` (before the call) to `stop` need no unescaping.
    ///
    /// - Throws: as `nextQuoteOrBackslash(from:)`.
    @inline(__always)
    mutating func readPlainStringPart() throws(JSONError) -> (stop: Int, escaped: Bool) {
        let stop = try nextQuoteOrBackslash(from: pos + 1)
        guard base[stop] == Byte.quote else { return (stop, true) }
        pos = stop + 1
        return (stop, false)
    }

    /// Continues a string from the backslash at `firstEscape`, appending its unescaped bytes to `sink` up
    /// to the closing quote; with `canonical`, `"` and `\` get a `\` before them again, as canonical JSON
    /// writes them. Leaves `pos` after the closing quote.
    ///
    /// - Throws: as `nextQuoteOrBackslash(from:)` and `decodeEscape(at:)`.
    mutating func readEscapedStringPart(from firstEscape: Int, into sink: ByteSink, canonical: Bool)
        throws(JSONError)
    {
        var escape = firstEscape
        while true {
            let (scalar, next) = try decodeEscape(at: escape)
            if canonical && (scalar == 0x22 || scalar == 0x5C) {
                sink.append(Byte.backslash)
            }
            sink.appendUTF8(scalar)
            let stop = try nextQuoteOrBackslash(from: next)
            sink.append(base + next, count: stop - next)
            if base[stop] == Byte.quote {
                pos = stop + 1
                return
            }
            escape = stop
        }
    }

    /// Decodes the string escape whose backslash is at `i`. Returns the code point it stands for (a
    /// high-low pair of `\u` escapes gives one code point above U+FFFF) and the offset just after it.
    ///
    /// - Throws: `.invalidEscape`, `.loneSurrogate` (at the backslash) or `.unexpectedEnd`.
    @inline(__always)
    func decodeEscape(at i: Int) throws(JSONError) -> (scalar: UInt32, next: Int) {
        guard i + 1 < end else { throw .unexpectedEnd(expected: "an escape character after '\\'") }
        switch base[i + 1] {
        case Byte.quote: return (UInt32(Byte.quote), i + 2)
        case Byte.backslash: return (UInt32(Byte.backslash), i + 2)
        case Byte.slash: return (UInt32(Byte.slash), i + 2)
        case 0x62: return (0x08, i + 2)  // \b
        case 0x66: return (0x0C, i + 2)  // \f
        case 0x6E: return (0x0A, i + 2)  // \n
        case 0x72: return (0x0D, i + 2)  // \r
        case 0x74: return (0x09, i + 2)  // \t
        case Byte.lowerU:
            let unit = try hex4(at: i + 2, escapeOffset: i)
            switch unit {
            case 0xD800...0xDBFF:
                // RFC 8259 §7: a code point outside the BMP is a UTF-16 surrogate pair of \u escapes.
                guard i + 7 < end, base[i + 6] == Byte.backslash, base[i + 7] == Byte.lowerU else {
                    throw .loneSurrogate(offset: i)
                }
                let low = try hex4(at: i + 8, escapeOffset: i + 6)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw .loneSurrogate(offset: i) }
                return (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), i + 12)
            case 0xDC00...0xDFFF:
                throw .loneSurrogate(offset: i)
            default:
                return (unit, i + 6)
            }
        default:
            throw .invalidEscape(offset: i)
        }
    }

    /// Reads four hex digits at `j`; a bad digit is an invalid escape at `escapeOffset`.
    @inline(__always)
    func hex4(at j: Int, escapeOffset: Int) throws(JSONError) -> UInt32 {
        guard j + 4 <= end else { throw .unexpectedEnd(expected: "four hex digits after '\\u'") }
        var value: UInt32 = 0
        for k in j..<(j + 4) {
            let byte = base[k]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw .invalidEscape(offset: escapeOffset)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
