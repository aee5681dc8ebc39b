import SignetJSON
import XCTest

/// JSONObject storage, byte-wise key identity, and JSONValue equality.
final class JSONObjectTests: XCTestCase {
    func testInitKeepsOrderAndRejectsByteEqualDuplicates() throws {
        let object = try JSONObject([("b", 1), ("a", 2)])
        XCTAssertEqual(object.keys, ["b", "a"])
        XCTAssertEqual(object.count, 2)
        XCTAssertThrowsError(try JSONObject([("a", 1), ("b", 2), ("a", 3)])) {
            XCTAssertEqual($0 as? JSONError, .duplicateKey("a", offset: 0))
        }
        // Canonically equivalent but byte-different keys are fine.
        let both = try JSONObject([("\u{E9}", 1), ("e\u{301}", 2)])
        XCTAssertEqual(both.count, 2)
    }

    func testInitRejectsDuplicatesBeyondTheIndexThreshold() {
        var members: [(String, JSONValue)] = (0..<20).map { ("k\($0)", .integer(Int64($0))) }
        members.append(("k3", .null))
        XCTAssertThrowsError(try JSONObject(members)) {
            XCTAssertEqual($0 as? JSONError, .duplicateKey("k3", offset: 0))
        }
    }

    func testSubscriptSetReplacesInPlaceAppendsAndRemoves() {
        var object: JSONObject = ["x": 1, "y": 2, "z": 3]
        object["y"] = "two"
        XCTAssertEqual(object.keys, ["x", "y", "z"])
        XCTAssertEqual(object["y"], "two")
        object["w"] = 4
        XCTAssertEqual(object.keys, ["x", "y", "z", "w"])
        object["x"] = nil
        XCTAssertEqual(object.keys, ["y", "z", "w"])
        object["missing"] = nil
        XCTAssertEqual(object.count, 3)
        XCTAssertFalse(object.contains(key: "x"))
        XCTAssertTrue(object.contains(key: "w"))
    }

    func testSubscriptReplacesOnlyByteEqualKeys() {
        var object: JSONObject = ["\u{E9}": 1]
        object["e\u{301}"] = 2
        XCTAssertEqual(object.count, 2)
        object["\u{E9}"] = 3
        XCTAssertEqual(object.count, 2)
        XCTAssertEqual(object["\u{E9}"], 3)
        XCTAssertEqual(object["e\u{301}"], 2)
    }

    func testIndexStaysConsistentAcrossGrowthAndRemoval() {
        var object = JSONObject()
        for i in 0..<40 { object["key\(i)"] = .integer(Int64(i)) }
        for i in stride(from: 0, to: 40, by: 3) { object["key\(i)"] = nil }
        for i in 0..<40 {
            XCTAssertEqual(object["key\(i)"], i % 3 == 0 ? nil : .integer(Int64(i)), "key\(i)")
        }
        // Shrink below the threshold and grow again.
        for i in 0..<40 where i % 3 != 0 && i > 10 { object["key\(i)"] = nil }
        XCTAssertEqual(object.keys, ["key1", "key2", "key4", "key5", "key7", "key8", "key10"])
        for i in 100..<120 { object["key\(i)"] = .integer(Int64(i)) }
        XCTAssertEqual(object.count, 27)
        XCTAssertEqual(object["key119"], 119)
        XCTAssertEqual(object["key7"], 7)
        object["key7"] = "seven"
        XCTAssertEqual(object.keys[4], "key7")
        XCTAssertEqual(object["key7"], "seven")
    }

    func testIterationYieldsMembersInOrder() {
        let object: JSONObject = ["b": 1, "a": 2, "c": 3]
        var seen: [String] = []
        var total: Int64 = 0
        for (key, value) in object {
            seen.append(key)
            total += value.integerValue ?? 0
        }
        XCTAssertEqual(seen, ["b", "a", "c"])
        XCTAssertEqual(total, 6)
        XCTAssertEqual(object.members.map(\.key), ["b", "a", "c"])
    }

