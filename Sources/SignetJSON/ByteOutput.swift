// Output buffer shared by the canonical encoder and the writer.

/// A growable byte buffer with unchecked appends (no copy-on-write or uniqueness checks per byte).
///
/// It either owns its memory or writes into memory lent to it (`init(borrowing:)`); a sink that outgrows
/// lent memory moves to memory of its own, leaving the lent memory as it was at that point.
final class ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    /// False while writing into lent memory, which is never freed here.
    private(set) var ownsMemory = true

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    /// Writes into `buffer` (which must outlive the sink) until it is full.
    init(borrowing buffer: UnsafeMutableBufferPointer<UInt8>) {
        if let start = buffer.baseAddress, buffer.count > 0 {
            base = start
            capacity = buffer.count
            ownsMemory = false
        } else {
            capacity = 16
            base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        }
    }

    deinit {
        if ownsMemory { base.deallocate() }
    }

    /// Forgets every byte from `length` on.
    @inline(__always)
    func truncate(to length: Int) {
        count = min(count, max(length, 0))
    }

    /// The bytes written so far; valid until the next append.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// A new array holding the bytes written so far.
    func makeArray() -> [UInt8] { Array(bytes) }

    @inline(__always)
    func append(_ byte: UInt8) {
        if count == capacity { grow(minimum: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ source: UnsafePointer<UInt8>, count length: Int) {
        guard length > 0 else { return }
        if capacity - count < length { grow(minimum: count + length) }
        (base + count).update(from: source, count: length)
        count += length
    }

    /// Appends the ASCII bytes of a static string.
    @inline(__always)
    func append(ascii text: StaticString) {
        append(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Makes room for at least `extra` more bytes without further growth.
    func reserve(_ extra: Int) {
        if capacity - count < extra { grow(minimum: count + extra) }
    }

    /// Appends `length` copies of `byte`.
    func append(repeating byte: UInt8, count length: Int) {
        guard length > 0 else { return }
        if capacity - count < length { grow(minimum: count + length) }
        (base + count).update(repeating: byte, count: length)
        count += length
    }

    /// Appends the plain decimal form of `value` (`-` sign, no leading zeros, no exponent).
    func appendDecimal(_ value: Int64) {
        if capacity - count < 20 { grow(minimum: count + 20) }
        if value < 0 {
            base[count] = 0x2D
            count += 1
        }
        var magnitude = value.magnitude
        // At most 19 digits: the magnitude of an Int64 is at most 2^63 < 10^19.
        var digits = 1
        var scale: UInt64 = 10
        while magnitude >= scale && digits < 19 {
            digits += 1
            scale &*= 10
        }
        var position = count + digits
        count = position
        repeat {
            position -= 1
            base[position] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
    }

    @inline(never)
    private func grow(minimum: Int) {
        let bigger = max(minimum, capacity * 2)
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
        fresh.initialize(from: base, count: count)
        if ownsMemory { base.deallocate() }
        base = fresh
        capacity = bigger
        ownsMemory = true
    }

    /// Appends the UTF-8 encoding of a Unicode scalar value (never a surrogate).
    @inline(__always)
    func appendUTF8(_ value: UInt32) {
        if capacity - count < 4 { grow(minimum: count + 4) }
        switch value {
        case 0..<0x80:
            base[count] = UInt8(truncatingIfNeeded: value)
            count += 1
        case 0x80..<0x800:
            base[count] = UInt8(truncatingIfNeeded: 0xC0 | (value >> 6))
            base[count + 1] = UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F))
            count += 2
        case 0x800..<0x10000:
            base[count] = UInt8(truncatingIfNeeded: 0xE0 | (value >> 12))
            base[count + 1] = UInt8(truncatingIfNeeded: 0x80 | ((value >> 6) & 0x3F))
            base[count + 2] = UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F))
            count += 3
        default:
            base[count] = UInt8(truncatingIfNeeded: 0xF0 | (value >> 18))
            base[count + 1] = UInt8(truncatingIfNeeded: 0x80 | ((value >> 12) & 0x3F))
            base[count + 2] = UInt8(truncatingIfNeeded: 0x80 | ((value >> 6) & 0x3F))
            base[count + 3] = UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F))
            count += 4
        }
    }

    /// Appends `length` bytes as the inside of a canonical JSON string: `"` and `\` get a `\` before them,
    /// every other byte is copied unchanged.
    func appendCanonicalStringBody(_ source: UnsafePointer<UInt8>, count length: Int) {
        var runStart = 0
        var i = 0
        while i < length {
            while i + 8 <= length && !wordHasQuoteOrBackslash(loadWord(source + i)) {
                i += 8
            }
            guard i < length else { break }
            let byte = source[i]
            if byte == 0x22 || byte == 0x5C {
                append(source + runStart, count: i - runStart)
                append(0x5C)
                append(byte)
                runStart = i + 1
            }
            i += 1
        }
        append(source + runStart, count: length - runStart)
    }
}

/// True when any of the eight bytes in `word` is `"` or `\`.
@inline(__always)
func wordHasQuoteOrBackslash(_ word: UInt64) -> Bool {
    (bytesEqualMask(word, 0x22) | bytesEqualMask(word, 0x5C)) != 0
}
