import SignetCrypto
import SignetJSON

/// A delegated targets role (TUF 1.0.34 §4.5 "delegations"): keys, threshold, the paths it may sign for.
public struct DelegatedRole: Sendable {
    /// Role name.
    public var name: String
    /// Key IDs allowed to sign.
    public var keyIDs: [String]
    /// Distinct keys required.
    public var threshold: Int
    /// When true, a search that reaches this role stops here if the role does not know the target.
    public var terminating: Bool
    /// Path patterns (shell-style; a wildcard never matches `/`). Exclusive with `pathHashPrefixes`.
    public var paths: [String]?
    /// Hex prefixes of SHA-256(target path). Exclusive with `paths`.
    public var pathHashPrefixes: [String]?
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a delegated role.
    public init(name: String, keyIDs: [String], threshold: Int, terminating: Bool = false,
                paths: [String]? = nil, pathHashPrefixes: [String]? = nil, unknown: JSONObject = JSONObject()) {
        self.name = name
        self.keyIDs = keyIDs
        self.threshold = threshold
        self.terminating = terminating
        self.paths = paths
        self.pathHashPrefixes = pathHashPrefixes
        self.unknown = unknown
    }

    init(json: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: "delegated role")
        name = try f.string("name")
        let role = try RoleKeys(fields: &f)
        keyIDs = role.keyIDs
        threshold = role.threshold
        terminating = try f.optionalBool("terminating") ?? false
        paths = try f.optionalStringArray("paths", unique: false)
        pathHashPrefixes = try f.optionalStringArray("path_hash_prefixes", unique: false)
        if paths != nil && pathHashPrefixes != nil {
            throw f.fail("role \"\(name)\" sets both \"paths\" and \"path_hash_prefixes\"")
        }
        unknown = f.unknown()
    }

    /// The role as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["name"] = .string(name)
        o["keyids"] = .array(keyIDs.map { .string($0) })
        o["threshold"] = .integer(Int64(threshold))
        o["terminating"] = .bool(terminating)
        if let paths { o["paths"] = .array(paths.map { .string($0) }) }
        if let pathHashPrefixes { o["path_hash_prefixes"] = .array(pathHashPrefixes.map { .string($0) }) }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// The keys and threshold.
    public var roleKeys: RoleKeys { RoleKeys(keyIDs: keyIDs, threshold: threshold) }

    /// Whether this role is trusted for `target`.
    public func isDelegatedPath(_ target: String) -> Bool {
        if let paths {
            return paths.contains { PathPattern.matches(pattern: $0, path: target) }
        }
        if let pathHashPrefixes {
            guard let digest = try? SHA256.hash(Array(target.utf8)) else { return false }
            let hex = digest.hex
            return pathHashPrefixes.contains { hex.utf8.starts(with: $0.utf8) }
        }
        return false
    }
}

/// Succinct hash-bin delegation (TAP 15): `2^bit_length` roles named `PREFIX-HEX`, chosen by the first
/// `bit_length` bits of SHA-256(target path).
public struct SuccinctRoles: Sendable {
    /// Key IDs allowed to sign every bin.
    public var keyIDs: [String]
    /// Distinct keys required.
    public var threshold: Int
    /// Number of hash bits, 1 to 32.
    public var bitLength: Int
    /// Prefix of every bin's name.
    public var namePrefix: String
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a succinct delegation.
    public init(keyIDs: [String], threshold: Int, bitLength: Int, namePrefix: String, unknown: JSONObject = JSONObject()) {
        self.keyIDs = keyIDs
        self.threshold = threshold
        self.bitLength = bitLength
        self.namePrefix = namePrefix
        self.unknown = unknown
    }

    init(json: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: "succinct_roles")
        let role = try RoleKeys(fields: &f)
        keyIDs = role.keyIDs
        threshold = role.threshold
        let bits = try f.integer("bit_length", minimum: 1)
        guard bits <= 32 else { throw f.fail("\"bit_length\" must be 1 to 32, got \(bits)") }
        bitLength = Int(bits)
        namePrefix = try f.string("name_prefix")
        unknown = f.unknown()
    }

    /// The delegation as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["keyids"] = .array(keyIDs.map { .string($0) })
        o["threshold"] = .integer(Int64(threshold))
        o["bit_length"] = .integer(Int64(bitLength))
        o["name_prefix"] = .string(namePrefix)
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Number of bins.
    public var binCount: Int { 1 << bitLength }
    /// Hex digits in a bin suffix.
    var suffixLength: Int { String(binCount - 1, radix: 16).count }

    /// Name of the bin for bin number `n`.
    public func binName(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return "\(namePrefix)-" + String(repeating: "0", count: max(0, suffixLength - hex.count)) + hex
    }

    /// The bin responsible for `target`.
    public func roleName(for target: String) -> String {
        guard let digest = try? SHA256.hash(Array(target.utf8)) else { return binName(0) }
        let b = digest.bytes
        let first = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        return binName(Int(first >> UInt32(32 - bitLength)))
    }

    /// Whether `name` is one of the bins.
    public func isDelegatedRole(_ name: String) -> Bool {
        let prefix = namePrefix + "-"
        guard name.utf8.starts(with: prefix.utf8) else { return false }
        let suffix = Array(name.utf8.dropFirst(prefix.utf8.count))
        guard suffix.count == suffixLength,
              suffix.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
              let n = Int(String(decoding: suffix, as: UTF8.self), radix: 16) else { return false }
        return n < binCount
    }
}

