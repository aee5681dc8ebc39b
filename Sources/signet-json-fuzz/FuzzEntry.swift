// Fuzz target for SignetJSON.
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

/// libFuzzer entry point: one input per call. Always returns 0 (the input may be kept in the corpus).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    checkRoundTrip(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs the check over every file named on the command line (used when built without the fuzzer).
@main
enum FuzzFileRunner {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            print("usage: signet-json-fuzz FILE...  (runs the parse/encode round-trip check on each file)")
            exit(2)
        }
        for path in paths {
            guard let bytes = readFile(path) else {
                print("cannot read \(path)")
                exit(1)
            }
            bytes.withUnsafeBytes { checkRoundTrip($0) }
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
