// Fuzz targets for SignetJSON. `SIGNET_FUZZ_CHECK` picks the check each input goes through:
//   roundtrip        (default) parse, canonical encode, re-parse, re-encode: stable and equal;
//   canonical-stream the streaming canonicaliser (what every signature is verified over) against the
//                    tree encoder, for the whole document and for its "signed" member;
//   lazy-targets     the lazily parsed object at ["signed", "targets"] (how targets roles are read)
//                    against the tree parser, the input also being wrapped as a targets object.
//
// Built with `swift build --sanitize=fuzzer`, libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput` with generated inputs. Built normally, the `main` below runs the same check
// over files named on the command line (e.g. crash reproducers). Both builds compile the same code; the
// target's `--allow-multiple-definition` linker flag lets libFuzzer's `main`, which the linker sees
// first, win in the fuzzing build.

import SignetJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses `bytes`; when that succeeds and the value has a canonical form, checks that re-parsing and
/// re-encoding the canonical form yields identical bytes. Stops the process on any violation.
func checkRoundTrip(_ bytes: UnsafeRawBufferPointer) {
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        return  // Rejection is a valid outcome; sanitizers catch memory errors on the way.
    }
    let first: [UInt8]
    do {
        first = try CanonicalJSON.encode(value)
    } catch {
        // The only reason canonical encoding may refuse a parsed value is a float in it.
        guard case let .floatNotAllowed(text) = error, value.containsFloat(text) else {
            preconditionFailure("canonical encoding failed for a reason other than a float: \(error)")
        }
        return
    }
    let reparsed: JSONValue
    do {
        // Canonical JSON writes control characters raw, so it is read back with the canonical reader.
        reparsed = try JSONParser.parseCanonical(first)
    } catch {
        preconditionFailure("canonical output does not parse: \(error)")
    }
    precondition(reparsed == value, "canonical output parses to a different value")
    let second: [UInt8]
    do {
        second = try CanonicalJSON.encode(reparsed)
    } catch {
        preconditionFailure("re-encoding failed: \(error)")
    }
    precondition(first == second, "canonical encoding is not stable under parse/encode")
    let pretty = JSONWriter.encode(value)
    do {
        let fromPretty = try JSONParser.parse(pretty)
        precondition(fromPretty == value, "pretty output parses to a different value")
    } catch {
        preconditionFailure("pretty output does not parse: \(error)")
    }
}

extension JSONValue {
    /// True when a `.float` with exactly this source text occurs anywhere in the value.
    func containsFloat(_ text: String) -> Bool {
        switch self {
        case let .float(own): return Array(own.utf8) == Array(text.utf8)
        case let .array(elements): return elements.contains { $0.containsFloat(text) }
        case let .object(object): return object.contains { $0.value.containsFloat(text) }
        default: return false
        }
    }
}

/// The tree parser's verdict on `bytes`.
func treeParse(_ bytes: [UInt8]) -> Result<JSONValue, JSONError> {
    Result { () throws(JSONError) -> JSONValue in try JSONParser.parse(bytes) }
}

/// The value at an object-key path of a tree.
func value(at path: [String], in root: JSONValue) -> JSONValue? {
    var v = root
    for key in path {
        guard case .object(let o) = v, let next = o[key] else { return nil }
        v = next
    }
    return v
}

/// The streaming canonicaliser must give byte for byte what the tree encoder gives, and fail exactly
/// when parsing or encoding the tree fails (with the same error for parse failures).
func checkCanonicalStream(_ buffer: UnsafeRawBufferPointer) {
    let bytes = [UInt8](buffer)
    let tree = treeParse(bytes)
    for path in [[], ["signed"]] as [[String]] {
        let streamed = Result { () throws(JSONError) -> [UInt8] in try CanonicalJSON.canonicalize(bytes, path: path) }
        switch (tree, streamed) {
        case (.failure(let a), .failure(let b)):
            precondition(a == b, "parser and streaming canonicaliser reject differently: \(a) vs \(b)")
        case (.failure(let a), .success):
            preconditionFailure("the streaming canonicaliser accepted a document the parser rejects: \(a)")
        case (.success(let v), let result):
            guard let selected = value(at: path, in: v) else {
                guard case .failure(.pathNotFound) = result else { preconditionFailure("a missing path was not reported as such: \(result)") }
                continue
            }
            let encoded = Result { () throws(JSONError) -> [UInt8] in try CanonicalJSON.encode(selected) }
            switch (encoded, result) {
            case (.success(let x), .success(let y)):
                precondition(x == y, "streaming canonical form differs from the tree encoder's")
            case (.failure(.floatNotAllowed), .failure(.floatNotAllowed)):
                break
            default:
                preconditionFailure("tree encoder and streaming canonicaliser disagree: \(encoded) vs \(result)")
            }
        }
    }
}

