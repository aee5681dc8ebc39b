import SignetJSON
import XCTest

/// The human-facing writer: exact layout, escapes, and that its output parses back to the same value.
final class JSONWriterTests: XCTestCase {
    func testPrettyLayout() {
        let value: JSONValue = ["name": "signet", "list": [1, [], [:], ["k": nil]], "ratio": .float("0.50"), "ok": true]
        let expected = """
            {
              "name": "signet",
              "list": [
                1,
                [],
                {},
                {
                  "k": null
                }
              ],
              "ratio": 0.50,
              "ok": true
            }

            """
        XCTAssertEqual(String(decoding: JSONWriter.encode(value), as: UTF8.self), expected)
    }

    func testCompactLayoutKeepsStoredOrder() {
        let value: JSONValue = ["b": [1, 2], "a": "x"]
        XCTAssertEqual(String(decoding: JSONWriter.encode(value, pretty: false), as: UTF8.self), #"{"b":[1,2],"a":"x"}"#)
        XCTAssertEqual(JSONWriter.encode([], pretty: false), Array("[]".utf8))
        XCTAssertEqual(JSONWriter.encode(.integer(Int64.min), pretty: false), Array("-9223372036854775808".utf8))
    }

    func testStandardEscapes() {
        let value: JSONValue = .string("q\" b\\ s/ \u{8}\u{C}\n\r\t \u{0}\u{1F}\u{7F} é😀")
        let expected = #""q\" b\\ s/ \b\f\n\r\t \u0000\u001f"# + "\u{7F} é😀\""
        XCTAssertEqual(String(decoding: JSONWriter.encode(value, pretty: false), as: UTF8.self), expected)
    }

    func testOutputParsesBackToTheSameValue() throws {
        var generator = RandomJSON(seed: 7)
        for _ in 0..<200 {
            let value = generator.value(depth: 0)
            XCTAssertEqual(try JSONParser.parse(JSONWriter.encode(value)), value)
            XCTAssertEqual(try JSONParser.parse(JSONWriter.encode(value, pretty: false)), value)
        }
    }

    func testFloatTextSurvivesAWriteAndParse() throws {
        let value = try JSONParser.parse(#"{"a":1.50,"b":[-0.0,1E+2]}"#)
        XCTAssertEqual(String(decoding: JSONWriter.encode(value, pretty: false), as: UTF8.self), #"{"a":1.50,"b":[-0.0,1E+2]}"#)
    }
}
