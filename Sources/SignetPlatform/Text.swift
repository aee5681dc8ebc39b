extension StringProtocol {
    /// Without leading and trailing whitespace; line breaks count as whitespace unless
    /// `keepingNewlines` is set.
    public func trimmingWhitespace(keepingNewlines: Bool = false) -> String {
        let strip: (Character) -> Bool = { $0.isWhitespace && !(keepingNewlines && $0.isNewline) }
        guard let first = firstIndex(where: { !strip($0) }), let last = lastIndex(where: { !strip($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Without leading and trailing line breaks.
    public func trimmingNewlines() -> String {
        guard let first = firstIndex(where: { !$0.isNewline }), let last = lastIndex(where: { !$0.isNewline }) else { return "" }
        return String(self[first...last])
    }
}

extension String {
    /// Cut or filled with spaces to exactly `length` characters (for columns).
    public func padded(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}

/// `value` with one digit after the point, rounded half away from zero ("1.5", "1023.9").
public func formatOneDecimal(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    let tenths = Int64((abs(value) * 10).rounded())
    return (value < 0 && tenths != 0 ? "-" : "") + "\(tenths / 10).\(tenths % 10)"
}
