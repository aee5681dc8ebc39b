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

    /// config.json keys meet references in every spelling references accept: `docker login host:443`
    /// stores `host:443`, which is the registry `host`.
    func testConfigKeysAreSpelledAsReferencesSpellRegistries() {
        let cases: [(String, String)] = [
            ("Registry.Example:443", "registry.example"), ("https://registry.example:0443/v2/", "registry.example"),
            ("https://index.docker.io/v1/", "docker.io"), ("registry.hub.docker.com", "docker.io"),
            ("host:05000", "host:5000"), ("[0:0::1]:5000", "[::1]:5000"), ("127.0.0.1:443", "127.0.0.1:443"), ("host:abc", "host:abc"), ("host:+443", "host:+443"),
        ]
        for (key, expected) in cases { XCTAssertEqual(DockerConfigCredentials.normalizedRegistry(key), expected, key) }
    }

    /// A registry's error text reaches the terminal: control characters decoded from JSON escapes
    /// (`\u001b[2K`, OSC sequences) are replaced, in the code and the message alike.
    func testRegistryErrorTextCarriesNoTerminalControls() {
        let body = Array(#"{"errors":[{"code":"DENIED\u001b]0;x\u0007","message":"\u001b[2K\u001b[1Averified \u009b31m ok \u202egnp.exe"}]}"#.utf8)
        let parsed = RegistryClient.errorBody(body)
        XCTAssertEqual(parsed?.message?.contains("verified"), true)
        for text in [parsed?.code ?? "", parsed?.message ?? ""] {
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) }, text.debugDescription)
        }
    }
}
