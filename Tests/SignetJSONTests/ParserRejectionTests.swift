import SignetJSON
import XCTest

/// Every way a document is refused, each with the exact error asserted.
final class ParserRejectionTests: XCTestCase {
    // MARK: Input-level checks

    func testEmptyInputIsRejected() {
        assertRejects([UInt8](), .emptyInput)
    }

    func testWhitespaceOnlyInputIsRejected() {
        assertRejects(" \n\t\r", .unexpectedEnd(expected: "a value"))
    }

    func testByteOrderMarkIsRejected() {
        assertRejects([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], .byteOrderMark)
        assertRejects([0xEF, 0xBB, 0xBF], .byteOrderMark)
    }

    func testSizeLimitIsCheckedBeforeParsing() {
        let limits = JSONLimits(maxBytes: 10)
        // Not even valid JSON: the size check comes first.
        assertRejects(Array(repeating: 0xFF, count: 11), .tooLarge(limit: 10, actual: 11), limits: limits)
        assertRejects(#"[1,2,3,4,5]"#, .tooLarge(limit: 10, actual: 11), limits: limits)
        XCTAssertEqual(parseOrFail(#"[1,2,3,45]"#, limits: limits), [1, 2, 3, 45])
    }

    func testDefaultLimits() {
        XCTAssertEqual(JSONLimits.default.maxBytes, 64 * 1024 * 1024)
        XCTAssertEqual(JSONLimits.default.maxDepth, 64)
    }

    // MARK: Duplicate keys

    func testDuplicateKeyIsRejected() {
        assertRejects(#"{"a":1,"a":2}"#, .duplicateKey("a", offset: 7))
    }

    func testDuplicateKeyViaEscapeIsRejected() {
        assertRejects(#"{"a":1,"\u0061":2}"#, .duplicateKey("a", offset: 7))
        assertRejects(#"{"\/":1,"/":2}"#, .duplicateKey("/", offset: 8))
        assertRejects(#"{"😀":1,"\ud83d\ude00":2}"#, .duplicateKey("😀", offset: 10))
    }

    func testDuplicateKeyInLargeObjectIsRejected() {
        var text = "{"
        for i in 0..<1000 { text += "\"key\(i)\":\(i)," }
        text += #""key500":0}"#
        let offset = text.utf8.count - 11
        assertRejects(text, .duplicateKey("key500", offset: offset))
    }

    func testDuplicateKeyAtEveryPositionOfSmallAndIndexedObjects() {
        // Object sizes on both sides of the hash-index threshold, duplicate of every earlier key.
        for size in 1...12 {
            for target in 0..<size {
                var text = "{"
                for i in 0..<size { text += "\"k\(i)\":\(i)," }
                let offset = text.utf8.count
                text += "\"k\(target)\":0}"
                assertRejects(text, .duplicateKey("k\(target)", offset: offset))
            }
        }
    }

    func testEarliestRepeatIsReportedInLargeObjects() {
        // Two repeats: "k9" repeats first in document order although "k1" sorts before it.
        var text = "{"
        for i in 0..<20 { text += "\"k\(i)\":\(i)," }
        let firstRepeat = text.utf8.count
        text += #""k9":0,"k1":0,"k9":1}"#
        assertRejects(text, .duplicateKey("k9", offset: firstRepeat))
        // A repeat among the first eight keys of an object that grows past eight.
        var grown = #"{"a":1,"b":2,"a":3"#
        for i in 0..<20 { grown += ",\"z\(i)\":\(i)" }
        assertRejects(grown + "}", .duplicateKey("a", offset: 13))
    }

    func testDuplicateKeysInNestedLargeObjectsAreFoundAtEachLevel() {
        var inner = "{"
        for i in 0..<12 { inner += "\"i\(i)\":\(i)," }
        inner += #""i3":true}"#
        var text = "{"
        for i in 0..<12 { text += "\"o\(i)\":\(i)," }
        let innerStart = text.utf8.count + 5  // after "x":[
        text += "\"x\":[\(inner)]}"
        assertRejects(text, .duplicateKey("i3", offset: innerStart + inner.utf8.count - 10))
    }

    func testSameKeyInDifferentObjectsIsAccepted() {
        let value = parseOrFail(#"{"a":{"a":1},"b":[{"a":2},{"a":3}]}"#)
        XCTAssertEqual(value?["a"]?["a"], 1)
    }

    // MARK: UTF-8

    func testLoneContinuationByteIsRejected() {
        assertRejects([0x22, 0x61, 0x80, 0x22], .invalidUTF8(offset: 2))
        assertRejects([0x22, 0xBF, 0x22], .invalidUTF8(offset: 1))
    }

    func testOverlongEncodingsAreRejected() {
        assertRejects([0x22, 0xC0, 0xAF, 0x22], .invalidUTF8(offset: 1))  // '/' as 2 bytes
        assertRejects([0x22, 0xC1, 0xBF, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xE0, 0x80, 0xAF, 0x22], .invalidUTF8(offset: 1))  // 3 bytes
        assertRejects([0x22, 0xE0, 0x9F, 0xBF, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], .invalidUTF8(offset: 1))  // 4 bytes
        assertRejects([0x22, 0xF0, 0x8F, 0xBF, 0xBF, 0x22], .invalidUTF8(offset: 1))
    }

    func testSurrogatesEncodedInUTF8AreRejected() {
        assertRejects([0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8(offset: 1))  // U+D800
        assertRejects([0x22, 0xED, 0xBF, 0xBF, 0x22], .invalidUTF8(offset: 1))  // U+DFFF
        // A CESU-8 style pair is two invalid sequences.
        assertRejects([0x22, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80, 0x22], .invalidUTF8(offset: 1))
    }

    func testTruncatedSequencesAreRejected() {
        assertRejects([0x22, 0xE2, 0x82, 0x22], .invalidUTF8(offset: 1))  // € missing its last byte
        assertRejects([0x22, 0xC3, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xF0, 0x9F, 0x98, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xE2, 0x82], .invalidUTF8(offset: 1))  // at the end of input
        assertRejects([0x22, 0xC3], .invalidUTF8(offset: 1))
    }

    func testCodePointsAboveU10FFFFAreRejected() {
        assertRejects([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8(offset: 1))  // U+110000
        assertRejects([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22], .invalidUTF8(offset: 1))
        assertRejects([0x22, 0xFF, 0x22], .invalidUTF8(offset: 1))
    }

    func testInvalidUTF8InKeysAndAfterAnEscapeIsRejected() {
        assertRejects([0x7B, 0x22, 0xC0, 0x80, 0x22, 0x3A, 0x31, 0x7D], .invalidUTF8(offset: 2))
        // \n then a lone continuation byte: the escaped-string path validates too.
        assertRejects([0x22, 0x5C, 0x6E, 0x80, 0x22], .invalidUTF8(offset: 3))
        // Long ASCII run first, so the word-at-a-time scan hands over to the byte check.
        assertRejects([0x22] + Array(repeating: 0x61, count: 17) + [0xED, 0xA0, 0x80, 0x22], .invalidUTF8(offset: 18))
    }

    func testInvalidUTF8OutsideStringsIsRejected() {
        assertRejects([0x5B, 0xFF, 0x5D], .invalidUTF8(offset: 1))
        assertRejects([0x80], .invalidUTF8(offset: 0))
        assertRejects([0x5B, 0x31, 0x2C, 0xC0, 0x80, 0x5D], .invalidUTF8(offset: 3))
        // Well-formed non-ASCII outside a string is simply an unexpected character.
        assertRejects([0xC2, 0xA0, 0x31], .unexpectedCharacter(
            found: 0xC2, expected: "a value (object, array, string, number, true, false or null)", offset: 0))
    }

    func testValidMultibyteSequencesAreAccepted() {
        let bytes: [UInt8] = [0x22, 0xC2, 0x80, 0xDF, 0xBF, 0xE0, 0xA0, 0x80, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80,
                              0xEF, 0xBF, 0xBF, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF, 0x22]
        XCTAssertEqual(
            parseOrFail(bytes)?.stringValue.map { Array($0.unicodeScalars.map(\.value)) },
            [0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF])
    }

    // MARK: Escapes

    func testLoneHighSurrogateIsRejected() {
        assertRejects(#""\ud800""#, .loneSurrogate(offset: 1))
        assertRejects(#""ab\uDBFF""#, .loneSurrogate(offset: 3))
        assertRejects(#""\ud800x""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800\n""#, .loneSurrogate(offset: 1))
    }

    func testLoneLowSurrogateIsRejected() {
        assertRejects(#""\udc00""#, .loneSurrogate(offset: 1))
        assertRejects(#""\uDFFF\ud800""#, .loneSurrogate(offset: 1))
    }

    func testHighSurrogateFollowedByNonLowIsRejected() {
        assertRejects(#""\ud800\u0041""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800\ud800""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800\uE000""#, .loneSurrogate(offset: 1))
    }

    func testBadEscapesAreRejected() {
        assertRejects(#""\x""#, .invalidEscape(offset: 1))
        assertRejects(#""ok\'""#, .invalidEscape(offset: 3))
        assertRejects(#""\U0041""#, .invalidEscape(offset: 1))
        assertRejects(#""\u12G4""#, .invalidEscape(offset: 1))
        assertRejects(#""\u-123""#, .invalidEscape(offset: 1))
        assertRejects(#""\ud83d\ude0z""#, .invalidEscape(offset: 7))
        assertRejects(#""\ "#, .invalidEscape(offset: 1))
        assertRejects([0x22, 0x5C, 0x00, 0x22], .invalidEscape(offset: 1))
    }

    func testEscapesCutShortByEndOfInput() {
        assertRejects(#""\"#, .unexpectedEnd(expected: "an escape character after '\\'"))
        assertRejects(#""\u12"#, .unexpectedEnd(expected: "four hex digits after '\\u'"))
    }

    // MARK: Control characters

    func testRawControlCharactersInStringsAreRejected() {
        for byte: UInt8 in [0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F] {
            assertRejects([0x22, 0x61, byte, 0x22], .controlCharacterInString(offset: 2))
        }
        // In a key, after an escape, and after a long run.
        assertRejects([0x7B, 0x22, 0x0A, 0x22, 0x3A, 0x31, 0x7D], .controlCharacterInString(offset: 2))
        assertRejects([0x22, 0x5C, 0x74, 0x09, 0x22], .controlCharacterInString(offset: 3))
        assertRejects([0x22] + Array(repeating: 0x62, count: 20) + [0x1F, 0x22], .controlCharacterInString(offset: 21))
    }

    func testDeleteCharacterIsAcceptedRaw() {
        XCTAssertEqual(parseOrFail([0x22, 0x7F, 0x22]), .string("\u{7F}"))
    }

    // MARK: Numbers

    func testLeadingZerosAreRejected() {
        assertRejects("01", .leadingZero(offset: 0))
        assertRejects("-01", .leadingZero(offset: 0))
        assertRejects("00", .leadingZero(offset: 0))
        assertRejects("[1,0123]", .leadingZero(offset: 3))
        assertRejects("00.5", .leadingZero(offset: 0))
    }

    func testIntegersBeyondInt64AreRejected() {
        assertRejects("9223372036854775808", .integerOutOfRange(text: "9223372036854775808", offset: 0))
        assertRejects("-9223372036854775809", .integerOutOfRange(text: "-9223372036854775809", offset: 0))
        assertRejects("[18446744073709551616]", .integerOutOfRange(text: "18446744073709551616", offset: 1))
        assertRejects("123456789012345678901234567890",
                      .integerOutOfRange(text: "123456789012345678901234567890", offset: 0))
        assertRejects("-123456789012345678901234567890",
                      .integerOutOfRange(text: "-123456789012345678901234567890", offset: 0))
    }

    func testInt64ExtremesAreAccepted() {
        XCTAssertEqual(parseOrFail("-9223372036854775808"), .integer(Int64.min))
        XCTAssertEqual(parseOrFail("9223372036854775807"), .integer(Int64.max))
    }

    func testMalformedNumbersAreRejected() {
        assertRejects("1.", .invalidNumber(offset: 2))
        assertRejects("1.e5", .invalidNumber(offset: 2))
        assertRejects("-", .invalidNumber(offset: 1))
        assertRejects("-a", .invalidNumber(offset: 1))
        assertRejects("--1", .invalidNumber(offset: 1))
        assertRejects("- 1", .invalidNumber(offset: 1))
        assertRejects("1e", .invalidNumber(offset: 2))
        assertRejects("1e+", .invalidNumber(offset: 3))
        assertRejects("1E-x", .invalidNumber(offset: 3))
        assertRejects("[1.]", .invalidNumber(offset: 3))
        let valueExpected = "a value (object, array, string, number, true, false or null)"
        assertRejects(".5", .unexpectedCharacter(found: 0x2E, expected: valueExpected, offset: 0))
        assertRejects("+1", .unexpectedCharacter(found: 0x2B, expected: valueExpected, offset: 0))
        assertRejects("NaN", .unexpectedCharacter(found: 0x4E, expected: valueExpected, offset: 0))
        assertRejects("Infinity", .unexpectedCharacter(found: 0x49, expected: valueExpected, offset: 0))
        assertRejects("0x10", .trailingData(offset: 1))
        assertRejects("1.5.2", .trailingData(offset: 3))
    }

    // MARK: Structure

    func testTrailingDataIsRejected() {
        assertRejects("{} x", .trailingData(offset: 3))
        assertRejects("1 2", .trailingData(offset: 2))
        assertRejects("[1]]", .trailingData(offset: 3))
        assertRejects("nullx", .trailingData(offset: 4))
        assertRejects(#""a""b""#, .trailingData(offset: 3))
        assertRejects([0x7B, 0x7D, 0x00], .trailingData(offset: 2))
        assertRejects([0x7B, 0x7D, 0x0C], .trailingData(offset: 2))  // form feed is not JSON whitespace
    }

    func testBadLiteralsAreRejected() {
        assertRejects("tru", .unexpectedEnd(expected: "'true'"))
        assertRejects("trux", .unexpectedCharacter(found: 0x78, expected: "'true'", offset: 3))
        assertRejects("fals", .unexpectedEnd(expected: "'false'"))
        assertRejects("nul", .unexpectedEnd(expected: "'null'"))
        assertRejects("nUll", .unexpectedCharacter(found: 0x55, expected: "'null'", offset: 1))
        let valueExpected = "a value (object, array, string, number, true, false or null)"
        assertRejects("True", .unexpectedCharacter(found: 0x54, expected: valueExpected, offset: 0))
    }

    func testMalformedArraysAndObjectsAreRejected() {
        let valueExpected = "a value (object, array, string, number, true, false or null)"
        assertRejects("[1,]", .unexpectedCharacter(found: 0x5D, expected: valueExpected, offset: 3))
        assertRejects("[,1]", .unexpectedCharacter(found: 0x2C, expected: valueExpected, offset: 1))
        assertRejects("[1 2]", .unexpectedCharacter(found: 0x32, expected: "',' or ']' after an array element", offset: 3))
        assertRejects("[1", .unexpectedEnd(expected: "',' or ']' after an array element"))
        assertRejects("[", .unexpectedEnd(expected: "a value"))
        assertRejects("{,}", .unexpectedCharacter(found: 0x2C, expected: "'\"' starting an object key", offset: 1))
        assertRejects(#"{"a":1,}"#, .unexpectedCharacter(found: 0x7D, expected: "'\"' starting an object key", offset: 7))
        assertRejects(#"{"a" 1}"#, .unexpectedCharacter(found: 0x31, expected: "':' after an object key", offset: 5))
        assertRejects("{1:2}", .unexpectedCharacter(found: 0x31, expected: "'\"' starting an object key", offset: 1))
        assertRejects("{'a':1}", .unexpectedCharacter(found: 0x27, expected: "'\"' starting an object key", offset: 1))
        assertRejects(#"{"a":1"#, .unexpectedEnd(expected: "',' or '}' after an object member"))
        assertRejects(#"{"a":1]"#, .unexpectedCharacter(found: 0x5D, expected: "',' or '}' after an object member", offset: 6))
        assertRejects(#"{"a":}"#, .unexpectedCharacter(found: 0x7D, expected: valueExpected, offset: 5))
        assertRejects(#"{"a""#, .unexpectedEnd(expected: "':' after an object key"))
        assertRejects("{", .unexpectedEnd(expected: "'\"' starting an object key"))
        assertRejects(#""abc"#, .unexpectedEnd(expected: "'\"' closing the string"))
        assertRejects(#"["abc\"]"#, .unexpectedEnd(expected: "'\"' closing the string"))
    }

    // MARK: Depth

    func testNestingAtTheLimitIsAcceptedAndOneDeeperIsRejected() {
        let limit = JSONLimits.default.maxDepth
        let atLimit = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        XCTAssertNotNil(parseOrFail(atLimit))
        let over = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        assertRejects(over, .tooDeep(limit: limit, offset: limit))
    }

    func testDepthCountsObjectsAndArraysTogether() {
        let limits = JSONLimits(maxDepth: 3)
        XCTAssertNotNil(parseOrFail(#"{"a":[{"b":1}]}"#, limits: limits))
        assertRejects(#"{"a":[{"b":[]}]}"#, .tooDeep(limit: 3, offset: 11), limits: limits)
        // Scalars do not count, and siblings do not accumulate.
        XCTAssertNotNil(parseOrFail("[[[1]],[[2]],[[3]]]", limits: limits))
        assertRejects("[]", .tooDeep(limit: 0, offset: 0), limits: JSONLimits(maxDepth: 0))
        XCTAssertEqual(parseOrFail("7", limits: JSONLimits(maxDepth: 0)), 7)
    }

    // MARK: Messages

    func testErrorDescriptionsSayWhatWasExpectedFoundAndWhere() {
        let cases: [(JSONError, [String])] = [
            (.unexpectedCharacter(found: 0x2B, expected: "a value", offset: 7), ["'+'", "offset 7", "expected a value"]),
            (.unexpectedCharacter(found: 0xC2, expected: "a value", offset: 0), ["0xC2", "offset 0"]),
            (.duplicateKey("k\"ey", offset: 12), ["\"k\\\"ey\"", "offset 12", "UTF-8"]),
            (.tooLarge(limit: 10, actual: 11), ["at most 10", "11"]),
            (.tooDeep(limit: 64, offset: 64), ["64", "offset 64"]),
            (.integerOutOfRange(text: "9223372036854775808", offset: 3), ["9223372036854775808", "offset 3",
                                                                          "9223372036854775807"]),
            (.invalidUTF8(offset: 5), ["UTF-8", "offset 5"]),
            (.floatNotAllowed(text: "1.5"), ["1.5", "integers"]),
            (.unexpectedEnd(expected: "',' or ']'"), ["end", "',' or ']'"]),
            (.loneSurrogate(offset: 2), ["surrogate", "offset 2"]),
            (.controlCharacterInString(offset: 4), ["control", "offset 4"]),
            (.leadingZero(offset: 1), ["leading zero", "offset 1"]),
            (.invalidEscape(offset: 9), ["escape", "offset 9"]),
            (.invalidNumber(offset: 2), ["digit", "offset 2"]),
            (.trailingData(offset: 3), ["trailing", "offset 3"]),
            (.emptyInput, ["empty"]),
            (.byteOrderMark, ["byte order mark"]),
        ]
        for (error, fragments) in cases {
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "\(error.description) lacks \(fragment)")
            }
        }
    }
}
