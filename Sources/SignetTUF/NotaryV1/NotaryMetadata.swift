import SignetCrypto
import SignetJSON

/// A Notary v1 metadata file: the envelope, parsed strictly, with the canonical form of its `signed`
/// object (what notary verifies signatures over: it re-encodes the parsed value, so the HTML escapes Go
/// writes into served files do not matter) and its signatures.
public struct NotaryEnvelope: Sendable {
    /// `_type` as written (`Root`, `Targets`, `Snapshot`, `Timestamp`).
    public let type: String
    public let version: Int64
    /// `expires` as written, and as seconds.
    public let expiresText: String
    let expires: (seconds: Int64, fraction: Bool)
    /// The `signed` object.
    let signed: JSONObject
    /// Canonical JSON of `signed`.
    let canonical: [UInt8]
    let signatures: [Signature]

    /// Parses `bytes` as a file of `_type` `expectedType`.
    /// - Throws: `TUFError.json`, `.invalidMetadata`, `.wrongType`, `.duplicateSignature`.
    init(bytes: [UInt8], file: String, expectedType: String) throws(TUFError) {
        let limits = JSONLimits(maxBytes: max(bytes.count, 1), maxDepth: 64)
        let value: JSONValue
        let canonical: [UInt8]
        do throws(JSONError) {
            value = try JSONParser.parse(bytes, limits: limits)
            canonical = try CanonicalJSON.canonicalize(bytes, path: ["signed"], limits: limits)
        } catch {
            if case .pathNotFound = error { throw TUFError.invalidMetadata(file: file, reason: "missing field \"signed\"") }
            throw TUFError.json(file: file, error)
        }
        guard case .object(let top) = value, case .object(let signed)? = top["signed"], case .array(let sigs)? = top["signatures"] else {
            throw TUFError.invalidMetadata(file: file, reason: "expected {\"signed\": {…}, \"signatures\": […]}")
        }
        guard let type = signed["_type"]?.stringValue else { throw TUFError.invalidMetadata(file: file, reason: "no _type") }
        guard type == expectedType else { throw TUFError.wrongType(file: file, expected: expectedType, received: type) }
        guard case .integer(let version)? = signed["version"], version >= 1 else {
            throw TUFError.invalidMetadata(file: file, reason: "version must be a whole number of at least 1")
        }
        guard let expiresText = signed["expires"]?.stringValue, let expires = NotaryCodec.parseDate(expiresText) else {
            throw TUFError.invalidMetadata(file: file, reason: "expires is not an RFC 3339 date")
        }
        var seen: Set<ByteKey> = []
        var signatures: [Signature] = []
        for s in sigs {
            guard case .object(let o) = s, let keyID = o["keyid"]?.stringValue, let sig = o["sig"]?.stringValue else {
                throw TUFError.invalidMetadata(file: file, reason: "signature without keyid or sig")
            }
            guard seen.insert(ByteKey(keyID)).inserted else { throw TUFError.duplicateSignature(file: file, keyID: keyID) }
            var unknown = JSONObject()
            unknown["method"] = .string((o["method"]?.stringValue ?? "").lowercased())
            signatures.append(Signature(keyID: keyID, sig: sig, unknown: unknown))
        }
        self.type = type
        self.version = version
        self.expiresText = expiresText
        self.expires = expires
        self.signed = signed
        self.canonical = canonical
        self.signatures = signatures
    }

    /// Whether the file has expired at `time`.
    func isExpired(at time: Int64) -> Bool { NotaryCodec.isExpired(expires, at: time) }

    /// The key IDs of `role` with valid signatures over this file (distinct key material, one function
    /// for every role).
    func validSigners(role: NotaryRoleKeys, keys: [ByteKey: Key]) -> [String] {
        SignetTUF.validSigners(message: canonical, signatures: signatures, role: RoleKeys(keyIDs: role.keyIDs, threshold: role.threshold), keys: keys)
    }
}

/// Notary root metadata.
public struct NotaryRoot: Sendable {
    public let envelope: NotaryEnvelope
    /// Keys by ID.
    public let keys: [String: NotaryKey]
    /// Roles by name (`root`, `targets`, `snapshot`, `timestamp`, and any extra ones).
    public let roles: [String: NotaryRoleKeys]

    /// The four roles root must define.
    static let baseRoles = ["root", "targets", "snapshot", "timestamp"]

