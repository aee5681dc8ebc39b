/// One authentication challenge from a `WWW-Authenticate` header (RFC 9110 §11.6.1), such as
/// `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"`.
public struct AuthChallenge: Sendable, Equatable {
    /// The scheme, lowercased: `bearer`, `basic`, ...
    public var scheme: String
    /// Parameters with lowercased names and unquoted values.
    public var parameters: [String: String]

    /// Creates a challenge.
    public init(scheme: String, parameters: [String: String] = [:]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// `realm`, if present.
    public var realm: String? { parameters["realm"] }
    /// `service`, if present (token authentication).
    public var service: String? { parameters["service"] }
    /// `scope`, if present: space-separated scopes the registry asks for.
    public var scope: String? { parameters["scope"] }
    /// `error`, if present, e.g. `insufficient_scope` or `invalid_token`.
    public var error: String? { parameters["error"] }

    /// Parses every challenge in the values of one or more `WWW-Authenticate` headers.
    ///
    /// Never throws: malformed parts are skipped, so a garbled header yields fewer challenges.
    /// Token68 values (as in `Negotiate abc==`) are kept under the parameter name `""`.
    public static func parse(_ headerValues: [String]) -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        for value in headerValues {
            result.append(contentsOf: parseOne(Array(value.utf8)))
        }
        return result
    }

    private static func parseOne(_ bytes: [UInt8]) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        var index = 0
        func skipSpaces() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }
        func skipSpacesAndCommas() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x2C { index += 1 }
        }
        func token() -> String? {
            let start = index
            while index < bytes.count, isTokenByte(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
        func quotedString() -> String? {
            guard index < bytes.count, bytes[index] == 0x22 else { return nil }
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x5C, index + 1 < bytes.count {
                    out.append(bytes[index + 1])
                    index += 2
                    continue
                }
                index += 1
                if byte == 0x22 { return String(decoding: out, as: UTF8.self) }
                out.append(byte)
            }
            return nil  // unterminated
        }

        skipSpacesAndCommas()
        while index < bytes.count {
            guard let scheme = token() else {
                // Not a challenge start: skip to the next comma and try again.
                while index < bytes.count, bytes[index] != 0x2C { index += 1 }
                skipSpacesAndCommas()
                continue
            }
            var challenge = AuthChallenge(scheme: lowercasedASCII(scheme))
            skipSpaces()
            // Parameters: name=value pairs separated by commas, until a bare token (the next scheme).
            var first = true
            while index < bytes.count {
                var sawComma = false
                while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x2C {
                    if bytes[index] == 0x2C { sawComma = true }
                    index += 1
                }
                let nameStart = index
                guard let name = token() else { break }
                skipSpaces()
                if index < bytes.count, bytes[index] == 0x3D {  // "="
                    index += 1
                    skipSpaces()
                    if let value = quotedString() ?? token() {
                        challenge.parameters[lowercasedASCII(name)] = value
                    } else {
                        // token68 ending in "=" padding, e.g. "abc==".
                        while index < bytes.count, bytes[index] == 0x3D { index += 1 }
                        challenge.parameters[""] = String(decoding: bytes[nameStart..<index], as: UTF8.self)
                    }
                    first = false
                    continue
                }
                if first && !sawComma {
                    // A bare token right after the scheme: token68.
                    challenge.parameters[""] = name
                    first = false
                    continue
                }
                index = nameStart
                break
            }
            challenges.append(challenge)
            skipSpacesAndCommas()
        }
        return challenges
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E, 0x2F:
            return true  // tchar, plus "/" which token68 allows
        default: return false
        }
    }
}

/// `text` with ASCII letters lowercased.
func lowercasedASCII(_ text: String) -> String {
    var bytes = Array(text.utf8)
    for index in bytes.indices where bytes[index] >= 0x41 && bytes[index] <= 0x5A { bytes[index] += 0x20 }
    return String(decoding: bytes, as: UTF8.self)
}
