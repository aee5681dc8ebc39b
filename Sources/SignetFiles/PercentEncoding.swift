/// Percent-encoding of untrusted names before they become URLs or file names (RFC 3986). The one
/// encoder of the package.
public enum PercentEncoding {
    /// Encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), and `/` when
    /// `keepSlash` is set.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        encode(bytes: Array(text.utf8), keepSlash: keepSlash)
    }

    /// Encodes raw bytes the same way.
    public static func encode(bytes: [UInt8], keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        for b in bytes {
            if isUnreserved(b) || (keepSlash && b == 0x2f) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
            || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e
    }

    /// Decodes `%XX` sequences strictly: a `%` not followed by two hex digits, or a result that is not
    /// valid UTF-8, gives nil.
    public static func decode(_ text: String) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let b = bytes.next() {
            if b == 0x25 {
                guard let h = bytes.next(), let l = bytes.next(), let hi = hexValue(h), let lo = hexValue(l) else { return nil }
                out.append(hi << 4 | lo)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// A file name for an untrusted name: fully percent-encoded, never `.`/`..`/empty, at most 255 bytes.
    /// - Returns: nil when no safe name exists.
    public static func fileName(for name: String, suffix: String = "") -> String? {
        let encoded = encode(name) + suffix
        guard !encoded.isEmpty, encoded != ".", encoded != "..", encoded.utf8.count <= 255 else { return nil }
        return encoded
    }
}

/// Rules for names that come from signed or unsigned data and end up under a directory.
public enum SafeName {
    /// A target path that may be stored below a directory: relative, with no empty, `.` or `..` segment,
    /// no NUL byte and no backslash.
    public static func isRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0), !path.contains("\\") else { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// A single file name: not empty, not `.`/`..`, no `/`, no NUL byte, at most 255 bytes.
    public static func isFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0) && name.utf8.count <= 255
    }
}
