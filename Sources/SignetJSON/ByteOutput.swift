// Shared output routines for the canonical encoder and the writer.

extension Array where Element == UInt8 {
    /// Appends the ASCII bytes of a static string.
    @inline(__always)
    mutating func appendASCII(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the plain decimal form of `value` (`-` sign, no leading zeros, no exponent).
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 { append(0x2D) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            append(0x30 &+ UInt8(truncatingIfNeeded: magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            while magnitude > 0 {
                i -= 1
                digits[i] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    /// Appends `count` bytes starting at `start`.
    @inline(__always)
    mutating func appendBytes(_ start: UnsafePointer<UInt8>, _ count: Int) {
        if count > 0 {
            append(contentsOf: UnsafeBufferPointer(start: start, count: count))
        }
    }
}

/// True when any of the eight bytes in `word` is `"` or `\`.
@inline(__always)
func wordHasQuoteOrBackslash(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (ones &* 0x22)
    let backslashes = word ^ (ones &* 0x5C)
    return (((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes)) & highs != 0
}
