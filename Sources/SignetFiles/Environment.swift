#if canImport(Glibc)
import Glibc
#endif

/// Environment variables, read one at a time.
///
/// `ProcessInfo.processInfo.environment` copies the whole environment into a new dictionary on every
/// call; a command that consults a dozen variables on its way to the network paid for a dozen copies.
/// Signet never changes its own environment, so reading a variable with `getenv(3)` is safe from any
/// thread.
public enum Environment {
    /// The value of `name`, or nil when it is not set.
    public static func value(_ name: String) -> String? {
        guard let pointer = getenv(name) else { return nil }
        return String(cString: pointer)
    }

    /// The value of `name`, or nil when it is not set or empty.
    public static func nonEmpty(_ name: String) -> String? {
        guard let v = value(name), !v.isEmpty else { return nil }
        return v
    }

    /// The given variables that are set, as a dictionary (for APIs that take one).
    public static func values(_ names: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for n in names { if let v = value(n) { out[n] = v } }
        return out
    }

    /// The user's home directory: `$HOME` when set (as shells, Docker and Foundation's
    /// `NSHomeDirectory` use it), else the password database's entry for this user, else "/".
    public static var homeDirectory: String {
        if let home = nonEmpty("HOME") { return home }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir {
            let path = String(cString: dir)
            if !path.isEmpty { return path }
        }
        return "/"
    }
}
