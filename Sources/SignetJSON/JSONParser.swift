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
            JSONLexer(
                base: base, end: buffer.count, maxDepth: limits.maxDepth,
                allowRawControlCharacters: allowRawControlCharacters))
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
            JSONLexer(base: raw.assumingMemoryBound(to: UInt8.self), end: buffer.count, maxDepth: maxDepth))
        var values: [JSONValue] = []
        values.reserveCapacity(count)
        for n in 0..<count {
            parser.lexer.pos = start(n)
            parser.lexer.depth = 0
            values.append(try parser.parseValue())
        }
        return values
    }
}

/// The recursive-descent parser over one input buffer: builds the tree from what `lexer` reads.
private struct Parser {
    var lexer: JSONLexer
    /// A value starting here is not parsed: it reads as an empty object ending at `skipEnd` (-1: none).
    var skipStart = -1
    var skipEnd = 0
    /// Reused buffer for strings that contain escapes.
    let scratch = ByteSink(capacity: 64)
    /// Source offsets of the keys of the objects being parsed, innermost last (for error messages).
    var keyOffsets: [Int] = []
    /// Elements of the arrays being parsed, innermost last.
    let elementStack = ValueStack<JSONValue>()
    /// Members of the objects being parsed, innermost last.
    let memberStack = ValueStack<JSONObject.Member>()

    init(_ lexer: JSONLexer) {
        self.lexer = lexer
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue()
        try lexer.expectEndOfDocument()
        return value
    }

    // MARK: Values

    mutating func parseValue() throws(JSONError) -> JSONValue {
        if skipStart >= 0 {
            lexer.skipWhitespace()
            if lexer.pos == skipStart {
                lexer.pos = skipEnd
                return .object(JSONObject())
            }
        }
        switch try lexer.startValue() {
        case .string:
            return .string(try parseString())
        case .object:
            return try parseObject()
        case .array:
            return try parseArray()
        case .number:
            let start = lexer.pos
            if let integer = try lexer.readNumber() {
                return .integer(integer)
            }
            return .float(lexer.text(from: start, to: lexer.pos))
        case .trueLiteral:
            return .bool(true)
        case .falseLiteral:
            return .bool(false)
        case .nullLiteral:
            return .null
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        if try lexer.enterContainer(closedBy: Byte.closeBracket) {
            return .array([])
        }
        let start = elementStack.count
        repeat {
            elementStack.push(try parseValue())
        } while try lexer.continuesContainer(closedBy: Byte.closeBracket)
        return .array(elementStack.popArray(from: start))
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        if try lexer.enterContainer(closedBy: Byte.closeBrace) {
            return .object(JSONObject())
        }
        let start = memberStack.count
        // Source offsets of this object's keys live on a stack shared by all nesting levels.
        let offsetsBase = keyOffsets.count
        repeat {
            let keyOffset = try lexer.expectKey()
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
            try lexer.expectColon()
            let value = try parseValue()
            memberStack.push((key, value))
        } while try lexer.continuesContainer(closedBy: Byte.closeBrace)
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

    // MARK: Strings

    /// Parses the string whose opening quote is at `lexer.pos`; leaves the position after the closing
    /// quote.
    mutating func parseString() throws(JSONError) -> String {
        let start = lexer.pos + 1
        let (stop, escaped) = try lexer.readPlainStringPart()
        guard escaped else { return lexer.text(from: start, to: stop) }
        scratch.truncate(to: 0)
        scratch.append(lexer.base + start, count: stop - start)
        try lexer.readEscapedStringPart(from: stop, into: scratch, canonical: false)
        return String(decoding: scratch.bytes, as: UTF8.self)
    }
}
