import Foundation
import SignetJSON
import XCTest

// Reference results for the streaming entry points, computed the slow way (parse the whole document,
// follow the path, encode), and a serializer that writes the same value in many different spellings.

/// What `JSONParser.parse` + path + `CanonicalJSON.encode` gives for `bytes`: the canonical bytes or the error.
func referenceCanonical(_ bytes: [UInt8], path: [String], limits: JSONLimits = .default) -> Result<[UInt8], JSONError> {
    do throws(JSONError) {
        let document = try JSONParser.parse(bytes, limits: limits)
        let selected = try follow(path, in: document)
        return .success(try CanonicalJSON.encode(selected))
    } catch {
        return .failure(error)
    }
}

/// The value `path` leads to in `document`, or the `.pathNotFound` error `canonicalize` is expected to throw.
func follow(_ path: [String], in document: JSONValue) throws(JSONError) -> JSONValue {
    var value = document
    for (level, key) in path.enumerated() {
        let prefix = Array(path[0...level])
        switch value {
        case let .object(object):
            guard let next = object[key] else {
                throw .pathNotFound(path: prefix, found: "an object without that key")
            }
            value = next
        case .array: throw .pathNotFound(path: prefix, found: "an array")
        case .string: throw .pathNotFound(path: prefix, found: "a string")
        case .integer, .float: throw .pathNotFound(path: prefix, found: "a number")
        case .bool: throw .pathNotFound(path: prefix, found: "a Boolean")
        case .null: throw .pathNotFound(path: prefix, found: "null")
        }
    }
    return value
}

/// `document` with the value at `path` (which must exist) replaced by `replacement`.
func replacing(_ path: ArraySlice<String>, in document: JSONValue, with replacement: JSONValue) -> JSONValue {
    guard let key = path.first else { return replacement }
    guard case var .object(object) = document, let child = object[key] else { return document }
    object[key] = replacing(path.dropFirst(), in: child, with: replacement)
    return .object(object)
}

/// Asserts that `canonicalize` agrees with the reference: same bytes, or the same error. With several
/// floats in the selected value, which one is named is unspecified, so only the case is compared then
/// unless `exactFloat` is true.
func assertCanonicalizeMatches(
    _ bytes: [UInt8], path: [String] = [], limits: JSONLimits = .default, exactFloat: Bool = true,
    _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    let expected = referenceCanonical(bytes, path: path, limits: limits)
    let actual: Result<[UInt8], JSONError>
    do {
        actual = .success(try CanonicalJSON.canonicalize(bytes, path: path, limits: limits))
    } catch {
        actual = .failure(error)
    }
    switch (expected, actual) {
    case let (.success(a), .success(b)):
        if a != b {
            XCTFail("canonicalize(path: \(path)) differs: expected \(String(decoding: a, as: UTF8.self)), "
                    + "got \(String(decoding: b, as: UTF8.self)) \(message)", file: file, line: line)
        }
    case let (.failure(a), .failure(b)):
        if case .floatNotAllowed = a, case .floatNotAllowed = b, !exactFloat { return }
        XCTAssertEqual(b, a, "canonicalize(path: \(path)) \(message)", file: file, line: line)
    default:
        XCTFail("canonicalize(path: \(path)): expected \(expected), got \(actual) \(message)", file: file, line: line)
    }
}