    /// Parses root metadata.
    /// - Throws: `TUFError` for malformed data.
    public init(bytes: [UInt8], file: String) throws(TUFError) {
        envelope = try NotaryEnvelope(bytes: bytes, file: file, expectedType: "Root")
        guard case .object(let keysObject)? = envelope.signed["keys"], case .object(let rolesObject)? = envelope.signed["roles"] else {
            throw TUFError.invalidMetadata(file: file, reason: "root needs keys and roles")
        }
        var keys: [String: NotaryKey] = [:]
        for m in keysObject { keys[m.key] = try NotaryKey(id: m.key, json: m.value, file: file) }
        var roles: [String: NotaryRoleKeys] = [:]
        for m in rolesObject { roles[m.key] = try NotaryRoot.roleKeys(m.value, file: file, what: "role \(m.key)", known: keys) }
        for r in NotaryRoot.baseRoles where roles[r] == nil { throw TUFError.invalidMetadata(file: file, reason: "root does not define the \(r) role") }
        self.keys = keys
        self.roles = roles
    }

    static func roleKeys(_ json: JSONValue, file: String, what: String, known: [String: NotaryKey]) throws(TUFError) -> NotaryRoleKeys {
        guard case .object(let o) = json, case .array(let ids)? = o["keyids"], case .integer(let threshold)? = o["threshold"] else {
            throw TUFError.invalidMetadata(file: file, reason: "\(what) needs keyids and threshold")
        }
        guard threshold >= 1 else { throw TUFError.invalidMetadata(file: file, reason: "\(what) has threshold \(threshold) (at least 1 required)") }
        var keyIDs: [String] = []
        for v in ids {
            guard let id = v.stringValue, known[id] != nil else { throw TUFError.invalidMetadata(file: file, reason: "\(what) lists a key that is not defined") }
            if !keyIDs.contains(id) { keyIDs.append(id) }
        }
        return NotaryRoleKeys(keyIDs: keyIDs, threshold: Int(threshold))
    }

    /// Keys for the threshold function, by ID; `filter` keeps only some (root keys must be valid certificates).
    func keyMap(_ filter: (NotaryKey) -> Bool = { _ in true }) -> [ByteKey: Key] {
        var m: [ByteKey: Key] = [:]
        for (id, k) in keys where filter(k) { m[ByteKey(id)] = k.key }
        return m
    }
}

/// One target of a Notary targets role (a tag, for Docker Content Trust).
public struct NotaryTarget: Sendable {
    public let name: String
    public let length: Int64
    /// Hashes by algorithm name.
    public let hashes: [String: [UInt8]]
    /// `custom`, if any.
    public let custom: JSONValue?

    /// The manifest digest (`sha256`), which Docker requires.
    public var sha256: Digest? { hashes["sha256"].flatMap { try? Digest(algorithm: .sha256, bytes: $0) } }
}

/// A delegation as its parent lists it.
public struct NotaryDelegation: Sendable {
    public let name: String
    public let keyIDs: [String]
    public let threshold: Int
    /// Path prefixes the role may sign (`""` allows everything; an empty list allows nothing).
    public let paths: [String]
}

/// Notary targets metadata (the `targets` role and every `targets/…` delegation).
public struct NotaryTargets: Sendable {
    public let role: String
    public let envelope: NotaryEnvelope
    let targets: JSONObject
    /// Keys of the delegations, by ID.
    public let delegationKeys: [String: NotaryKey]
    public let delegations: [NotaryDelegation]

