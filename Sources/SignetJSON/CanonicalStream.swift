import SignetPlatform

extension CanonicalJSON {
    /// Validates `bytes` exactly as `JSONParser.parse` does and returns the canonical encoding of the value
    /// that `path` leads to, without building a `JSONValue` tree.
    ///
    /// `path` lists object keys, compared as UTF-8 bytes, followed from the top-level value; `[]` selects
    /// the whole document. The result is byte for byte what `CanonicalJSON.encode` returns for that value
    /// of `JSONParser.parse(bytes)`. The whole document is validated, not only the selected value; numbers
    /// with a fraction or exponent are refused only inside the selected value.
    ///
    /// The memory must stay valid and unchanged during the call; the result does not reference it.
    ///
    /// - Throws: every `JSONError` that `JSONParser.parse(_:limits:)` throws for `bytes`, with the same
    ///   case and offset; then `.pathNotFound` when `path` cannot be followed (a key is missing or a value
    ///   on the way is not an object); then `.floatNotAllowed` for the first number with a fraction or
    ///   exponent (in document order) inside the selected value.
    public static func canonicalize(
        _ bytes: UnsafeRawBufferPointer, path: [String] = [], limits: JSONLimits = .default
    ) throws(JSONError) -> [UInt8] {
        let base = try JSONParser.checkedStart(bytes, limits: limits)
        let count = bytes.count
        var failure: JSONError?
        var moved: [UInt8]?
        // Canonical output is never longer than its input (whitespace goes, escapes shrink or stay, `-0`
        // becomes `0`), so the result is written straight into an array of the input's size.
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let start = buffer.baseAddress { adviseHugePages(start, count: buffer.count) }
            let out = ByteSink(borrowing: buffer)
            var scanner = StreamScanner(
                base: base, count: count, maxDepth: limits.maxDepth, path: path, goal: .canonical, out: out)
            do throws(JSONError) {
                try scanner.scanDocument()
            } catch {
                failure = error
                initialized = 0
                return
            }
            if let problem = scanner.pathError ?? scanner.floatError {
                failure = problem
                initialized = 0
            } else if out.ownsMemory {
                // Not expected (see above), but handled: the sink moved to memory of its own.
                moved = out.makeArray()
                initialized = 0
            } else {
                initialized = out.count
            }
        }
        if let failure { throw failure }
        if let moved { return moved }
        if result.count < count / 2 {
            // Do not keep a large, mostly unused allocation alive for a small value.
            return [UInt8](unsafeUninitializedCapacity: result.count) { buffer, initialized in
                initialized = buffer.initialize(from: result).1
            }
        }
        return result
    }

    /// Validates `bytes` exactly as `JSONParser.parse` does and returns the canonical encoding of the value
    /// that `path` leads to, without building a `JSONValue` tree. See the `UnsafeRawBufferPointer` variant.
    ///
    /// - Throws: the parser's `JSONError`s for `bytes`, then `.pathNotFound`, then `.floatNotAllowed`,
    ///   as the `UnsafeRawBufferPointer` variant does.
    public static func canonicalize(
        _ bytes: [UInt8], path: [String] = [], limits: JSONLimits = .default
    ) throws(JSONError) -> [UInt8] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> [UInt8] in try canonicalize(buffer, path: path, limits: limits) }
        }
        return try result.get()
    }
}