/// Asserts that `parse(_:lazyPath:)` agrees with the eager parse: the same error, or the same tree with the
/// lazy object emptied, and a lazy object whose keys, lookups and materialisation match the eager object.
func assertLazyParseMatches(
    _ bytes: [UInt8], lazyPath: [String], limits: JSONLimits = .default, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let document: JSONValue
    do {
        document = try JSONParser.parse(bytes, limits: limits)
    } catch let expected {
        XCTAssertThrowsError(try JSONParser.parse(bytes, lazyPath: lazyPath, limits: limits), message,
                             file: file, line: line) {
            XCTAssertEqual($0 as? JSONError, expected, "parse(lazyPath: \(lazyPath)) \(message)", file: file, line: line)
        }
        return
    }
    let tree: JSONValue
    let lazy: LazyJSONObject?
    do {
        (tree, lazy) = try JSONParser.parse(bytes, lazyPath: lazyPath, limits: limits)
    } catch {
        return XCTFail("parse(lazyPath: \(lazyPath)) threw \(error) \(message)", file: file, line: line)
    }
    guard let selected = try? follow(lazyPath, in: document), let object = selected.objectValue else {
        XCTAssertNil(lazy, "no object at \(lazyPath) \(message)", file: file, line: line)
        XCTAssertEqual(tree, document, message, file: file, line: line)
        return
    }
    guard let lazy else {
        return XCTFail("expected a lazy object at \(lazyPath) \(message)", file: file, line: line)
    }
    XCTAssertEqual(tree, replacing(lazyPath[...], in: document, with: .object(JSONObject())), message,
                   file: file, line: line)
    XCTAssertEqual(lazy.count, object.count, message, file: file, line: line)
    XCTAssertEqual(lazy.keys.map { Array($0.utf8) }, object.keys.map { Array($0.utf8) }, message, file: file, line: line)
    for (key, value) in object {
        XCTAssertTrue(lazy.contains(key: key), "contains \(key) \(message)", file: file, line: line)
        XCTAssertEqual(try lazy.value(forKey: key), value, "value for \(key) \(message)", file: file, line: line)
    }
    XCTAssertFalse(lazy.contains(key: "\u{10FFFF}not a key"), message, file: file, line: line)
    XCTAssertNil(try lazy.value(forKey: "\u{10FFFF}not a key"), message, file: file, line: line)
    XCTAssertEqual(try lazy.toJSONObject(), object, message, file: file, line: line)
    // The materialised object encodes exactly like the eager one (when it has no floats).
    if let expected = try? CanonicalJSON.encode(.object(object)) {
        XCTAssertEqual(try CanonicalJSON.encode(.object(try lazy.toJSONObject())), expected, message, file: file, line: line)
    }
}

/// Writes JSON values with randomly chosen whitespace and string escapes, and (optionally) some integers
/// replaced by numbers with a fraction or exponent, so one value yields many different documents.
struct RandomSpelling {
    var rng: SplitMix64
    var floats: Bool

    init(seed: UInt64, floats: Bool = false) {
        rng = SplitMix64(seed: seed)
        self.floats = floats
    }

    mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &rng) == 0 }

    mutating func whitespace(into out: inout [UInt8]) {
        guard chance(3) else { return }
        let spaces: [UInt8] = [0x20, 0x09, 0x0A, 0x0D]
        for _ in 0..<Int.random(in: 1...3, using: &rng) { out.append(spaces[Int.random(in: 0..<4, using: &rng)]) }
    }

    mutating func write(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        whitespace(into: &out)
        write(value, into: &out)
        whitespace(into: &out)
        return out
    }

    mutating func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case let .bool(flag): out += Array((flag ? "true" : "false").utf8)
        case let .integer(number):
            if floats && chance(12) {
                let texts = ["1.5", "-0.0", "2e3", "1E+2", "0.125e-1", "7.0"]
                out += Array(texts[Int.random(in: 0..<texts.count, using: &rng)].utf8)
            } else if number == 0 && chance(3) {
                out += Array("-0".utf8)
            } else {
                out += Array(String(number).utf8)
            }
        case let .float(text): out += Array(text.utf8)
        case let .string(text): writeString(text, into: &out)
        case let .array(elements):
            out.append(0x5B)
            for (n, element) in elements.enumerated() {
                if n > 0 { out.append(0x2C) }
                whitespace(into: &out)
                write(element, into: &out)
                whitespace(into: &out)
            }
            out.append(0x5D)
        case let .object(object):
            out.append(0x7B)
            for (n, member) in object.enumerated() {
                if n > 0 { out.append(0x2C) }
                whitespace(into: &out)
                writeString(member.key, into: &out)
                whitespace(into: &out)
                out.append(0x3A)
                whitespace(into: &out)
                write(member.value, into: &out)
                whitespace(into: &out)
            }
            whitespace(into: &out)
            out.append(0x7D)
        }
    }

    mutating func hexEscape(_ unit: UInt32, into out: inout [UInt8]) {
        let hex = String(unit, radix: 16)
        var digits = String(repeating: "0", count: 4 - hex.count) + hex
        if chance(2) { digits = digits.uppercased() }
        out += Array("\\u\(digits)".utf8)
    }

    mutating func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(0x22)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let named: [UInt32: String] = [0x22: "\\\"", 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n",
                                           0x0D: "\\r", 0x09: "\\t", 0x2F: "\\/"]
            if value < 0x20 || value == 0x22 || value == 0x5C {
                if let name = named[value], chance(2) { out += Array(name.utf8) } else { hexEscape(value, into: &out) }
            } else if chance(8) {
                if value == 0x2F && chance(2) {
                    out += Array("\\/".utf8)
                } else if value >= 0x10000 {
                    let v = value - 0x10000
                    hexEscape(0xD800 + (v >> 10), into: &out)
                    hexEscape(0xDC00 + (v & 0x3FF), into: &out)
                } else {
                    hexEscape(value, into: &out)
                }
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        out.append(0x22)
    }
}

