/// Strict standard base64 (RFC 4648 §4, with padding) that can decode straight into `SecretBytes`.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Encodes bytes with padding.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)]); out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            var n = UInt32(bytes[i]) << 16
            if rest == 2 { n |= UInt32(bytes[i + 1]) << 8 }
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes bytes with padding.
    public static func encode(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { encode($0) } }

    /// Decodes padded base64; returns nil on any character outside the alphabet, bad padding or
    /// non-zero trailing bits.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.count / 4 * 3)
        guard decode(text, append: { out.append($0) }) else {
            for i in out.indices { out[i] = 0 }
            return nil
        }
        return out
    }

    /// Decodes padded base64 from a string.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// Decodes into secret bytes, never growing an intermediate buffer.
    static func decodeSecret(_ text: some Collection<UInt8>) -> SecretBytes? {
        guard text.count % 4 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.count / 4 * 3)
        let ok = decode(text, append: { bytes.append($0) })
        let secret = SecretBytes(consuming: &bytes)
        return ok ? secret : nil
    }

    private static func decode(_ text: some Collection<UInt8>, append: (UInt8) -> Void) -> Bool {
        guard text.count % 4 == 0 else { return false }
        var quad = [UInt8](repeating: 0, count: 4)
        var q = 0
        var index = 0
        let total = text.count
        var padding = 0
        for c in text {
            index += 1
            if c == UInt8(ascii: "=") {
                // Padding only in the last two positions of the final quad.
                guard index > total - 2, q >= 2 else { return false }
                padding += 1
                quad[q] = 0
            } else {
                guard padding == 0 else { return false }
                let v = table[Int(c)]
                guard v != 0xff else { return false }
                quad[q] = v
            }
            q += 1
            if q == 4 {
                let n = UInt32(quad[0]) << 18 | UInt32(quad[1]) << 12 | UInt32(quad[2]) << 6 | UInt32(quad[3])
                append(UInt8(n >> 16 & 0xff))
                if padding < 2 { append(UInt8(n >> 8 & 0xff)) } else if n & 0xffff != 0 { return false }
                if padding < 1 { append(UInt8(n & 0xff)) } else if n & 0xff != 0 { return false }
                q = 0
            }
        }
        return true
    }
}
