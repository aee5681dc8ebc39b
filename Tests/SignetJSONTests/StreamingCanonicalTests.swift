import SignetJSON
import XCTest

/// `CanonicalJSON.canonicalize(_:path:limits:)` gives exactly what parse + encode gives.
final class StreamingCanonicalTests: XCTestCase {
    // MARK: Agreement with parse + encode

    func testEveryCanonicalVectorMatches() throws {
        let vectors = try loadCanonicalVectors()
        XCTAssertGreaterThanOrEqual(vectors.count, 25)
        for vector in vectors {
            XCTAssertEqual(try CanonicalJSON.canonicalize(vector.input), vector.canonical, vector.name)
            assertCanonicalizeMatches(vector.input, vector.name)
            // The raw-memory entry point gives the same bytes.
            let raw = try vector.input.withUnsafeBytes { try CanonicalJSON.canonicalize($0) }
            XCTAssertEqual(raw, vector.canonical, vector.name)
        }
    }

    func testEveryMemberOfEveryVectorMatches() throws {
        var checked = 0
        for vector in try loadCanonicalVectors() {
            let document = try JSONParser.parse(vector.input)
            guard let object = document.objectValue else { continue }
            for key in object.keys {
                assertCanonicalizeMatches(vector.input, path: [key], vector.name)
                checked += 1
                if let inner = object[key]?.objectValue {
                    for innerKey in inner.keys {
                        assertCanonicalizeMatches(vector.input, path: [key, innerKey], vector.name)
                    }
                }
            }
            assertCanonicalizeMatches(vector.input, path: ["\u{10FFFF}absent"], vector.name)
        }
        XCTAssertGreaterThan(checked, 20)
    }

    func testRandomDocumentsWithRandomSpellingsAndPaths() {
        var generator = RandomJSON(seed: 0x5EED_0001)
        var spelling = RandomSpelling(seed: 0x5EED_0002)
        var rng = SplitMix64(seed: 0x5EED_0003)
        for round in 0..<600 {
            let value = generator.value(depth: 0)
            let bytes = spelling.write(value)
            assertCanonicalizeMatches(bytes, "round \(round)")
            for _ in 0..<3 {
                assertCanonicalizeMatches(bytes, path: randomPath(in: value, using: &rng), "round \(round)")
            }
        }
    }

    func testRandomDocumentsWithFloats() {
        var generator = RandomJSON(seed: 0xF10A7)
        var spelling = RandomSpelling(seed: 0xF10A8, floats: true)
        var rng = SplitMix64(seed: 0xF10A9)
        var refused = 0
        for round in 0..<600 {
            let value = generator.value(depth: 0)
            let bytes = spelling.write(value)
            if (try? CanonicalJSON.canonicalize(bytes)) == nil { refused += 1 }
            assertCanonicalizeMatches(bytes, exactFloat: false, "round \(round)")
            for _ in 0..<3 {
                assertCanonicalizeMatches(bytes, path: randomPath(in: value, using: &rng), exactFloat: false,
                                          "round \(round)")
            }
        }
        XCTAssertGreaterThan(refused, 20, "the generator should put floats in some documents")
    }

