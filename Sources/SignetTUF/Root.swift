import SignetJSON

/// Root metadata: the keys and thresholds of the four top-level roles (TUF 1.0.34 §4.3).
public struct Root: RoleMetadata {
    public static let typeName = "root"
    public var header: Header
    /// Whether metadata and targets are published under versioned / hash-prefixed names.
    public var consistentSnapshot: Bool
    /// Keys by key ID, in received order.
    public var keys: [(String, Key)]
    /// The four top-level roles by name.
    public var roles: [String: RoleKeys]
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Names of the top-level roles.
    public static let topLevelRoles = ["root", "timestamp", "snapshot", "targets"]

    /// Builds root metadata.
    public init(header: Header, consistentSnapshot: Bool = true, keys: [(String, Key)], roles: [String: RoleKeys], unknown: JSONObject = JSONObject()) {
        self.header = header
        self.consistentSnapshot = consistentSnapshot
        self.keys = keys
        self.roles = roles
        self.unknown = unknown
    }

    public init(signed: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(signed, file: file, context: "root")
        header = try Header(fields: &f, type: Root.typeName)
        consistentSnapshot = try f.optionalBool("consistent_snapshot") ?? false
        var keys: [(String, Key)] = []
        for m in try f.objectField("keys") {
            keys.append((m.key, try Key(json: m.value, file: file, context: "root key \(m.key)")))
        }
        self.keys = keys
        let rolesObject = try f.objectField("roles")
        var roles: [String: RoleKeys] = [:]
        for name in Root.topLevelRoles {
            guard let r = rolesObject[name] else { throw f.fail("\"roles\" lacks \"\(name)\"") }
            roles[name] = try RoleKeys(json: r, file: file, context: "role \(name)")
        }
        for m in rolesObject where !Root.topLevelRoles.contains(m.key) {
            throw f.fail("\"roles\" has unknown role \"\(m.key)\"")
        }
        self.roles = roles
        unknown = f.unknown()
    }

    public var json: JSONValue {
        var o = JSONObject()
        header.write(into: &o, type: Root.typeName)
        o["consistent_snapshot"] = .bool(consistentSnapshot)
        var k = JSONObject()
        for (id, key) in keys { k[id] = key.json }
        o["keys"] = .object(k)
        var r = JSONObject()
        for name in Root.topLevelRoles { if let role = roles[name] { r[name] = role.json } }
        o["roles"] = .object(r)
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Keys by byte-compared key ID.
    public var keyMap: [ByteKey: Key] {
        var m: [ByteKey: Key] = [:]
        for (id, key) in keys { m[ByteKey(id)] = key }
        return m
    }

    /// The role `name`, or nil.
    public func role(_ name: String) -> RoleKeys? { roles[name] }

    /// Whether the keys or threshold of role `name` differ between two roots (by key material, not only ID).
    public func roleChanged(_ name: String, from other: Root) -> Bool {
        guard let a = roles[name], let b = other.roles[name] else { return true }
        guard a.threshold == b.threshold else { return true }
        let mine = keyMap, theirs = other.keyMap
        let ka = Set(a.keyIDs.map { mine[ByteKey($0)]?.identity ?? Array($0.utf8) })
        let kb = Set(b.keyIDs.map { theirs[ByteKey($0)]?.identity ?? Array($0.utf8) })
        return ka != kb
    }
}
