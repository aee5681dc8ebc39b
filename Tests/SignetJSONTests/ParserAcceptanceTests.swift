import SignetJSON
import XCTest

/// What the parser accepts and the values it produces.
final class ParserAcceptanceTests: XCTestCase {
    func testScalars() {
        XCTAssertEqual(parseOrFail("null"), .null)
        XCTAssertEqual(parseOrFail("true"), .bool(true))
        XCTAssertEqual(parseOrFail("false"), .bool(false))
        XCTAssertEqual(parseOrFail("0"), .integer(0))
        XCTAssertEqual(parseOrFail("-17"), .integer(-17))
        XCTAssertEqual(parseOrFail(#""hi""#), .string("hi"))
        XCTAssertEqual(parseOrFail(#""""#), .string(""))
    }

    func testNegativeZeroIsIntegerZero() {
        XCTAssertEqual(parseOrFail("-0"), .integer(0))
        XCTAssertEqual(parseOrFail("[-0]").flatMap { canonicalOrFail($0) }, Array("[0]".utf8))
    }

    func testNumbersWithFractionOrExponentKeepTheirText() {
        for text in ["1.50", "-0.0", "0.5", "1e5", "1E+2", "2e-3", "0e0", "-12.5E-07", "123456789012345678901234.5"] {
            XCTAssertEqual(parseOrFail(text), .float(text), text)
            XCTAssertEqual(parseOrFail(text)?.floatText, text)
        }
    }

    func testWhitespaceAroundEverything() {
        let value = parseOrFail(" \t\r\n{ \"a\" :\t[ 1 ,\r\n2 ] , \"b\" : { } }\n\n")
        XCTAssertEqual(value, ["a": [1, 2], "b": .object(JSONObject())])
    }

    func testSimpleEscapes() {
        XCTAssertEqual(parseOrFail(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{8}\u{C}\n\r\t"))
    }

    func testUnicodeEscapes() {
        XCTAssertEqual(parseOrFail(#""\u0041\u00e9\u4E2D\uFFFF""#), .string("Aé中\u{FFFF}"))
        XCTAssertEqual(parseOrFail(#""\ud83d\ude00 \uD834\uDD1E \uDBFF\uDFFF""#), .string("😀 𝄞 \u{10FFFF}"))
    }

    func testEscapedNulIsAccepted() {
        let value = parseOrFail(#""a\u0000b""#)
        XCTAssertEqual(value?.stringValue?.utf8.count, 3)
        XCTAssertEqual(value?.stringValue.map { Array($0.utf8) }, [0x61, 0x00, 0x62])
    }

    func testLongStringsWithAndWithoutEscapes() {
        let plain = String(repeating: "0123456789abcdef", count: 64)
        XCTAssertEqual(parseOrFail("\"\(plain)\""), .string(plain))
        let escaped = String(repeating: #"abc\"def\\ghi\n"#, count: 50)
        let expected = String(repeating: "abc\"def\\ghi\n", count: 50)
        XCTAssertEqual(parseOrFail("\"\(escaped)\""), .string(expected))
        let mixed = String(repeating: "héllo wörld 中文 😀 ", count: 40)
        XCTAssertEqual(parseOrFail("\"\(mixed)\""), .string(mixed))
    }

    func testNormalisationVariantsAreDistinctKeys() {
        // "é" precomposed (C3 A9) and "e" + combining acute (65 CC 81): different bytes, different keys.
        let text = "{\"\u{E9}\":1,\"e\u{301}\":2}"
        guard let object = parseOrFail(text)?.objectValue else { return XCTFail("not an object") }
        XCTAssertEqual(object.count, 2)
        XCTAssertEqual(object["\u{E9}"], 1)
        XCTAssertEqual(object["e\u{301}"], 2)
        XCTAssertEqual(object.keys.map { Array($0.utf8) }, [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
        // Escaped spellings of the same two keys are also distinct from each other.
        let escaped = parseOrFail(#"{"\u00e9":1,"e\u0301":2}"#)?.objectValue
        XCTAssertEqual(escaped?["\u{E9}"], 1)
        XCTAssertEqual(escaped?["e\u{301}"], 2)
        // Lookup is by bytes: a key that is only canonically equivalent is not found.
        let single = parseOrFail("{\"\u{E9}\":1}")?.objectValue
        XCTAssertNil(single?["e\u{301}"])
        XCTAssertEqual(single?["\u{E9}"], 1)
    }

    func testNormalisationVariantsInLargeObjectsAreDistinctKeys() {
        var text = "{"
        for i in 0..<20 { text += "\"k\(i)\":\(i)," }
        text += "\"\u{E9}\":100,\"e\u{301}\":200}"
        let object = parseOrFail(text)?.objectValue
        XCTAssertEqual(object?.count, 22)
        XCTAssertEqual(object?["\u{E9}"], 100)
        XCTAssertEqual(object?["e\u{301}"], 200)
        XCTAssertEqual(object?["k19"], 19)
    }

    func testMembersKeepSourceOrder() {
        let object = parseOrFail(#"{"z":1,"a":2,"m":3}"#)?.objectValue
        XCTAssertEqual(object?.keys, ["z", "a", "m"])
        XCTAssertEqual(object.map { $0.map(\.value) }, [1, 2, 3])
    }

    func testRawBufferAndStringEntryPoints() throws {
        let bytes = Array(#"{"a":[true,null]}"#.utf8)
        let fromRaw = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        let fromString = try JSONParser.parse(#"{"a":[true,null]}"#)
        XCTAssertEqual(fromRaw, ["a": [true, nil]])
        XCTAssertEqual(fromString, fromRaw)
        XCTAssertThrowsError(try JSONParser.parse(UnsafeRawBufferPointer(start: nil, count: 0))) {
            XCTAssertEqual($0 as? JSONError, .emptyInput)
        }
    }

    func testLargeObjectParsesAndLooksUpByBytes() {
        var text = "{"
        for i in 0..<5000 { text += "\"path/\(i)\":\(i)," }
        text += "\"last\":true}"
        guard let object = parseOrFail(text)?.objectValue else { return XCTFail("not an object") }
        XCTAssertEqual(object.count, 5001)
        XCTAssertEqual(object["path/0"], 0)
        XCTAssertEqual(object["path/4999"], 4999)
        XCTAssertEqual(object["last"], true)
        XCTAssertNil(object["path/5000"])
    }

    func testParseThenEncodeADocumentAndReadItThroughAccessors() {
        let text = """
            {
              "signed": {
                "_type": "targets",
                "version": 12,
                "expires": "2030-01-01T00:00:00Z",
                "targets": {
                  "images/app.tar": {"length": 1024, "hashes": {"sha256": "ab\\u0063d"}, "custom": {"ok": true}}
                },
                "ratio": 0.5
              },
              "signatures": [{"keyid": "k1", "sig": "00"}, {"keyid": "k2", "sig": "01"}]
            }
            """
        guard let value = parseOrFail(text) else { return }
        XCTAssertEqual(value["signed"]?["_type"]?.stringValue, "targets")
        XCTAssertEqual(value["signed"]?["version"]?.integerValue, 12)
        XCTAssertNil(value["signed"]?["version"]?.stringValue)
        XCTAssertEqual(value["signed"]?["ratio"]?.floatText, "0.5")
        let target = value["signed"]?["targets"]?["images/app.tar"]
        XCTAssertEqual(target?["length"]?.integerValue, 1024)
        XCTAssertEqual(target?["hashes"]?["sha256"]?.stringValue, "abcd")
        XCTAssertEqual(target?["custom"]?["ok"]?.boolValue, true)
        XCTAssertEqual(value["signatures"]?.arrayValue?.count, 2)
        XCTAssertEqual(value["signatures"]?[1]?["keyid"], "k2")
        XCTAssertNil(value["signatures"]?[2])
        XCTAssertNil(value["signatures"]?["keyid"])
        XCTAssertNil(value["missing"])
        XCTAssertEqual(value.objectValue?.keys, ["signed", "signatures"])

        // The whole document has a float, so canonical encoding refuses it...
        XCTAssertThrowsError(try CanonicalJSON.encode(value)) {
            XCTAssertEqual($0 as? JSONError, .floatNotAllowed(text: "0.5"))
        }
        // ...and without it, encodes sorted and compact.
        guard var signed = value["signed"]?.objectValue else { return XCTFail("no signed") }
        signed["ratio"] = nil
        let expected = #"{"_type":"targets","expires":"2030-01-01T00:00:00Z","targets":{"images/app.tar":"#
            + #"{"custom":{"ok":true},"hashes":{"sha256":"abcd"},"length":1024}},"version":12}"#
        XCTAssertEqual(canonicalOrFail(.object(signed)).map { String(decoding: $0, as: UTF8.self) }, expected)
    }
}