/// Parsing with a lazily indexed `["signed", "targets"]` object must accept and reject exactly what the
/// tree parser does, and every member read through the index must equal the tree's.
func checkLazyTargets(_ buffer: UnsafeRawBufferPointer) {
    let raw = [UInt8](buffer)
    // As given, and wrapped so that the input itself is the targets object.
    for bytes in [raw, Array(#"{"signed":{"_type":"targets","targets":"#.utf8) + raw + Array("}}".utf8)] {
        let path = ["signed", "targets"]
        let tree = treeParse(bytes)
        let lazy = Result { () throws(JSONError) -> (JSONValue, LazyJSONObject?) in try JSONParser.parse(bytes, lazyPath: path) }
        switch (tree, lazy) {
        case (.failure(let a), .failure(let b)):
            precondition(a == b, "tree and lazy parser reject differently: \(a) vs \(b)")
        case (.failure(let a), .success), (.success, .failure(let a)):
            preconditionFailure("tree and lazy parser disagree on validity: \(a)")
        case (.success(let full), .success(let (partial, object))):
            guard case .object(let expected)? = value(at: path, in: full) else {
                precondition(object == nil, "an index was built for something that is not an object")
                precondition(partial == full, "without an index the tree must be complete")
                continue
            }
            guard let object else { preconditionFailure("no index for an object at the lazy path") }
            precondition(object.count == expected.count, "member counts differ")
            precondition(object.keys == expected.map(\.key), "keys differ or are out of order")
            for m in expected {
                let got = Result { () throws(JSONError) -> JSONValue? in try object.value(forKey: m.key) }
                guard case .success(let v?) = got, v == m.value else { preconditionFailure("member \(m.key) differs: \(got)") }
            }
            let whole = Result { () throws(JSONError) -> JSONObject in try object.toJSONObject() }
            guard case .success(let o) = whole, o == expected else { preconditionFailure("toJSONObject differs") }
            // The rest of the tree is the full tree with an empty object at the lazy path.
            guard case .object(var top) = full, case .object(var signed)? = top["signed"] else { preconditionFailure("no signed object") }
            signed["targets"] = .object(JSONObject())
            top["signed"] = .object(signed)
            precondition(partial == .object(top), "the tree around the lazy object differs")
        }
    }
}

/// The check selected by `SIGNET_FUZZ_CHECK`.
let selectedCheck: @Sendable (UnsafeRawBufferPointer) -> Void = {
    switch getenv("SIGNET_FUZZ_CHECK").map({ String(cString: $0) }) ?? "roundtrip" {
    case "canonical-stream": return checkCanonicalStream
    case "lazy-targets": return checkLazyTargets
    default: return checkRoundTrip
    }
}()

/// libFuzzer entry point: one input per call. Always returns 0 (the input may be kept in the corpus).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedCheck(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs the check over every file named on the command line (used when built without the fuzzer).
@main
enum FuzzFileRunner {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            print("usage: signet-json-fuzz FILE...  (runs the check SIGNET_FUZZ_CHECK names on each file; default roundtrip)")
            exit(2)
        }
        for path in paths {
            guard let bytes = readFile(path) else {
                print("cannot read \(path)")
                exit(1)
            }
            bytes.withUnsafeBytes { selectedCheck($0) }
            print("ok \(path) (\(bytes.count) bytes)")
        }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let read = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if read > 0 { bytes.append(contentsOf: chunk[0..<read]) }
            if read < chunk.count {
                return ferror(file) == 0 ? bytes : nil
            }
        }
    }
}