    func testEqualityIgnoresOrderButNotKeyBytes() throws {
        let a: JSONObject = ["x": 1, "y": [true, nil]]
        let b: JSONObject = ["y": [true, nil], "x": 1]
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, ["x": 1, "y": [true]])
        XCTAssertNotEqual(a, ["x": 1])
        let precomposed: JSONObject = ["\u{E9}": 1]
        let decomposed: JSONObject = ["e\u{301}": 1]
        XCTAssertNotEqual(precomposed, decomposed)
        XCTAssertEqual(JSONObject(), [:])
    }

    func testValueEqualityComparesStringBytes() {
        XCTAssertNotEqual(JSONValue.string("\u{E9}"), .string("e\u{301}"))
        XCTAssertEqual(JSONValue.string("\u{E9}"), .string("\u{E9}"))
        XCTAssertNotEqual(JSONValue.float("1.0"), .float("1.00"))
        XCTAssertNotEqual(JSONValue.integer(1), .float("1"))
        XCTAssertNotEqual(JSONValue.bool(false), .null)
    }

    func testAccessorsReturnNilForOtherCases() {
        let value: JSONValue = 5
        XCTAssertEqual(value.integerValue, 5)
        XCTAssertNil(value.stringValue)
        XCTAssertNil(value.boolValue)
        XCTAssertNil(value.arrayValue)
        XCTAssertNil(value.objectValue)
        XCTAssertNil(value.floatText)
        XCTAssertNil(value["key"])
        XCTAssertNil(value[0])
        XCTAssertFalse(value.isNull)
        XCTAssertTrue(JSONValue.null.isNull)
        XCTAssertEqual(JSONValue.string("s").stringValue, "s")
        XCTAssertEqual(JSONValue.bool(true).boolValue, true)
        XCTAssertEqual(JSONValue.array([1]).arrayValue, [1])
        XCTAssertEqual(JSONValue.object(["k": "v"]).objectValue?["k"], "v")
    }

    func testParsedLargeObjectSupportsLookupAndMutation() throws {
        var text = "{"
        for i in stride(from: 0, to: 40, by: 2) { text += "\"m\(i)\":\(i)," }
        text += "\"\u{E9}\":1,\"e\u{301}\":2}"
        guard var object = try JSONParser.parse(text).objectValue else { return XCTFail("not an object") }
        XCTAssertEqual(object.count, 22)
        XCTAssertEqual(object["m38"], 38)
        XCTAssertEqual(object["e\u{301}"], 2)
        XCTAssertNil(object["m1"])
        // A key that sorts after every other key, then one that does not, then a removal.
        object["\u{10FFFF}"] = "last"
        object["a"] = "first"
        object["m2"] = nil
        object["m4"] = "four"
        for i in stride(from: 0, to: 40, by: 2) where i != 2 && i != 4 {
            XCTAssertEqual(object["m\(i)"], .integer(Int64(i)), "m\(i)")
        }
        XCTAssertEqual(object["\u{10FFFF}"], "last")
        XCTAssertEqual(object["a"], "first")
        XCTAssertEqual(object["m4"], "four")
        XCTAssertNil(object["m2"])
        XCTAssertEqual(object.keys.first, "m0")
        XCTAssertEqual(object.keys.last, "a")
        let canonical = try CanonicalJSON.encode(.object(object))
        XCTAssertTrue(canonical.starts(with: Array(#"{"a":"first","e\#u{301}":2,"m0":0,"#.utf8)))
        XCTAssertTrue(canonical.reversed().starts(with: Array("\"\u{E9}\":1,\"\u{10FFFF}\":\"last\"}".utf8).reversed()))
    }

    func testEqualityAcrossStorageModes() throws {
        var text = "{"
        for i in 0..<30 { text += "\"k\(i)\":\(i)," }
        text += "\"end\":null}"
        let parsed = try JSONParser.parse(text).objectValue
        var built = JSONObject()
        built["end"] = nil as JSONValue?
        built["end"] = .null
        for i in stride(from: 29, through: 0, by: -1) { built["k\(i)"] = .integer(Int64(i)) }
        XCTAssertEqual(parsed, built)
        built["k7"] = 8
        XCTAssertNotEqual(parsed, built)
    }
}
