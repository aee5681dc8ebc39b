import SignetFiles
import SignetTUF

/// How far ahead `verify`, `inspect` and `timestamp renew` look for trust data about to expire.
public struct ExpiryWindows: Sendable {
    /// For timestamp and snapshot, which a scheduled job renews (default 2 days).
    public var online: Int64 = 2 * 86400
    /// For root and targets roles, renewed by their key holders (default 14 days).
    public var other: Int64 = 14 * 86400
    public init() {}

    /// The window for `role`.
    public func window(for role: String) -> Int64 { ["timestamp", "snapshot"].contains(role) ? online : other }
}

/// A role of a repository's trust data that has expired or expires within its window.
public struct ExpiryNotice: Sendable, CustomStringConvertible {
    public let repository: String
    public let role: String
    /// Seconds since the epoch, and as written in the metadata.
    public let expiresAt: Int64
    public let expires: String
    /// Time left when checked (negative once expired).
    public let secondsLeft: Int64
    /// The command that renews it.
    public let fix: String
    /// For a copy verified as its original (`--as`, a policy's `sameAs`): the original, where the
    /// renewal is made (the copy is then refreshed by copying or exporting it again).
    public var copyOf: String? = nil

    public var expired: Bool { secondsLeft <= 0 }

    public var description: String {
        "\(role) of \(repository) \(expired ? "expired" : "expires") at \(expires) (\(ExpiryNotice.relative(secondsLeft))); renew it with `\(fix)`"
            + (copyOf.map { " where the keys of \($0) are, then copy or export \($0) to \(repository) again (this is a copy of it)" } ?? "")
    }

    /// The command that renews `role` of `repository`.
    public static func fix(role: String, repository: String) -> String {
        ["timestamp", "snapshot"].contains(role) ? "signet timestamp renew \(repository)" : "signet trust renew \(repository) \(role)"
    }

    /// "in 3 days 4 hours" / "2 hours ago".
    public static func relative(_ seconds: Int64) -> String {
        let s = seconds < 0 ? -seconds : seconds
        let days = s / 86400, hours = (s % 86400) / 3600, minutes = (s % 3600) / 60
        var parts: [String] = []
        if days > 0 { parts.append("\(days) day\(days == 1 ? "" : "s")") }
        if hours > 0 && days < 10 { parts.append("\(hours) hour\(hours == 1 ? "" : "s")") }
        if days == 0 && hours == 0 { parts.append("\(minutes) minute\(minutes == 1 ? "" : "s")") }
        let text = parts.joined(separator: " ")
        return seconds < 0 ? "\(text) ago" : "in \(text)"
    }

    /// Notices for every role of `set` (root, timestamp, snapshot and the targets roles it holds) that
    /// has expired or expires within `windows` of `now`.
    public static func notices(_ set: TrustedMetadataSet, repository: String, original: String? = nil, now: Int64, windows: ExpiryWindows) -> [ExpiryNotice] {
        let copyOf = original.flatMap { $0 == repository ? nil : $0 }
        var headers: [(String, Header)] = [("root", set.root.signed.header)]
        if let t = set.timestamp { headers.append(("timestamp", t.signed.header)) }
        if let s = set.snapshot { headers.append(("snapshot", s.signed.header)) }
        for (ref, m) in set.targetsRoles.sorted(by: { $0.key.name.bytes.lexicographicallyPrecedes($1.key.name.bytes) }) {
            let name = ref.name.string
            if headers.contains(where: { $0.0 == name }) { continue }
            headers.append((name, m.signed.header))
        }
        return headers.compactMap { role, header in
            let left = header.expiresAt - now
            guard left <= windows.window(for: role) else { return nil }
            return ExpiryNotice(repository: repository, role: role, expiresAt: header.expiresAt, expires: header.expires, secondsLeft: left,
                                fix: fix(role: role, repository: copyOf ?? repository), copyOf: copyOf)
        }
    }

    /// The role a metadata file name belongs to (`timestamp.json`, `3.snapshot.json`, `7.releases.json`).
    static func role(ofFile file: String) -> String {
        var name = file.hasSuffix(".json") ? String(file.dropLast(5)) : file
        if let dot = name.firstIndex(of: "."), Int64(name[..<dot]) != nil { name = String(name[name.index(after: dot)...]) }
        return PercentEncoding.decode(name) ?? name
    }
}

extension ExpiryNotice {
    /// A lifetime in words ("7 days", "12 hours", "1 year").
    public static func duration(_ seconds: Int64) -> String {
        if seconds % (365 * 86400) == 0 { let y = seconds / (365 * 86400); return "\(y) year\(y == 1 ? "" : "s")" }
        if seconds % 86400 == 0 { let d = seconds / 86400; return "\(d) day\(d == 1 ? "" : "s")" }
        if seconds % 3600 == 0 { let h = seconds / 3600; return "\(h) hour\(h == 1 ? "" : "s")" }
        return "\(seconds) seconds"
    }
}
