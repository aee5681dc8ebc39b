import SignetJSON
import XCTest

/// `JSONParser.parse(_:lazyPath:limits:)` and `LazyJSONObject`.
final class LazyJSONObjectTests: XCTestCase {
    func testTargetsDocumentKeepsTargetsLazy() throws {
        let bytes = targetsDocument(count: 1200, shuffleSeed: 11, pretty: true)
        let (tree, lazy) = try JSONParser.parse(bytes, lazyPath: ["signed", "targets"])
        let eager = try JSONParser.parse(bytes)
        guard let lazy, let targets = eager["signed"]?["targets"]?.objectValue else {
            return XCTFail("expected a lazy targets object")
        }
        XCTAssertEqual(tree["signed"]?["targets"], .object(JSONObject()))
        XCTAssertEqual(tree["signed"]?["version"], 1)
        XCTAssertEqual(tree["signatures"], eager["signatures"])
        XCTAssertEqual(lazy.count, 1200)
        XCTAssertEqual(lazy.keys, targets.keys)
        let name = "releases/component-3/artifact-10-linux-amd64.tar.gz"
        XCTAssertTrue(lazy.contains(key: name))
        XCTAssertEqual(try lazy.value(forKey: name), targets[name])
        XCTAssertEqual(try lazy.value(forKey: name)?["length"], 1010)
        XCTAssertNil(try lazy.value(forKey: "releases/component-3/artifact-10-linux-amd64.tar"))
        XCTAssertEqual(try lazy.toJSONObject(), targets)
        assertLazyParseMatches(bytes, lazyPath: ["signed", "targets"])
        assertLazyParseMatches(bytes, lazyPath: ["signed"])
    }

    func testNormalisationVariantsAreDistinctKeys() throws {
        // Small (linear duplicate check) and large (hash table only) objects, raw and escaped spellings.
        for padding in [0, 20] {
            var text = #"{"t":{"#
            for i in 0..<padding { text += "\"k\(i)\":\(i)," }
            text += "\"\u{E9}\":1,\"e\u{301}\":2,\"x\\u00e9\":3,\"xe\\u0301\":4}}"
            let (_, lazy) = try JSONParser.parse(Array(text.utf8), lazyPath: ["t"])
            guard let lazy else { return XCTFail("no lazy object") }
            XCTAssertEqual(lazy.count, padding + 4)
            XCTAssertEqual(try lazy.value(forKey: "\u{E9}"), 1)
            XCTAssertEqual(try lazy.value(forKey: "e\u{301}"), 2)
            XCTAssertEqual(try lazy.value(forKey: "x\u{E9}"), 3)
            XCTAssertEqual(try lazy.value(forKey: "xe\u{301}"), 4)
            XCTAssertEqual(lazy.keys.suffix(4).map { Array($0.utf8) },
                           [[0xC3, 0xA9], [0x65, 0xCC, 0x81], [0x78, 0xC3, 0xA9], [0x78, 0x65, 0xCC, 0x81]])
            assertLazyParseMatches(Array(text.utf8), lazyPath: ["t"])
        }
        let (_, single) = try JSONParser.parse(Array("{\"\u{E9}\":1}".utf8), lazyPath: [])
        XCTAssertEqual(single?.contains(key: "\u{E9}"), true)
        XCTAssertEqual(single?.contains(key: "e\u{301}"), false)
        XCTAssertNil(try single?.value(forKey: "e\u{301}"))
    }

