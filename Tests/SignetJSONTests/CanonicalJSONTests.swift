import Foundation
import SignetJSON
import XCTest

/// Canonical encoding: rules, securesystemslib vectors, and round-trip properties.
final class CanonicalJSONTests: XCTestCase {
    struct Vector {
        let name: String
        let input: [UInt8]
        let canonical: [UInt8]
    }

    /// Loads TestVectors/canonical-json/vectors.json, located relative to this source file.
    func loadVectors(file: StaticString = #filePath, line: UInt = #line) throws -> [Vector] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // SignetJSONTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("TestVectors/canonical-json/vectors.json")
        let data = try Data(contentsOf: url)
        let document = try JSONParser.parse([UInt8](data))
        guard let entries = document.arrayValue else {
            throw XCTSkip("vectors.json is not an array")
        }
        return try entries.map { entry in
            guard let name = entry["name"]?.stringValue,
                let inputText = entry["input_b64"]?.stringValue,
                let canonicalText = entry["canonical_b64"]?.stringValue,
                let input = Data(base64Encoded: inputText),
                let canonical = Data(base64Encoded: canonicalText)
            else {
                XCTFail("malformed vector entry \(entry)", file: file, line: line)
                throw JSONError.unexpectedEnd(expected: "a well-formed vector")
            }
            return Vector(name: name, input: [UInt8](input), canonical: [UInt8](canonical))
        }
    }

    // MARK: Vectors

    func testEveryCanonicalVectorMatchesByteForByte() throws {
        let vectors = try loadVectors()
        XCTAssertGreaterThanOrEqual(vectors.count, 25)
        for vector in vectors {
            do {
                let value = try JSONParser.parse(vector.input)
                let encoded = try CanonicalJSON.encode(value)
                XCTAssertEqual(encoded, vector.canonical, "vector \(vector.name)")
            } catch {
                XCTFail("vector \(vector.name): \(error)")
            }
        }
    }

    func testCanonicalVectorsAreStableUnderReparsing() throws {
        for vector in try loadVectors() {
            do {
                let value = try JSONParser.parseCanonical(vector.canonical)
                XCTAssertEqual(try CanonicalJSON.encode(value), vector.canonical, "vector \(vector.name)")
                XCTAssertEqual(value, try JSONParser.parse(vector.input), "vector \(vector.name)")
            } catch {
                XCTFail("vector \(vector.name): \(error)")
            }
        }
    }

    // MARK: Rules

    func testNoWhitespaceAndLiterals() {
        XCTAssertEqual(canonicalText(" [ true , false , null , { } , [ ] ] "), "[true,false,null,{},[]]")
    }

