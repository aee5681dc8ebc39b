/// One PEM block: `-----BEGIN LABEL-----`, optional `Name: value` header lines, base64 DER, `-----END LABEL-----`.
///
/// Header lines are kept (the Notary client writes `role: root` and `gun: …` into its key files).
public struct PEMDocument: Sendable {
    /// The label, such as `PUBLIC KEY` or `ENCRYPTED PRIVATE KEY`.
    public let label: String
    /// Header lines in order, as (name, value).
    public let headers: [(String, String)]
    let body: SecretBytes

    /// The DER body. For private keys prefer the secret accessors used inside this module.
    public var der: [UInt8] { body.withUnsafeBytes { Array($0) } }

    /// Largest PEM text accepted.
    public static let maxLength = 1 << 20

    /// Parses the first PEM block in `text`, requiring one of `labels` when given.
    /// - Throws: `CryptoError.invalidPEM` naming what is wrong.
    public static func parse(_ text: String, expecting labels: [String] = []) throws(CryptoError) -> PEMDocument {
        let all = try parseAll(text)
        guard let first = all.first else { throw CryptoError.invalidPEM("no -----BEGIN line found") }
        if !labels.isEmpty && !labels.contains(first.label) {
            throw CryptoError.invalidPEM("expected \(labels.map { "\"\($0)\"" }.joined(separator: " or ")), found \"\(first.label)\"")
        }
        return first
    }

    /// Parses every PEM block in `text`.
    /// - Throws: `CryptoError.invalidPEM` naming what is wrong.
    public static func parseAll(_ text: String) throws(CryptoError) -> [PEMDocument] {
        guard text.utf8.count <= maxLength else { throw CryptoError.invalidPEM("text of \(text.utf8.count) bytes exceeds \(maxLength)") }
        var documents: [PEMDocument] = []
        // Lines end in LF, CRLF or CR (RFC 7468 §2). A Swift Character holds "\r\n" as one grapheme.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })[...]
        while let line = lines.popFirst() {
            let trimmed = line.trimmingSpaces
            guard trimmed.hasPrefix("-----BEGIN "), trimmed.hasSuffix("-----") else { continue }
            let label = String(trimmed.dropFirst(11).dropLast(5))
            var headers: [(String, String)] = []
            var base64: [UInt8] = []
            var ended = false
            var inBody = false
            while let l = lines.popFirst() {
                let t = l.trimmingSpaces
                if t == "-----END \(label)-----" { ended = true; break }
                if t.hasPrefix("-----") { throw CryptoError.invalidPEM("\"\(label)\" block ends with \"\(t.prefix(40))\"") }
                if t.isEmpty { if !headers.isEmpty { inBody = true }; continue }
                if !inBody, let colon = t.firstIndex(of: ":") {
                    headers.append((String(t[..<colon]).trimmingSpaces, String(t[t.index(after: colon)...]).trimmingSpaces))
                    continue
                }
                inBody = true
                base64.append(contentsOf: t.utf8)
            }
            guard ended else { throw CryptoError.invalidPEM("missing -----END \(label)----- line") }
            guard let body = Base64.decodeSecret(base64) else {
                base64.withUnsafeMutableBytes { Sodium.zero($0) }
                throw CryptoError.invalidPEM("body of \"\(label)\" is not valid base64")
            }
            base64.withUnsafeMutableBytes { Sodium.zero($0) }
            guard body.count > 0 else { throw CryptoError.invalidPEM("\"\(label)\" block is empty") }
            documents.append(PEMDocument(label: label, headers: headers, body: body))
        }
        return documents
    }

    /// Encodes DER as PEM with 64-character lines.
    public static func encode(label: String, der: [UInt8], headers: [(String, String)] = []) -> String {
        var text = "-----BEGIN \(label)-----\n"
        for (name, value) in headers { text += "\(name): \(value)\n" }
        if !headers.isEmpty { text += "\n" }
        let b64 = Array(Base64.encode(der).utf8)
        var i = 0
        while i < b64.count {
            text += String(decoding: b64[i..<min(i + 64, b64.count)], as: UTF8.self) + "\n"
            i += 64
        }
        text += "-----END \(label)-----\n"
        return text
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
