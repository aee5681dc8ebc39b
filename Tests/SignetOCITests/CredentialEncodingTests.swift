import SignetJSON
@testable import SignetOCI
import XCTest

/// The JSON string encoder that feeds secrets to credential helpers without making them Strings.
final class CredentialEncodingTests: XCTestCase {
    func testQuotesBackslashesAndControlCharactersAreEscaped() throws {
        let raw: [UInt8] = [0x00, 0x01, 0x1F, 0x22, 0x5C, 0x41, 0x7F] + Array("é".utf8)
        let encoded = DockerConfigCredentials.jsonString(raw)
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "\"\\u0000\\u0001\\u001f\\\"\\\\A\u{7F}é\"")
        // And a strict parser reads the same bytes back.
        let parsed = try JSONParser.parse(Array(#"{"s":"#.utf8) + encoded + Array("}".utf8))
        XCTAssertEqual(parsed["s"]?.stringValue.map { Array($0.utf8) }, raw)
    }
}
