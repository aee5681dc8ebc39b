/// `Array.withUnsafeBytes` only rethrows untyped errors; this keeps `CryptoError` typed.
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
    let result: Result<R, CryptoError> = array.withUnsafeBytes { buf in
        do throws(CryptoError) { return .success(try body(buf)) } catch { return .failure(error) }
    }
    return try result.get()
}