    func testDuplicateKeysInsideTheLazyObjectAreRejected() {
        let cases: [(String, JSONError)] = [
            (#"{"t":{"a":1,"a":2}}"#, .duplicateKey("a", offset: 12)),
            (#"{"t":{"a":1,"\u0061":2}}"#, .duplicateKey("a", offset: 12)),
            (#"{"t":{"\ud83d\ude00":1,"😀":2}}"#, .duplicateKey("😀", offset: 23)),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JSONParser.parse(Array(text.utf8), lazyPath: ["t"]), text) {
                XCTAssertEqual($0 as? JSONError, expected, text)
            }
            assertLazyParseMatches(Array(text.utf8), lazyPath: ["t"])
        }
        // Past eight members the repeat is found when the object closes: the earliest repeat is reported,
        // after the rest of the object has been validated (as the parser does).
        var text = #"{"t":{"#
        for i in 0..<30 { text += "\"k\(i)\":\(i)," }
        let firstRepeat = text.utf8.count
        text += #""k20":0,"k3":0,"k20":1}}"#
        XCTAssertThrowsError(try JSONParser.parse(Array(text.utf8), lazyPath: ["t"])) {
            XCTAssertEqual($0 as? JSONError, .duplicateKey("k20", offset: firstRepeat))
        }
        assertLazyParseMatches(Array(text.utf8), lazyPath: ["t"])
        let laterError = text.replacingOccurrences(of: #""k3":0"#, with: #""k3":01"#)
        XCTAssertThrowsError(try JSONParser.parse(Array(laterError.utf8), lazyPath: ["t"])) {
            XCTAssertEqual($0 as? JSONError, .leadingZero(offset: firstRepeat + 13))
        }
    }

    func testTheWholeDocumentIsValidated() {
        let cases: [(String, JSONError)] = [
            (#"{"t":{"a":[1,]}}"#, .unexpectedCharacter(
                found: 0x5D, expected: "a value (object, array, string, number, true, false or null)", offset: 13)),
            (#"{"t":{"a":1},"u":{"b":1,"b":2}}"#, .duplicateKey("b", offset: 24)),
            (#"{"t":{"a":"\ud800"}}"#, .loneSurrogate(offset: 11)),
            (#"{"t":{}} 1"#, .trailingData(offset: 9)),
            (#"{"x":1e,"t":{}}"#, .invalidNumber(offset: 7)),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JSONParser.parse(Array(text.utf8), lazyPath: ["t"]), text) {
                XCTAssertEqual($0 as? JSONError, expected, text)
            }
        }
        XCTAssertThrowsError(try JSONParser.parse(Array(#"{"t":{"a":[[1]]}}"#.utf8), lazyPath: ["t"],
                                                  limits: JSONLimits(maxDepth: 3))) {
            XCTAssertEqual($0 as? JSONError, .tooDeep(limit: 3, offset: 11))
        }
    }

    func testMissingOrNonObjectPathGivesNoLazyObjectAndAFullTree() throws {
        let text = #"{"a":[1,{"b":2}],"s":"x","o":{"p":{}},"f":1.5}"#
        for path in [["missing"], ["a"], ["s"], ["a", "b"], ["o", "q"], ["f"]] {
            let (tree, lazy) = try JSONParser.parse(Array(text.utf8), lazyPath: path)
            XCTAssertNil(lazy, "\(path)")
            XCTAssertEqual(tree, try JSONParser.parse(text), "\(path)")
        }
        let (tree, empty) = try JSONParser.parse(Array(text.utf8), lazyPath: ["o", "p"])
        XCTAssertEqual(empty?.count, 0)
        XCTAssertEqual(empty?.keys, [])
        XCTAssertEqual(try empty?.toJSONObject(), JSONObject())
        XCTAssertEqual(tree, try JSONParser.parse(text))
        // Floats are fine anywhere: this is a parse, not canonicalisation.
        let (_, floats) = try JSONParser.parse(Array(#"{"t":{"x":2.5}}"#.utf8), lazyPath: ["t"])
        XCTAssertEqual(try floats?.value(forKey: "x"), .float("2.5"))
    }

    func testTopLevelObjectCanBeLazy() throws {
        let bytes = Array(#" { "b" : [ true , null ] , "a\nb" : { "c" : "\u00e9" } } "#.utf8)
        let (tree, lazy) = try JSONParser.parse(bytes, lazyPath: [])
        XCTAssertEqual(tree, .object(JSONObject()))
        XCTAssertEqual(lazy?.keys, ["b", "a\nb"])
        XCTAssertEqual(try lazy?.value(forKey: "a\nb"), ["c": "\u{E9}"])
        XCTAssertEqual(try lazy?.value(forKey: "b"), [true, nil])
        assertLazyParseMatches(bytes, lazyPath: [])
    }

    func testKeysWithEscapesAreFoundByTheirDecodedBytes() throws {
        var text = #"{"t":{"#
        for i in 0..<12 { text += "\"k\\u00\(30 + i % 10)\(i)\":\(i)," }
        text += #""a\"b":"q","a\\b":"bs","\ud83d\ude00":"smile","\/":"slash"}}"#
        let (_, lazy) = try JSONParser.parse(Array(text.utf8), lazyPath: ["t"])
        XCTAssertEqual(try lazy?.value(forKey: "a\"b"), "q")
        XCTAssertEqual(try lazy?.value(forKey: "a\\b"), "bs")
        XCTAssertEqual(try lazy?.value(forKey: "\u{1F600}"), "smile")
        XCTAssertEqual(try lazy?.value(forKey: "/"), "slash")
        XCTAssertEqual(try lazy?.value(forKey: "k111"), 11)  // "k\u0031" + "11"
        assertLazyParseMatches(Array(text.utf8), lazyPath: ["t"])
    }

    func testRandomDocumentsAndPaths() {
        var generator = RandomJSON(seed: 0x1A2)
        var spelling = RandomSpelling(seed: 0x1A3, floats: true)
        var rng = SplitMix64(seed: 0x1A4)
        var lazyObjects = 0
        for round in 0..<400 {
            // Objects at the top, so that most paths lead somewhere.
            let value: JSONValue = ["a": generator.value(depth: 1), "b": generator.value(depth: 1)]
            let bytes = spelling.write(value)
            for _ in 0..<3 {
                let path = randomPath(in: value, using: &rng)
                if let selected = try? follow(path, in: value), selected.objectValue != nil { lazyObjects += 1 }
                assertLazyParseMatches(bytes, lazyPath: path, "round \(round)")
            }
        }
        XCTAssertGreaterThan(lazyObjects, 100)
    }

    func testLazyObjectIsSendable() async throws {
        let bytes = targetsDocument(count: 50, shuffleSeed: 5, pretty: false)
        let (_, lazy) = try JSONParser.parse(bytes, lazyPath: ["signed", "targets"])
        guard let lazy else { return XCTFail("no lazy object") }
        let count = await Task.detached { lazy.count }.value
        XCTAssertEqual(count, 50)
    }
}
