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
    ///
    /// With an `observer`, the output is announced to it while it is written (see
    /// `CanonicalOutputObserver`), on the calling thread; `ended` is called exactly once before returning.
    public static func canonicalize(
        _ bytes: UnsafeRawBufferPointer, path: [String] = [], limits: JSONLimits = .default,
        observer: (any CanonicalOutputObserver)? = nil
    ) throws(JSONError) -> [UInt8] {
        let base: UnsafePointer<UInt8>
        do { base = try JSONParser.checkedStart(bytes, limits: limits) } catch {
            observer?.ended(nil, count: 0)
            throw error
        }
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
            scanner.observer = observer
            do throws(JSONError) {
                try scanner.scanDocument()
            } catch {
                observer?.ended(nil, count: 0)
                failure = error
                initialized = 0
                return
            }
            // Told while the memory is still this array's, whatever happens to it after the closure.
            if scanner.pathError == nil && scanner.floatError == nil && !out.ownsMemory {
                observer?.ended(UnsafePointer(out.base), count: out.count)
            } else {
                observer?.ended(nil, count: 0)
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
        _ bytes: [UInt8], path: [String] = [], limits: JSONLimits = .default,
        observer: (any CanonicalOutputObserver)? = nil
    ) throws(JSONError) -> [UInt8] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> [UInt8] in try canonicalize(buffer, path: path, limits: limits, observer: observer) }
        }
        return try result.get()
    }
}

/// Follows the output of `CanonicalJSON.canonicalize` while it is written, so that another thread can
/// work on it (hash it, say) before the whole document is done. All three calls come from the thread
/// that canonicalizes, in this order: any number of `written` and `willRewrite`, then `ended` once.
///
/// Announced bytes are not final: canonical form sorts object members, and an object whose keys turn
/// out not to be in order is rewritten when it closes. `willRewrite` says so before any announced byte
/// changes; only what `ended` reports is the result.
public protocol CanonicalOutputObserver: AnyObject, Sendable {
    /// The first `count` bytes of the output are written at `start`. They stay readable, at that
    /// address, until `ended` returns; they may still change (announced first by `willRewrite`).
    func written(_ start: UnsafePointer<UInt8>, count: Int)
    /// Bytes from `offset` on are about to be overwritten. Must not return while another thread still
    /// reads them.
    func willRewrite(from offset: Int)
    /// The output is complete: `count` bytes at `start`, which are the result. `nil` when there is no
    /// result (the document was refused) or the output moved elsewhere; then nothing announced counts.
    /// Must not return while another thread still reads announced bytes: the memory may go afterwards.
    func ended(_ start: UnsafePointer<UInt8>?, count: Int)
}
