/// A strict RFC 8259 parser for documents whose bytes may be signed.
///
/// What it accepts, beyond the RFC grammar:
/// - The input must be well-formed UTF-8 everywhere: overlong forms, UTF-8-encoded surrogates, code
///   points above U+10FFFF, stray continuation bytes and cut-short sequences are rejected, inside
///   strings and outside them. A leading byte order mark is rejected.
/// - Whitespace is only space, tab, LF and CR.
/// - Strings: raw bytes below 0x20 are rejected; `\uXXXX` surrogate pairs are combined; a lone high
///   or low surrogate is rejected; `\u0000` is accepted and yields U+0000.
/// - Numbers follow `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. Without fraction and exponent
///   they must fit `Int64` exactly and become `.integer` (`-0` becomes `0`); with either they become
///   `.float` holding the source text.
/// - An object may not repeat a key, comparing keys by their UTF-8 bytes after unescaping: `"a"` and
///   `"\u0061"` collide, `"é"` (U+00E9) and `"e\u0301"` do not.
/// - Exactly one value, optionally surrounded by whitespace; anything else after it is rejected.
///
/// `parseCanonical` reads the output of `CanonicalJSON.encode`, which writes control characters raw;
/// it differs from `parse` only in accepting those.
public enum JSONParser {
    /// Parses one JSON document from `bytes`.
    ///
    /// - Throws: `JSONError` describing the first problem found: `.tooLarge` (checked before parsing),
    ///   `.emptyInput`, `.byteOrderMark`, `.invalidUTF8`, `.unexpectedCharacter`, `.unexpectedEnd`,
    ///   `.trailingData`, `.tooDeep`, `.duplicateKey`, `.leadingZero`, `.integerOutOfRange`,
    ///   `.invalidNumber`, `.invalidEscape`, `.loneSurrogate` or `.controlCharacterInString`.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> JSONValue in try parseBuffer(buffer, limits: limits) }
        }
        return try result.get()
    }

    /// Parses one JSON document from raw memory, read as bytes. The memory must stay valid and
    /// unchanged for the duration of the call; the result does not reference it.
    ///
    /// - Throws: the same `JSONError` cases as `parse(_:limits:)` for `[UInt8]`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONError)
        -> JSONValue
    {
        try parseBuffer(bytes, limits: limits)
    }

    /// Parses one JSON document from the UTF-8 bytes of `text`.
    ///
    /// - Throws: the same `JSONError` cases as `parse(_:limits:)` for `[UInt8]`; a Swift string is always
    ///   valid UTF-8, so `.invalidUTF8` cannot occur.
    public static func parse(_ text: String, limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONError) -> JSONValue in
                try parseBuffer(UnsafeRawBufferPointer(buffer), limits: limits)
            }
        }
        return try result.get()
    }

    /// Parses canonical JSON as `CanonicalJSON.encode` writes it. Identical to `parse(_:limits:)` except
    /// that raw bytes 0x00-0x1F inside strings are accepted: canonical JSON writes control characters
    /// unescaped, which RFC 8259 forbids. Use `parse(_:limits:)` for documents received from elsewhere.
    ///
    /// - Throws: the same `JSONError` cases as `parse(_:limits:)`, except `.controlCharacterInString`.
    public static func parseCanonical(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONError)
        -> JSONValue
    {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> JSONValue in
                try parseBuffer(buffer, limits: limits, allowRawControlCharacters: true)
            }
        }
        return try result.get()
    }

    /// Raw-memory variant of `parseCanonical(_:limits:)`; the memory must stay valid during the call.
    ///
    /// - Throws: the same `JSONError` cases as `parse(_:limits:)`, except `.controlCharacterInString`.
    public static func parseCanonical(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default)
        throws(JSONError) -> JSONValue
    {
        try parseBuffer(bytes, limits: limits, allowRawControlCharacters: true)
    }

    /// Parses a whole document. A value starting at `skipping.lowerBound` is not parsed: it becomes an empty
    /// object and parsing resumes at `skipping.upperBound` (the caller has validated that range already).
    static func parseBuffer(
        _ buffer: UnsafeRawBufferPointer, limits: JSONLimits, allowRawControlCharacters: Bool = false,
        skipping: Range<Int>? = nil
    ) throws(JSONError) -> JSONValue {
        let base = try checkedStart(buffer, limits: limits)
        var parser = Parser(
            base: base, end: buffer.count, maxDepth: limits.maxDepth,
            allowRawControlCharacters: allowRawControlCharacters)
        if let skipping {
            parser.skipStart = skipping.lowerBound
            parser.skipEnd = skipping.upperBound
        }
        return try parser.parseDocument()
    }

    /// The checks made before the first byte is parsed: size limit, empty input, byte order mark.
    /// Returns the first byte of a non-empty buffer.
    static func checkedStart(_ buffer: UnsafeRawBufferPointer, limits: JSONLimits) throws(JSONError)
        -> UnsafePointer<UInt8>
    {
        let count = buffer.count
        if count > limits.maxBytes {
            throw .tooLarge(limit: limits.maxBytes, actual: count)
        }
        guard count > 0, let raw = buffer.baseAddress else {
            throw .emptyInput
        }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        // RFC 8259 §8.1: implementations must not add a byte order mark; we refuse one.
        if count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            throw .byteOrderMark
        }
        return base
    }

    /// Parses `count` values of a document that has already been validated: value `n` starts exactly at
    /// offset `start(n)` of `buffer`. One parser (and its buffers) serves all of them.
    static func parseValidatedValues(
        in buffer: UnsafeRawBufferPointer, count: Int, maxDepth: Int, start: (Int) -> Int
    ) throws(JSONError) -> [JSONValue] {
        guard count > 0, let raw = buffer.baseAddress else { return [] }
        var parser = Parser(
            base: raw.assumingMemoryBound(to: UInt8.self), end: buffer.count, maxDepth: maxDepth,
            allowRawControlCharacters: false)
        var values: [JSONValue] = []
        values.reserveCapacity(count)
        for n in 0..<count {
            parser.pos = start(n)
            parser.depth = 0
            values.append(try parser.parseValue())
        }
        return values
    }
}

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
/// scanner must then look at the bytes one by one. (Exact for presence; which byte is not reported.)
@inline(__always)
func wordNeedsAttention(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (ones &* 0x22)
    let backslashes = word ^ (ones &* 0x5C)
    let hasQuote = (quotes &- ones) & ~quotes
    let hasBackslash = (backslashes &- ones) & ~backslashes
    let hasControl = (word &- (ones &* 0x20)) & ~word
    return ((hasQuote | hasBackslash | hasControl) & highs) | (word & highs) != 0
}

