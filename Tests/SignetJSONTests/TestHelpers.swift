import SignetJSON
import XCTest

/// Asserts that parsing `bytes` fails with exactly `expected`, and that the streaming entry points
/// (`CanonicalJSON.canonicalize` and `JSONParser.parse(_:lazyPath:)`, with paths that select the whole
/// document, a member, or nothing) fail with exactly the same error.
func assertRejects(
    _ bytes: [UInt8], _ expected: JSONError, limits: JSONLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try JSONParser.parse(bytes, limits: limits)
        XCTFail("expected \(expected), but parsed \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
    for path in [[], ["a"], ["k0"], ["x"], ["absent"], ["a", "b"]] as [[String]] {
        do {
            let encoded = try CanonicalJSON.canonicalize(bytes, path: path, limits: limits)
            XCTFail("canonicalize(path: \(path)): expected \(expected), got \(encoded)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, "canonicalize(path: \(path))", file: file, line: line)
        }
        do {
            let (value, lazy) = try JSONParser.parse(bytes, lazyPath: path, limits: limits)
            XCTFail("parse(lazyPath: \(path)): expected \(expected), got \(value), \(String(describing: lazy?.keys))",
                    file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, "parse(lazyPath: \(path))", file: file, line: line)
        }
    }
}

/// Asserts that parsing the UTF-8 of `text` fails with exactly `expected`.
func assertRejects(
    _ text: String, _ expected: JSONError, limits: JSONLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertRejects(Array(text.utf8), expected, limits: limits, file: file, line: line)
}

/// Parses `text` or fails the test.
func parseOrFail(
    _ text: String, limits: JSONLimits = .default, file: StaticString = #filePath, line: UInt = #line
) -> JSONValue? {
    parseOrFail(Array(text.utf8), limits: limits, file: file, line: line)
}

/// Parses `bytes` or fails the test.
func parseOrFail(
    _ bytes: [UInt8], limits: JSONLimits = .default, file: StaticString = #filePath, line: UInt = #line
) -> JSONValue? {
    do {
        return try JSONParser.parse(bytes, limits: limits)
    } catch {
        XCTFail("unexpected parse error: \(error)", file: file, line: line)
        return nil
    }
}

/// Canonically encodes `value` or fails the test.
func canonicalOrFail(_ value: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> [UInt8]? {
    do {
        return try CanonicalJSON.encode(value)
    } catch {
        XCTFail("unexpected encode error: \(error)", file: file, line: line)
        return nil
    }
}

/// Canonical form of the JSON `text`, as a Swift string (assumes valid UTF-8 output).
func canonicalText(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
    guard let value = parseOrFail(text, file: file, line: line),
        let bytes = canonicalOrFail(value, file: file, line: line)
    else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// A small deterministic PRNG (SplitMix64) so generated test data is identical on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random JSON values (no floats) from a seeded generator.
struct RandomJSON {
    var rng: SplitMix64

    /// Scalars chosen to stress escaping, sorting and UTF-8 handling.
    static let interestingScalars: [Unicode.Scalar] = [
        "a", "b", "z", "A", "0", "~", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}",
        "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "\u{80}", "\u{E9}", "\u{301}", "\u{FF}", "\u{100}", "\u{7FF}",
        "\u{800}", "\u{4E2D}", "\u{D7FF}", "\u{E000}", "\u{FF61}", "\u{FFFD}", "\u{FFFF}", "\u{10000}",
        "\u{1D11E}", "\u{1F600}", "\u{10FFFF}",
    ]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    mutating func string(maxLength: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<int(0...maxLength) {
            if int(0...3) == 0 {
                scalars.append(Self.interestingScalars[int(0...(Self.interestingScalars.count - 1))])
            } else {
                scalars.append(Unicode.Scalar(UInt8(int(0x61...0x7A))))
            }
        }
        return String(scalars)
    }

    mutating func integer() -> Int64 {
        switch int(0...5) {
        case 0: return Int64.min
        case 1: return Int64.max
        case 2: return Int64(int(-10...10))
        default: return Int64.random(in: Int64.min...Int64.max, using: &rng)
        }
    }

    mutating func value(depth: Int) -> JSONValue {
        let kind = depth >= 5 ? int(0...4) : int(0...6)
        switch kind {
        case 0: return .null
        case 1: return .bool(int(0...1) == 1)
        case 2: return .integer(integer())
        case 3, 4: return .string(string(maxLength: 12))
        case 5:
            var elements: [JSONValue] = []
            for _ in 0..<int(0...6) { elements.append(value(depth: depth + 1)) }
            return .array(elements)
        default:
            var object = JSONObject()
            // Sometimes large enough to use the hash index.
            let count = int(0...4) == 0 ? int(9...20) : int(0...6)
            for _ in 0..<count {
                object[string(maxLength: 6)] = value(depth: depth + 1)
            }
            return .object(object)
        }
    }
}