    func testKeysSortByUTF8Bytes() {
        XCTAssertEqual(canonicalText(#"{"b":1,"a":2,"B":3,"_":4,"":5,"aa":6}"#), #"{"":5,"B":3,"_":4,"a":2,"aa":6,"b":1}"#)
        // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) by bytes, though after it in UTF-16.
        XCTAssertEqual(canonicalText("{\"\u{1F600}\":1,\"\u{FF61}\":2}"), "{\"\u{FF61}\":2,\"\u{1F600}\":1}")
        // Decomposed "e\u{301}" (65 ...) sorts before precomposed "é" (C3 A9).
        XCTAssertEqual(canonicalText("{\"\u{E9}\":1,\"e\u{301}\":2}"), "{\"e\u{301}\":2,\"\u{E9}\":1}")
    }

    func testLargeObjectsSortAndKeepAllMembers() {
        var object = JSONObject()
        for i in stride(from: 999, through: 0, by: -1) {
            object["key-\(String(i, radix: 16))"] = .integer(Int64(i))
        }
        guard let bytes = canonicalOrFail(.object(object)),
            let reparsed = parseOrFail(bytes)?.objectValue
        else { return }
        let keys = reparsed.keys
        XCTAssertEqual(keys.count, 1000)
        XCTAssertEqual(keys, keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        XCTAssertEqual(reparsed["key-3e7"], 999)
    }

    func testParsedLargeUnsortedObjectEncodesInKeyOrder() throws {
        // Enough members to take the stored-order-then-permute path, nested values included.
        var generator = RandomJSON(seed: 99)
        var object = JSONObject()
        for i in 0..<300 {
            object["\(generator.string(maxLength: 8))#\(i)"] = generator.value(depth: 3)
        }
        let text = JSONWriter.encode(.object(object), pretty: false)
        let parsed = try JSONParser.parse(text)
        let canonical = try CanonicalJSON.encode(parsed)
        // Expected: members sorted by key bytes, each encoded on its own.
        let sortedMembers = object.members.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        var expected: [UInt8] = [0x7B]
        for (n, member) in sortedMembers.enumerated() {
            if n > 0 { expected.append(0x2C) }
            expected += try CanonicalJSON.encode(.string(member.key))
            expected.append(0x3A)
            expected += try CanonicalJSON.encode(member.value)
        }
        expected.append(0x7D)
        XCTAssertEqual(canonical, expected)
        XCTAssertEqual(try CanonicalJSON.encode(.object(object)), expected)
    }

    func testFloatDeepInsideALargeObjectIsRefused() throws {
        var text = "{"
        for i in stride(from: 199, through: 0, by: -1) { text += "\"key\(i)\":[\(i)]," }
        text += #""key77x":{"deep":[1,2,{"f":3.25}]}}"#
        let value = try JSONParser.parse(text)
        XCTAssertThrowsError(try CanonicalJSON.encode(value)) {
            XCTAssertEqual($0 as? JSONError, .floatNotAllowed(text: "3.25"))
        }
    }

    func testOnlyQuoteAndBackslashAreEscaped() {
        let value: JSONValue = .string("q\" b\\ s/ n\n t\t nul\u{0} us\u{1F} del\u{7F} é 😀")
        let expected: [UInt8] = Array("\"q\\\" b\\\\ s/ n\n t\t nul\u{0} us\u{1F} del\u{7F} é 😀\"".utf8)
        XCTAssertEqual(canonicalOrFail(value), expected)
        // Keys follow the same rule.
        XCTAssertEqual(canonicalOrFail(["a\"\\\n": 1]), Array("{\"a\\\"\\\\\n\":1}".utf8))
        // Long strings exercise the word-at-a-time scan on both sides of a quote.
        let long = String(repeating: "abcdefgh", count: 5) + "\"" + String(repeating: "ijklmnop", count: 5)
        let longExpected = "\"" + String(repeating: "abcdefgh", count: 5) + "\\\"" + String(repeating: "ijklmnop", count: 5) + "\""
        XCTAssertEqual(canonicalOrFail(.string(long)), Array(longExpected.utf8))
    }

    func testIntegersInPlainDecimal() {
        let value: JSONValue = [0, 7, -7, 10, 1_000_000, .integer(Int64.max), .integer(Int64.min)]
        XCTAssertEqual(canonicalOrFail(value).map { String(decoding: $0, as: UTF8.self) },
                       "[0,7,-7,10,1000000,9223372036854775807,-9223372036854775808]")
    }

    func testFloatsAreRefusedWherever() {
        for value: JSONValue in [.float("1.5"), [1, .float("2e3")], ["a": ["b": .float("-0.0")]]] {
            XCTAssertThrowsError(try CanonicalJSON.encode(value)) { error in
                guard case .floatNotAllowed = error as? JSONError else {
                    return XCTFail("wrong error \(error)")
                }
            }
        }
        XCTAssertThrowsError(try CanonicalJSON.encode(["x": .float("2e3")])) {
            XCTAssertEqual($0 as? JSONError, .floatNotAllowed(text: "2e3"))
        }
    }

    func testEncodeIntoAppendsToExistingBuffer() throws {
        var out = Array("prefix:".utf8)
        try CanonicalJSON.encode(["b": 1, "a": [nil, "x"]], into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"prefix:{"a":[null,"x"],"b":1}"#)
    }

    // MARK: Round trips

    func testRandomValuesRoundTrip() throws {
        var generator = RandomJSON(seed: 0x5167_6E65_7400_0001)
        var checked = 0
        for _ in 0..<400 {
            let value = generator.value(depth: 0)
            let first = try CanonicalJSON.encode(value)
            let reparsed = try JSONParser.parseCanonical(first)
            XCTAssertEqual(reparsed, value)
            XCTAssertEqual(try CanonicalJSON.encode(reparsed), first)
            checked += 1
        }
        XCTAssertEqual(checked, 400)
    }

    func testCanonicalVectorsRoundTrip() throws {
        for vector in try loadVectors() {
            let value = try JSONParser.parse(vector.input)
            let first = try CanonicalJSON.encode(value)
            XCTAssertEqual(try CanonicalJSON.encode(try JSONParser.parseCanonical(first)), first, vector.name)
        }
    }

    func testCanonicalOutputWithControlCharactersNeedsParseCanonical() throws {
        let value = try JSONParser.parse(#"{"k\n":"a\u0000b\tc"}"#)
        let canonical = try CanonicalJSON.encode(value)
        XCTAssertEqual(canonical, Array("{\"k\n\":\"a\u{0}b\tc\"}".utf8))
        // RFC 8259 forbids the raw control characters canonical JSON writes...
        assertRejects(canonical, .controlCharacterInString(offset: 3))
        // ...so the canonical reader accepts them, and stays strict about everything else.
        XCTAssertEqual(try JSONParser.parseCanonical(canonical), value)
        XCTAssertThrowsError(try JSONParser.parseCanonical(Array(#"{"a":1,"a":2}"#.utf8))) {
            XCTAssertEqual($0 as? JSONError, .duplicateKey("a", offset: 7))
        }
        XCTAssertThrowsError(try JSONParser.parseCanonical([0x22, 0x0A, 0xC0, 0x80, 0x22])) {
            XCTAssertEqual($0 as? JSONError, .invalidUTF8(offset: 2))
        }
        XCTAssertThrowsError(try JSONParser.parseCanonical(Array("[1] x".utf8))) {
            XCTAssertEqual($0 as? JSONError, .trailingData(offset: 4))
        }
    }

    func testPrngIsDeterministic() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        let first = (0..<4).map { _ in a.next() }
        XCTAssertEqual(first, (0..<4).map { _ in b.next() })
        XCTAssertEqual(Set(first).count, 4)
    }
}