/// Random paths through `value`: mostly existing object members, sometimes a missing key or a step
/// through something that is not an object.
func randomPath(in value: JSONValue, using rng: inout SplitMix64) -> [String] {
    var path: [String] = []
    var current = value
    while true {
        let roll = Int.random(in: 0..<10, using: &rng)
        if roll < 2 { return path }
        if roll == 2 { return path + ["\u{10FFFF}missing"] }
        guard let object = current.objectValue, !object.isEmpty else {
            return roll == 3 ? path + ["beyond"] : path
        }
        let member = object.members[Int.random(in: 0..<object.count, using: &rng)]
        path.append(member.key)
        current = member.value
    }
}

/// The canonical JSON test vectors (TestVectors/canonical-json/vectors.json): input and expected bytes.
func loadCanonicalVectors() throws -> [(name: String, input: [UInt8], canonical: [UInt8])] {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SignetJSONTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("TestVectors/canonical-json/vectors.json")
    let document = try JSONParser.parse([UInt8](try Data(contentsOf: url)))
    guard let entries = document.arrayValue else { throw JSONError.unexpectedEnd(expected: "an array of vectors") }
    return try entries.map { entry in
        guard let name = entry["name"]?.stringValue,
            let input = entry["input_b64"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
            let canonical = entry["canonical_b64"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else { throw JSONError.unexpectedEnd(expected: "a vector with name, input_b64 and canonical_b64") }
        return (name, [UInt8](input), [UInt8](canonical))
    }
}

/// A TUF-style targets document with `count` targets, keys in the order given by `order`.
func targetsDocument(count: Int, shuffleSeed: UInt64?, pretty: Bool) -> [UInt8] {
    var indices = Array(0..<count)
    if let shuffleSeed {
        var rng = SplitMix64(seed: shuffleSeed)
        indices.shuffle(using: &rng)
    }
    var targets = JSONObject()
    for i in indices {
        let digest = String(repeating: String(i % 16, radix: 16), count: 64)
        targets["releases/component-\(i % 7)/artifact-\(i)-linux-amd64.tar.gz"] = [
            "custom": ["build": .integer(Int64(i)), "channel": i % 3 == 0 ? "beta" : "stable"],
            "hashes": ["sha256": .string(digest)],
            "length": .integer(Int64(1000 + i)),
        ]
    }
    let document: JSONValue = [
        "signatures": [["keyid": "b7096c73", "sig": "5eed43e3"]],
        "signed": [
            "_type": "targets",
            "expires": "2099-01-01T00:00:00Z",
            "spec_version": "1.0.31",
            "targets": .object(targets),
            "version": 1,
        ],
    ]
    return JSONWriter.encode(document, pretty: pretty)
}