    func testMutatedDocumentsFailExactlyLikeTheParser() {
        // Damaged documents: whatever the parser says (an error, or a value), both streaming entry points
        // must say the same, whichever path is asked for.
        var generator = RandomJSON(seed: 0xBAD_0001)
        var spelling = RandomSpelling(seed: 0xBAD_0002, floats: true)
        var rng = SplitMix64(seed: 0xBAD_0003)
        let interesting: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x00, 0x0A, 0x20, 0x80, 0xC3,
                                    0xED, 0xF4, 0xFF, 0x30, 0x31, 0x2D, 0x2E, 0x65, 0x75, 0x74, 0x6E, 0x61]
        var rejected = 0
        for round in 0..<1500 {
            let value: JSONValue = ["a": generator.value(depth: 1), "k0": generator.value(depth: 2)]
            var bytes = spelling.write(value)
            for _ in 0..<Int.random(in: 1...2, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = interesting[Int.random(in: 0..<interesting.count, using: &rng)]
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(interesting[Int.random(in: 0..<interesting.count, using: &rng)], at: at)
                default:
                    // Repeat a slice elsewhere: often a repeated member, so a duplicate key.
                    let length = min(Int.random(in: 1...24, using: &rng), bytes.count - at)
                    let slice = Array(bytes[at..<(at + length)])
                    bytes.insert(contentsOf: slice, at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            if (try? JSONParser.parse(bytes)) == nil { rejected += 1 }
            for path in [[], ["a"], ["k0"], randomPath(in: value, using: &rng)] {
                assertCanonicalizeMatches(bytes, path: path, exactFloat: false, "round \(round)")
                assertLazyParseMatches(bytes, lazyPath: path, "round \(round)")
            }
        }
        XCTAssertGreaterThan(rejected, 700)
    }

    func testLargeObjectsInEveryOrder() throws {
        // Sorted, reversed and shuffled, compact and pretty: exercises the in-order fast path and the rewrite.
        for (seed, pretty) in [(nil, false), (UInt64(7), false), (UInt64(8), true)] as [(UInt64?, Bool)] {
            let bytes = targetsDocument(count: 1500, shuffleSeed: seed, pretty: pretty)
            assertCanonicalizeMatches(bytes, path: ["signed"])
            assertCanonicalizeMatches(bytes, path: ["signed", "targets"])
            assertCanonicalizeMatches(bytes)
        }
        var reversed = "{"
        for i in stride(from: 2999, through: 0, by: -1) { reversed += "\"k\(i)\":[\(i),{\"z\":1,\"a\":2}]," }
        reversed += "\"\":0}"
        assertCanonicalizeMatches(Array(reversed.utf8))
    }

    func testLargeUnsortedObjectsWithNestedValues() throws {
        var generator = RandomJSON(seed: 99)
        var object = JSONObject()
        for i in 0..<400 {
            object["\(generator.string(maxLength: 8))#\(i)"] = generator.value(depth: 2)
        }
        var spelling = RandomSpelling(seed: 100)
        let bytes = spelling.write(["outer": .object(object), "tail": [1, 2]])
        assertCanonicalizeMatches(bytes)
        assertCanonicalizeMatches(bytes, path: ["outer"])
        XCTAssertEqual(try CanonicalJSON.canonicalize(bytes, path: ["outer"]), try CanonicalJSON.encode(.object(object)))
    }

    func testNestedPaths() throws {
        let text = #"{"signed":{"targets":{"b":{"x":[1,{"y":"z"}]},"a":2},"version":3},"signatures":[]}"#
        let bytes = Array(text.utf8)
        XCTAssertEqual(String(decoding: try CanonicalJSON.canonicalize(bytes, path: ["signed", "targets", "b"]), as: UTF8.self),
                       #"{"x":[1,{"y":"z"}]}"#)
        XCTAssertEqual(String(decoding: try CanonicalJSON.canonicalize(bytes, path: ["signed", "targets"]), as: UTF8.self),
                       #"{"a":2,"b":{"x":[1,{"y":"z"}]}}"#)
        XCTAssertEqual(String(decoding: try CanonicalJSON.canonicalize(bytes, path: ["signed", "version"]), as: UTF8.self), "3")
        XCTAssertEqual(String(decoding: try CanonicalJSON.canonicalize(bytes, path: ["signatures"]), as: UTF8.self), "[]")
        for path in [["signed"], ["signed", "targets", "b", "x"], ["signatures"], []] {
            assertCanonicalizeMatches(bytes, path: path)
        }
        // Path keys are compared as UTF-8 bytes after unescaping.
        let escaped = Array(#"{"s\u0069gned":{"\u00e9":1,"e\u0301":2}}"#.utf8)
        XCTAssertEqual(try CanonicalJSON.canonicalize(escaped, path: ["signed", "\u{E9}"]), Array("1".utf8))
        XCTAssertEqual(try CanonicalJSON.canonicalize(escaped, path: ["signed", "e\u{301}"]), Array("2".utf8))
    }

    func testKeysWithEscapesSortByTheirDecodedBytes() throws {
        // `"` (0x22) sorts before `#` (0x23) although its escaped form starts with `\` (0x5C).
        let text = #"{"a#":1,"a\"":2,"a\\":3,"a\u0022b":4,"\u00e9":5,"e\u0301":6,"\ud83d\ude00":7,"\uff61":8}"#
        let canonical = try CanonicalJSON.canonicalize(Array(text.utf8))
        XCTAssertEqual(String(decoding: canonical, as: UTF8.self),
                       "{\"a\\\"\":2,\"a\\\"b\":4,\"a#\":1,\"a\\\\\":3,\"e\u{301}\":6,\"\u{E9}\":5,\"\u{FF61}\":8,\"\u{1F600}\":7}")
        assertCanonicalizeMatches(Array(text.utf8))
    }

    func testIntegersAndLiterals() throws {
        let text = " [ -0 , 0 , 9223372036854775807 , -9223372036854775808 , true , false , null , \"\\u0000\\/\" ] "
        XCTAssertEqual(try CanonicalJSON.canonicalize(Array(text.utf8)),
                       Array("[0,0,9223372036854775807,-9223372036854775808,true,false,null,\"\u{0}/\"]".utf8))
    }

    // MARK: Floats

    func testFloatsOutsideTheSelectedValueAreAllowed() throws {
        let bytes = Array(#"{"ratio":0.5,"signed":{"b":[2],"a":1},"more":[1e9,{"x":-2.5E-3}]}"#.utf8)
        XCTAssertEqual(String(decoding: try CanonicalJSON.canonicalize(bytes, path: ["signed"]), as: UTF8.self),
                       #"{"a":1,"b":[2]}"#)
        assertCanonicalizeMatches(bytes, path: ["signed"])
    }

    func testFloatsInsideTheSelectedValueAreRefused() {
        let bytes = Array(#"{"signed":{"x":{"y":[1,2.5e1]}},"z":0.1}"#.utf8)
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes, path: ["signed"])) {
            XCTAssertEqual($0 as? JSONError, .floatNotAllowed(text: "2.5e1"))
        }
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes)) {
            guard case .floatNotAllowed = $0 as? JSONError else { return XCTFail("wrong error \($0)") }
        }
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(Array("-0.0".utf8))) {
            XCTAssertEqual($0 as? JSONError, .floatNotAllowed(text: "-0.0"))
        }
        assertCanonicalizeMatches(bytes, path: ["signed"])
        assertCanonicalizeMatches(bytes, path: ["signed", "x", "y"])
    }

    func testParseErrorsWinOverFloatsAndMissingPaths() {
        // The parser rejects these documents, so the float or the missing key must not be reported.
        let cases: [(String, [String], JSONError)] = [
            (#"{"signed":{"f":1.5}} x"#, ["signed"], .trailingData(offset: 21)),
            (#"{"signed":[1.5,]}"#, ["signed"], .unexpectedCharacter(
                found: 0x5D, expected: "a value (object, array, string, number, true, false or null)", offset: 15)),
            (#"{"a":1,"a":2}"#, ["missing"], .duplicateKey("a", offset: 7)),
            (#"{"a":1}   ]"#, ["b"], .trailingData(offset: 10)),
            (#"[1.5, 01]"#, [], .leadingZero(offset: 6)),
        ]
        for (text, path, expected) in cases {
            XCTAssertThrowsError(try CanonicalJSON.canonicalize(Array(text.utf8), path: path), text) {
                XCTAssertEqual($0 as? JSONError, expected, text)
            }
            assertCanonicalizeMatches(Array(text.utf8), path: path)
        }
    }

    // MARK: Paths that cannot be followed

    func testMissingPathsThrowPathNotFound() {
        let bytes = Array(#"{"signed":{"targets":[1],"name":"x","n":null,"t":true,"v":1,"e":{}}}"#.utf8)
        let cases: [([String], JSONError)] = [
            (["unsigned"], .pathNotFound(path: ["unsigned"], found: "an object without that key")),
            (["signed", "missing"], .pathNotFound(path: ["signed", "missing"], found: "an object without that key")),
            (["signed", "targets", "a"], .pathNotFound(path: ["signed", "targets", "a"], found: "an array")),
            (["signed", "name", "a"], .pathNotFound(path: ["signed", "name", "a"], found: "a string")),
            (["signed", "n", "a"], .pathNotFound(path: ["signed", "n", "a"], found: "null")),
            (["signed", "t", "a"], .pathNotFound(path: ["signed", "t", "a"], found: "a Boolean")),
            (["signed", "v", "a"], .pathNotFound(path: ["signed", "v", "a"], found: "a number")),
            (["signed", "e", "a"], .pathNotFound(path: ["signed", "e", "a"], found: "an object without that key")),
            // Byte comparison: a canonically equivalent key is a different key.
            (["sign\u{E9}d"], .pathNotFound(path: ["sign\u{E9}d"], found: "an object without that key")),
        ]
        for (path, expected) in cases {
            XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes, path: path), "\(path)") {
                XCTAssertEqual($0 as? JSONError, expected)
            }
            assertCanonicalizeMatches(bytes, path: path)
        }
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(Array("[1]".utf8), path: ["a"])) {
            XCTAssertEqual($0 as? JSONError, .pathNotFound(path: ["a"], found: "an array"))
        }
    }

    func testPathNotFoundDescriptionSaysWhatWasExpectedAndFound() {
        let error = JSONError.pathNotFound(path: ["signed", "targets"], found: "an array")
        for fragment in ["\"signed\", \"targets\"", "expected an object with key \"targets\"", "at [\"signed\"]",
                         "found an array"] {
            XCTAssertTrue(error.description.contains(fragment), "\(error.description) lacks \(fragment)")
        }
        XCTAssertTrue(JSONError.pathNotFound(path: ["a"], found: "null").description.contains("at []"))
    }

    // MARK: Input checks and limits

    func testInputChecksComeFirst() {
        for (bytes, limits, expected) in [
            ([], JSONLimits.default, JSONError.emptyInput),
            ([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], .default, .byteOrderMark),
            (Array("[1,2,3,4,5]".utf8), JSONLimits(maxBytes: 10), .tooLarge(limit: 10, actual: 11)),
            (Array(#"{"a":[[[]]]}"#.utf8), JSONLimits(maxDepth: 3), .tooDeep(limit: 3, offset: 7)),
        ] as [([UInt8], JSONLimits, JSONError)] {
            XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes, limits: limits)) {
                XCTAssertEqual($0 as? JSONError, expected)
            }
            XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes, path: ["a"], limits: limits)) {
                XCTAssertEqual($0 as? JSONError, expected)
            }
        }
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(UnsafeRawBufferPointer(start: nil, count: 0))) {
            XCTAssertEqual($0 as? JSONError, .emptyInput)
        }
    }

    func testDepthLimitCountsLevelsAboveTheSelectedValue() {
        // The selected value sits two levels down; the limit applies to the whole document.
        let bytes = Array(#"{"a":{"b":[[1]]}}"#.utf8)
        XCTAssertEqual(try CanonicalJSON.canonicalize(bytes, path: ["a", "b"], limits: JSONLimits(maxDepth: 4)),
                       Array("[[1]]".utf8))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(bytes, path: ["a", "b"], limits: JSONLimits(maxDepth: 3))) {
            XCTAssertEqual($0 as? JSONError, .tooDeep(limit: 3, offset: 11))
        }
    }

    func testSmallValueOfALargeDocumentDoesNotKeepTheLargeBuffer() throws {
        let bytes = targetsDocument(count: 300, shuffleSeed: 3, pretty: true)
        let version = try CanonicalJSON.canonicalize(bytes, path: ["signed", "version"])
        XCTAssertEqual(version, Array("1".utf8))
        XCTAssertLessThan(version.capacity, bytes.count / 2)
        let whole = try CanonicalJSON.canonicalize(bytes, path: ["signed"])
        XCTAssertEqual(whole, try CanonicalJSON.encode(try JSONParser.parse(bytes)["signed"] ?? nil))
    }
}