/// The `delegations` of a targets role: keys plus either ordered `roles` or `succinct_roles`.
public struct Delegations: Sendable {
    /// Keys by key ID, in received order.
    public var keys: [(String, Key)]
    /// Ordered delegated roles (first is most trusted), or nil when succinct roles are used.
    public var roles: [DelegatedRole]?
    /// Hash-bin delegation, or nil when `roles` is used.
    public var succinctRoles: SuccinctRoles?
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a delegations object.
    public init(keys: [(String, Key)], roles: [DelegatedRole]? = nil, succinctRoles: SuccinctRoles? = nil, unknown: JSONObject = JSONObject()) {
        self.keys = keys
        self.roles = roles
        self.succinctRoles = succinctRoles
        self.unknown = unknown
    }

    public static let reservedNames: Set<String> = ["root", "targets", "snapshot", "timestamp"]

    init(json: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: "delegations")
        var keys: [(String, Key)] = []
        for m in try f.objectField("keys") {
            keys.append((m.key, try Key(json: m.value, file: file, context: "delegation key \(m.key)")))
        }
        self.keys = keys
        if let rolesJSON = try f.optionalArray("roles") {
            var roles: [DelegatedRole] = []
            var names: Set<ByteKey> = []
            for r in rolesJSON {
                let role = try DelegatedRole(json: r, file: file)
                guard !Delegations.reservedNames.contains(role.name) else { throw f.fail("delegated role name \"\(role.name)\" is reserved") }
                guard names.insert(ByteKey(role.name)).inserted else { throw f.fail("delegated role \"\(role.name)\" listed twice") }
                roles.append(role)
            }
            self.roles = roles
        }
        if let s = f.optional("succinct_roles") { succinctRoles = try SuccinctRoles(json: s, file: file) }
        guard (roles == nil) != (succinctRoles == nil) else {
            throw f.fail("exactly one of \"roles\" and \"succinct_roles\" must be set")
        }
        unknown = f.unknown()
    }

    /// The delegations as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        var k = JSONObject()
        for (id, key) in keys { k[id] = key.json }
        o["keys"] = .object(k)
        if let roles { o["roles"] = .array(roles.map(\.json)) }
        if let succinctRoles { o["succinct_roles"] = succinctRoles.json }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Keys by byte-compared key ID.
    public var keyMap: [ByteKey: Key] {
        var m: [ByteKey: Key] = [:]
        for (id, key) in keys { m[ByteKey(id)] = key }
        return m
    }

    /// The delegated roles responsible for `target`, in priority order, with their terminating flags.
    public func roles(for target: String) -> [(name: String, terminating: Bool)] {
        if let roles {
            return roles.filter { $0.isDelegatedPath(target) }.map { ($0.name, $0.terminating) }
        }
        if let succinctRoles {
            return [(succinctRoles.roleName(for: target), false)]
        }
        return []
    }

    /// Keys and threshold for the delegated role `name`, or nil if this role does not delegate to it.
    public func roleKeys(for name: String) -> RoleKeys? {
        if let roles {
            return roles.first { ByteKey($0.name) == ByteKey(name) }?.roleKeys
        }
        if let succinctRoles, succinctRoles.isDelegatedRole(name) {
            return RoleKeys(keyIDs: succinctRoles.keyIDs, threshold: succinctRoles.threshold)
        }
        return nil
    }
}

/// Shell-style path patterns as TUF uses them: `*`, `?`, `[set]`, `[!set]`, matched segment by segment
/// so that a wildcard never matches `/`.
public enum PathPattern {
    /// Whether `path` matches `pattern`.
    public static func matches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let t = path.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == t.count else { return false }
        for (ps, ts) in zip(p, t) where !matchSegment(Array(ps.unicodeScalars), Array(ts.unicodeScalars)) { return false }
        return true
    }

    /// Whether a pattern could ever match a path (used to refuse patterns that would never match).
    public static func isUsable(_ pattern: String) -> Bool {
        !pattern.isEmpty && !pattern.hasPrefix("/")
    }

    static func matchSegment(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) -> Bool {
        // Iterative glob with single-star backtracking; sets are parsed in place.
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi
                    starS = si
                    pi += 1
                    continue
                case "?":
                    pi += 1; si += 1
                    continue
                case "[":
                    if let (matched, next) = matchSet(p, pi, s[si]) {
                        if matched { pi = next; si += 1; continue }
                    } else if s[si] == "[" {
                        pi += 1; si += 1
                        continue
                    }
                default:
                    if p[pi] == s[si] { pi += 1; si += 1; continue }
                }
            }
            if starP >= 0 {
                pi = starP + 1
                starS += 1
                si = starS
                continue
            }
            return false
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// Parses a `[...]` set at `start`; returns whether `c` is in it and the index after `]`,
    /// or nil when there is no closing bracket (the `[` is then literal).
    static func matchSet(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count, p[i] == "!" { negate = true; i += 1 }
        var first = true
        var found = false
        while i < p.count {
            if p[i] == "]" && !first {
                return (found != negate, i + 1)
            }
            first = false
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                if p[i].value <= c.value && c.value <= p[i + 2].value { found = true }
                i += 3
            } else {
                if p[i] == c { found = true }
                i += 1
            }
        }
        return nil
    }
}