    /// Parses the metadata of `role`.
    /// - Throws: `TUFError` for malformed data (including delegation names that are not direct children).
    public init(bytes: [UInt8], role: String, file: String) throws(TUFError) {
        self.role = role
        envelope = try NotaryEnvelope(bytes: bytes, file: file, expectedType: "Targets")
        guard case .object(let targets)? = envelope.signed["targets"] else { throw TUFError.invalidMetadata(file: file, reason: "no targets object") }
        self.targets = targets
        var keys: [String: NotaryKey] = [:]
        var delegations: [NotaryDelegation] = []
        if let d = envelope.signed["delegations"] {
            guard case .object(let o) = d, case .object(let keysObject)? = o["keys"], case .array(let rolesArray)? = o["roles"] else {
                throw TUFError.invalidMetadata(file: file, reason: "delegations need keys and roles")
            }
            for m in keysObject { keys[m.key] = try NotaryKey(id: m.key, json: m.value, file: file) }
            for r in rolesArray {
                guard case .object(let ro) = r, let name = ro["name"]?.stringValue, case .array(let pathValues)? = ro["paths"] else {
                    throw TUFError.invalidMetadata(file: file, reason: "a delegation needs a name and paths")
                }
                guard NotaryTargets.isDelegationName(name), NotaryTargets.parent(of: name) == role else {
                    throw TUFError.invalidMetadata(file: file, reason: "\"\(name)\" is not a delegation name directly below \(role)")
                }
                guard !delegations.contains(where: { $0.name == name }) else { throw TUFError.invalidMetadata(file: file, reason: "delegation \(name) listed twice") }
                let rk = try NotaryRoot.roleKeys(r, file: file, what: "delegation \(name)", known: keys)
                var paths: [String] = []
                for p in pathValues {
                    guard let s = p.stringValue else { throw TUFError.invalidMetadata(file: file, reason: "a path of \(name) is not a string") }
                    paths.append(s)
                }
                delegations.append(NotaryDelegation(name: name, keyIDs: rk.keyIDs, threshold: rk.threshold, paths: paths))
            }
        }
        delegationKeys = keys
        self.delegations = delegations
    }

    /// Notary's delegation name rule: `targets/…`, lowercase letters, digits, `-`, `_`, `/`, shorter than
    /// 256 bytes, and already clean (no empty, `.` or `..` segment, no trailing `/`).
    public static func isDelegationName(_ name: String) -> Bool {
        guard name.hasPrefix("targets/"), name.utf8.count < 256 else { return false }
        for b in name.utf8 {
            let ok = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f || b == 0x2f
            guard ok else { return false }
        }
        return !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// The parent role of a delegation (`targets/a/b` → `targets/a`).
    public static func parent(of name: String) -> String {
        guard let slash = name.lastIndex(of: "/") else { return "" }
        return String(name[..<slash])
    }

    /// Target names, in file order.
    public var targetNames: [String] { targets.map(\.key) }

    /// The target named `name` (byte-compared).
    /// - Throws: `TUFError.invalidMetadata` when the entry is malformed.
    public func target(_ name: String) throws(TUFError) -> NotaryTarget? {
        guard let v = targets[name] else { return nil }
        let meta = try NotaryFileMeta(json: v, file: "\(role).json", what: "target \(name)")
        guard case .object(let o) = v else { return nil }
        return NotaryTarget(name: name, length: meta.length, hashes: meta.hashes, custom: o["custom"])
    }

    /// Keys of the delegations, for the threshold function.
    func delegationKeyMap() -> [ByteKey: Key] {
        var m: [ByteKey: Key] = [:]
        for (id, k) in delegationKeys { m[ByteKey(id)] = k.key }
        return m
    }
}

/// Notary snapshot metadata: files by role name (root included), with lengths and hashes, no versions.
public struct NotarySnapshot: Sendable {
    public let envelope: NotaryEnvelope
    public let meta: [String: NotaryFileMeta]

    public init(bytes: [UInt8], file: String) throws(TUFError) {
        envelope = try NotaryEnvelope(bytes: bytes, file: file, expectedType: "Snapshot")
        guard case .object(let o)? = envelope.signed["meta"] else { throw TUFError.invalidMetadata(file: file, reason: "no meta") }
        var meta: [String: NotaryFileMeta] = [:]
        for m in o { meta[m.key] = try NotaryFileMeta(json: m.value, file: file, what: "meta \(m.key)") }
        for r in ["root", "targets"] where meta[r]?.sha256 == nil {
            throw TUFError.invalidMetadata(file: file, reason: "snapshot meta needs \(r) with a sha256")
        }
        self.meta = meta
    }
}

/// Notary timestamp metadata: the snapshot's length and hashes.
public struct NotaryTimestamp: Sendable {
    public let envelope: NotaryEnvelope
    public let snapshot: NotaryFileMeta

    public init(bytes: [UInt8], file: String) throws(TUFError) {
        envelope = try NotaryEnvelope(bytes: bytes, file: file, expectedType: "Timestamp")
        guard case .object(let o)? = envelope.signed["meta"], let s = o["snapshot"] else { throw TUFError.invalidMetadata(file: file, reason: "no meta.snapshot") }
        snapshot = try NotaryFileMeta(json: s, file: file, what: "meta snapshot")
        guard snapshot.sha256 != nil else { throw TUFError.invalidMetadata(file: file, reason: "meta.snapshot needs a sha256") }
    }
}