/// The length of the well-formed UTF-8 sequence whose lead byte (0x80 or above) is at `i`, or nil
/// when it is not well-formed (Unicode 15 table 3-7).
@inline(__always)
func utf8SequenceLength(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int? {
    let lead = base[i]
    @inline(__always) func isContinuation(_ j: Int) -> Bool { j < end && base[j] & 0xC0 == 0x80 }
    switch lead {
    case 0xC2...0xDF:
        return isContinuation(i + 1) ? 2 : nil
    case 0xE0...0xEF:
        guard i + 2 < end else { return nil }
        let second = base[i + 1]
        let secondOK: Bool
        switch lead {
        case 0xE0: secondOK = second >= 0xA0 && second <= 0xBF  // no overlongs
        case 0xED: secondOK = second >= 0x80 && second <= 0x9F  // no surrogates
        default: secondOK = second & 0xC0 == 0x80
        }
        return secondOK && isContinuation(i + 2) ? 3 : nil
    case 0xF0...0xF4:
        guard i + 3 < end else { return nil }
        let second = base[i + 1]
        let secondOK: Bool
        switch lead {
        case 0xF0: secondOK = second >= 0x90 && second <= 0xBF  // no overlongs
        case 0xF4: secondOK = second >= 0x80 && second <= 0x8F  // nothing above U+10FFFF
        default: secondOK = second & 0xC0 == 0x80
        }
        return secondOK && isContinuation(i + 2) && isContinuation(i + 3) ? 4 : nil
    default:
        // 0x80...0xC1 (continuation or overlong two-byte lead) and 0xF5...0xFF.
        return nil
    }
}

/// The error for a byte at `offset` that cannot start `expected`, or for the end of input when `offset`
/// is `end`: malformed UTF-8 there is reported as such.
func unexpectedByte(_ base: UnsafePointer<UInt8>, at offset: Int, end: Int, expected: String) -> JSONError {
    guard offset < end else { return .unexpectedEnd(expected: expected) }
    let byte = base[offset]
    if byte >= 0x80 && utf8SequenceLength(base, at: offset, end: end) == nil {
        return .invalidUTF8(offset: offset)
    }
    return .unexpectedCharacter(found: byte, expected: expected, offset: offset)
}

/// Decodes the string escape whose backslash is at `i`. Returns the code point it stands for (a high-low
/// pair of `\u` escapes gives one code point above U+FFFF) and the offset just after the escape.
@inline(__always)
func decodeStringEscape(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) throws(JSONError)
    -> (scalar: UInt32, next: Int)
{
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
        let unit = try hex4(base, at: i + 2, end: end, escapeOffset: i)
        switch unit {
        case 0xD800...0xDBFF:
            // RFC 8259 §7: a code point outside the BMP is a UTF-16 surrogate pair of \u escapes.
            guard i + 7 < end, base[i + 6] == Byte.backslash, base[i + 7] == Byte.lowerU else {
                throw .loneSurrogate(offset: i)
            }
            let low = try hex4(base, at: i + 8, end: end, escapeOffset: i + 6)
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
func hex4(_ base: UnsafePointer<UInt8>, at j: Int, end: Int, escapeOffset: Int) throws(JSONError) -> UInt32 {
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

/// The recursive-descent parser state over one input buffer.
private struct Parser {
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    /// Accept raw 0x00-0x1F in strings (canonical JSON input only).
    let allowRawControlCharacters: Bool
    var pos = 0
    var depth = 0
    /// A value starting here is not parsed: it reads as an empty object ending at `skipEnd` (-1: none).
    var skipStart = -1
    var skipEnd = 0
    /// Reused buffer for strings that contain escapes.
    var scratch: [UInt8] = []
    /// Source offsets of the keys of the objects being parsed, innermost last (for error messages).
    var keyOffsets: [Int] = []
    /// Elements of the arrays being parsed, innermost last.
    let elementStack = ValueStack<JSONValue>()
    /// Members of the objects being parsed, innermost last.
    let memberStack = ValueStack<JSONObject.Member>()

    init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int, allowRawControlCharacters: Bool) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
        self.allowRawControlCharacters = allowRawControlCharacters
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        if pos < end {
            throw .trailingData(offset: pos)
        }
        return value
    }

    // MARK: Helpers

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let byte = base[pos]
            // RFC 8259 §2: ws = space, horizontal tab, line feed, carriage return.
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            pos += 1
        }
    }

    /// The error for a byte at `offset` that cannot start `expected` (or for the end of input).
    func unexpected(at offset: Int, expected: String) -> JSONError {
        unexpectedByte(base, at: offset, end: end, expected: expected)
    }

    @inline(__always)
    func text(from start: Int, to stop: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }

    // MARK: Values

    mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard pos < end else { throw .unexpectedEnd(expected: "a value") }
        if pos == skipStart {
            pos = skipEnd
            return .object(JSONObject())
        }
        switch base[pos] {
        case Byte.quote:
            return .string(try parseString())
        case Byte.openBrace:
            return try parseObject()
        case Byte.openBracket:
            return try parseArray()
        case Byte.minus, Byte.zero...Byte.nine:
            return try parseNumber()
        case 0x74:  // t
            try expectLiteral("true")
            return .bool(true)
        case 0x66:  // f
            try expectLiteral("false")
            return .bool(false)
        case 0x6E:  // n
            try expectLiteral("null")
            return .null
        default:
            throw unexpected(at: pos, expected: "a value (object, array, string, number, true, false or null)")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONError) {
        let letters = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount where pos + k >= end || base[pos + k] != letters[k] {
            throw unexpected(at: pos + k, expected: "'\(word)'")
        }
        pos += word.utf8CodeUnitCount
    }

    mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > maxDepth {
            throw .tooDeep(limit: maxDepth, offset: pos)
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        pos += 1  // [
        skipWhitespace()
        if pos < end && base[pos] == Byte.closeBracket {
            pos += 1
            depth -= 1
            return .array([])
        }
        let start = elementStack.count
        while true {
            elementStack.push(try parseValue())
            skipWhitespace()
            guard pos < end else { throw .unexpectedEnd(expected: "',' or ']' after an array element") }
            let byte = base[pos]
            pos += 1
            if byte == Byte.comma { continue }
            if byte == Byte.closeBracket { break }
            throw unexpected(at: pos - 1, expected: "',' or ']' after an array element")
        }
        depth -= 1
        return .array(elementStack.popArray(from: start))
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        pos += 1  // {
        skipWhitespace()
        if pos < end && base[pos] == Byte.closeBrace {
            pos += 1
            depth -= 1
            return .object(JSONObject())
        }
        let start = memberStack.count
        // Source offsets of this object's keys live on a stack shared by all nesting levels.
        let offsetsBase = keyOffsets.count
        while true {
            skipWhitespace()
            guard pos < end, base[pos] == Byte.quote else {
                throw unexpected(at: pos, expected: "'\"' starting an object key")
            }
            let keyOffset = pos
            let key = try parseString()
            // RFC 8259 §4 leaves repeated names undefined; signed data must not be ambiguous, so any
            // repeat (by UTF-8 bytes) is an error. Small objects are checked key by key; larger ones
            // once complete, by sorting (see below).
            let existing = memberStack.count - start
            if existing > 0 && existing < JSONObject.indexThreshold
                && containsKey(memberStack.elements(from: start), key)
            {
                throw .duplicateKey(key, offset: keyOffset)
            }
            keyOffsets.append(keyOffset)
            skipWhitespace()
            guard pos < end, base[pos] == Byte.colon else {
                throw unexpected(at: pos, expected: "':' after an object key")
            }
            pos += 1
            let value = try parseValue()
            memberStack.push((key, value))
            skipWhitespace()
            guard pos < end else { throw .unexpectedEnd(expected: "',' or '}' after an object member") }
            let byte = base[pos]
            pos += 1
            if byte == Byte.comma { continue }
            if byte == Byte.closeBrace { break }
            throw unexpected(at: pos - 1, expected: "',' or '}' after an object member")
        }
        depth -= 1
        var sortedPositions: [Int32]? = nil
        if memberStack.count - start > JSONObject.indexThreshold {
            let members = memberStack.elements(from: start)
            let (order, duplicate) = sortKeyPositions(members)
            if let duplicate {
                throw .duplicateKey(members[duplicate].key, offset: keyOffsets[offsetsBase + duplicate])
            }
            sortedPositions = order
        }
        keyOffsets.removeLast(keyOffsets.count - offsetsBase)
        let members = memberStack.popArray(from: start)
        return .object(JSONObject(uncheckedMembers: members, sortedPositions: sortedPositions))
    }

    /// True when `members` already has a key with the same UTF-8 bytes as `key`.
    func containsKey(_ members: UnsafeBufferPointer<JSONObject.Member>, _ key: String) -> Bool {
        let length = key.utf8.count
        return withUTF8Bytes(key) { wanted in
            for i in 0..<members.count where members[i].key.utf8.count == length {
                if withUTF8Bytes(members[i].key, { bytesEqual($0, wanted) }) { return true }
            }
            return false
        }
    }

    // MARK: Numbers

    @inline(__always)
    func isDigit(_ offset: Int) -> Bool {
        offset < end && base[offset] >= Byte.zero && base[offset] <= Byte.nine
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
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
        if isFloat {
            return .float(text(from: start, to: pos))
        }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        if overflow || magnitude > limit {
            throw .integerOutOfRange(text: text(from: start, to: pos), offset: start)
        }
        if negative {
            // magnitude ≤ 2^63, so 0 &- magnitude reinterpreted as Int64 is exact (Int64.min included).
            return .integer(Int64(bitPattern: 0 &- magnitude))
        }
        return .integer(Int64(magnitude))
    }

    // MARK: Strings

    /// Parses the string whose opening quote is at `pos`; leaves `pos` after the closing quote.
    mutating func parseString() throws(JSONError) -> String {
        let start = pos + 1
        var i = start
        while true {
            while i + 8 <= end && !wordNeedsAttention(loadWord(base + i)) {
                i += 8
            }
            guard i < end else { throw .unexpectedEnd(expected: "'\"' closing the string") }
            let byte = base[i]
            if byte == Byte.quote {
                pos = i + 1
                return text(from: start, to: i)
            } else if byte == Byte.backslash {
                return try parseEscapedString(start: start, firstEscape: i)
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

    /// Continues a string from its first backslash, decoding into `scratch`.
    mutating func parseEscapedString(start: Int, firstEscape: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        appendToScratch(from: start, to: firstEscape)
        var i = firstEscape
        var runStart = i
        while true {
            while i + 8 <= end && !wordNeedsAttention(loadWord(base + i)) {
                i += 8
            }
            guard i < end else { throw .unexpectedEnd(expected: "'\"' closing the string") }
            let byte = base[i]
            if byte == Byte.quote {
                appendToScratch(from: runStart, to: i)
                pos = i + 1
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == Byte.backslash {
                appendToScratch(from: runStart, to: i)
                i = try decodeEscape(at: i)
                runStart = i
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

    @inline(__always)
    mutating func appendToScratch(from start: Int, to stop: Int) {
        if stop > start {
            scratch.append(contentsOf: UnsafeBufferPointer(start: base + start, count: stop - start))
        }
    }

    /// Decodes the escape whose backslash is at `i` into `scratch`; returns the offset after it.
    mutating func decodeEscape(at i: Int) throws(JSONError) -> Int {
        let (scalar, next) = try decodeStringEscape(base, at: i, end: end)
        appendScalar(scalar)
        return next
    }

    /// Appends the UTF-8 encoding of a scalar value (never a surrogate) to `scratch`.
    mutating func appendScalar(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (value >> 6)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (value >> 12)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (value >> 18)))
            scratch.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        }
    }
}
