/// Every way that parsing or encoding JSON can fail.
///
/// Offsets are zero-based byte offsets into the input document. Each case carries what is needed to say
/// what was expected and what was found; `description` renders that as one sentence.
public enum JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is longer than `JSONLimits.maxBytes`; checked before a byte is parsed.
    case tooLarge(limit: Int, actual: Int)
    /// An array or object opened at `offset` would nest deeper than `JSONLimits.maxDepth`.
    case tooDeep(limit: Int, offset: Int)
    /// The input holds no bytes at all.
    case emptyInput
    /// The input starts with a UTF-8 byte order mark (EF BB BF), which RFC 8259 §8.1 forbids emitting.
    case byteOrderMark
    /// The bytes starting at `offset` are not well-formed UTF-8 (stray continuation byte, overlong form,
    /// encoded surrogate, code point above U+10FFFF, or a sequence cut short).
    case invalidUTF8(offset: Int)
    /// An object repeats a key; keys are compared as UTF-8 byte sequences after unescaping. `offset` is
    /// where the second occurrence starts (0 when the duplicate came from `JSONObject.init`).
    case duplicateKey(String, offset: Int)
    /// The byte `found` at `offset` cannot start what the grammar needs there (`expected`).
    case unexpectedCharacter(found: UInt8, expected: String, offset: Int)
    /// The input ended while `expected` was still needed.
    case unexpectedEnd(expected: String)
    /// A complete value was followed by something other than whitespace, starting at `offset`.
    case trailingData(offset: Int)
    /// A number starting at `offset` has a redundant leading zero, such as `01` or `-00`.
    case leadingZero(offset: Int)
    /// An integer (no fraction, no exponent) does not fit in a signed 64-bit integer.
    case integerOutOfRange(text: String, offset: Int)
    /// The backslash escape at `offset` is not one of `\" \\ \/ \b \f \n \r \t \uXXXX`.
    case invalidEscape(offset: Int)
    /// The `\u` escape at `offset` names a UTF-16 surrogate that is not part of a high-low pair.
    case loneSurrogate(offset: Int)
    /// A raw byte below 0x20 appears inside a string at `offset`; it must be written as an escape.
    case controlCharacterInString(offset: Int)
    /// A number is malformed: a digit was required at `offset` (after `-`, after `.`, or in an exponent).
    case invalidNumber(offset: Int)
    /// Canonical JSON has no representation for numbers with a fraction or exponent; `text` is the number.
    case floatNotAllowed(text: String)
    /// A path of object keys could not be followed. `path` lists the keys up to and including the one
    /// that could not be followed; `found` says what the document holds where an object with that key
    /// was expected (for example "an object without that key" or "an array").
    case pathNotFound(path: [String], found: String)

    /// A sentence saying what went wrong, what was expected, what was found, and at which byte offset.
    public var description: String {
        switch self {
        case let .tooLarge(limit, actual):
            return "JSON document too large: expected at most \(limit) bytes, got \(actual) bytes"
        case let .tooDeep(limit, offset):
            return "JSON nesting too deep: expected at most \(limit) nested arrays/objects, "
                + "found one more opening at byte offset \(offset)"
        case .emptyInput:
            return "empty JSON document: expected a value, got 0 bytes"
        case .byteOrderMark:
            return "JSON document starts with a byte order mark (EF BB BF): expected a value without a BOM"
        case let .invalidUTF8(offset):
            return "invalid UTF-8 at byte offset \(offset): expected a well-formed UTF-8 sequence"
        case let .duplicateKey(key, offset):
            return "duplicate object key \(JSONError.quoted(key)) at byte offset \(offset): "
                + "expected each key (compared as UTF-8 bytes) at most once per object"
        case let .unexpectedCharacter(found, expected, offset):
            return "unexpected \(JSONError.describe(byte: found)) at byte offset \(offset): expected \(expected)"
        case let .unexpectedEnd(expected):
            return "unexpected end of JSON document: expected \(expected)"
        case let .trailingData(offset):
            return "trailing data at byte offset \(offset): expected only whitespace after the JSON value"
        case let .leadingZero(offset):
            return "number at byte offset \(offset) has a leading zero: expected no redundant leading zeros"
        case let .integerOutOfRange(text, offset):
            return "integer \(text) at byte offset \(offset) is out of range: expected a value between "
                + "\(Int64.min) and \(Int64.max)"
        case let .invalidEscape(offset):
            return "invalid escape at byte offset \(offset): expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                + "or \\u followed by four hex digits"
        case let .loneSurrogate(offset):
            return "lone UTF-16 surrogate in \\u escape at byte offset \(offset): expected a high surrogate "
                + "(D800-DBFF) immediately followed by an escaped low surrogate (DC00-DFFF)"
        case let .controlCharacterInString(offset):
            return "raw control character in string at byte offset \(offset): expected bytes below 0x20 "
                + "to be escaped"
        case let .invalidNumber(offset):
            return "invalid number: expected a digit at byte offset \(offset)"
        case let .floatNotAllowed(text):
            return "number \(text) has a fraction or exponent: canonical JSON expects integers only"
        case let .pathNotFound(path, found):
            let parent = path.dropLast().map(JSONError.quoted).joined(separator: ", ")
            let key = path.last.map(JSONError.quoted) ?? "\"\""
            return "path [\(path.map(JSONError.quoted).joined(separator: ", "))] not found: expected an object "
                + "with key \(key) at [\(parent)], found \(found)"
        }
    }

    /// Renders a byte as a printable character when it is one, else as hex.
    static func describe(byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "character '\(Character(Unicode.Scalar(byte)))'"
        }
        return "byte 0x" + hex2(byte)
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// Quotes a key for a message, escaping quotes, backslashes and control characters; long keys are cut.
    static func quoted(_ key: String) -> String {
        var result = "\""
        var count = 0
        for scalar in key.unicodeScalars {
            if count == 80 {
                result += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u00" + hex2(UInt8(truncatingIfNeeded: scalar.value))
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
