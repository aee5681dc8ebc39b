import SignetJSON

/// Targets metadata, top-level or delegated (TUF 1.0.34 §4.5).
///
/// Target entries stay as parsed JSON until asked for, so a role with 100 000 targets costs one parse,
/// not 100 000 decoded structures; each entry is decoded and validated when looked up.
public struct Targets: RoleMetadata {
    public static let typeName = "targets"
    public var header: Header
    /// The `targets` entries: parsed, or (for received metadata) kept unparsed until looked up.
    enum Storage: Sendable {
        case parsed(JSONObject)
        case lazy(LazyJSONObject)
    }
    var storage: Storage
    /// Delegations, if any.
    public var delegations: Delegations?
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject
    let file: String

    /// Builds targets metadata.
    public init(header: Header, targets: [TargetFile] = [], delegations: Delegations? = nil, unknown: JSONObject = JSONObject()) {
        self.header = header
        var o = JSONObject()
        for t in targets { o[t.path] = t.json }
        storage = .parsed(o)
        self.delegations = delegations
        self.unknown = unknown
        file = "targets"
    }

    public static var lazyPath: [String]? { ["signed", "targets"] }

    public init(signed: JSONValue, file: String) throws(TUFError) {
        try self.init(signed: signed, lazy: nil, file: file)
    }

    public init(signed: JSONValue, lazy: LazyJSONObject?, file: String) throws(TUFError) {
        var f = try Fields(signed, file: file, context: "targets")
        header = try Header(fields: &f, type: Targets.typeName)
        let parsed = try f.objectField("targets")
        if let lazy {
            storage = .lazy(lazy)
        } else {
            // Entries must at least be objects; full validation happens on lookup.
            for m in parsed {
                guard case .object = m.value else { throw f.fail("target \"\(m.key)\" must be an object") }
            }
            storage = .parsed(parsed)
        }
        if let d = f.optional("delegations") { delegations = try Delegations(json: d, file: file) }
        unknown = f.unknown()
        self.file = file
    }

    /// Encodes `signed`. Unparsed target entries are parsed here; they were validated when received,
    /// so this cannot fail for metadata this library parsed.
    public var json: JSONValue {
        var o = JSONObject()
        header.write(into: &o, type: Targets.typeName)
        o["targets"] = .object(targetsObject)
        if let delegations { o["delegations"] = delegations.json }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// The `targets` object (parsed on first use for received metadata).
    public var targetsObject: JSONObject {
        switch storage {
        case .parsed(let o): return o
        case .lazy(let l): return (try? l.toJSONObject()) ?? JSONObject()
        }
    }

    /// Number of targets listed directly in this role.
    public var targetCount: Int {
        switch storage {
        case .parsed(let o): return o.count
        case .lazy(let l): return l.count
        }
    }

    /// Target paths in stored order.
    public var targetPaths: [String] {
        switch storage {
        case .parsed(let o): return o.keys
        case .lazy(let l): return l.keys
        }
    }

    /// Whether `path` (byte-compared) is listed.
    public func containsTarget(_ path: String) -> Bool {
        switch storage {
        case .parsed(let o): return o[path] != nil
        case .lazy(let l): return l.contains(key: path)
        }
    }

    /// The entry for `path` (byte-compared), decoded and validated.
    /// - Throws: `TUFError.invalidMetadata` when the entry is malformed.
    public func target(_ path: String) throws(TUFError) -> TargetFile? {
        let value: JSONValue?
        switch storage {
        case .parsed(let o): value = o[path]
        case .lazy(let l):
            do { value = try l.value(forKey: path) } catch { throw TUFError.json(file: file, error) }
        }
        guard let v = value else { return nil }
        return try TargetFile(path: path, json: v, file: file)
    }

    private mutating func parsedForEditing() -> JSONObject {
        switch storage {
        case .parsed(let o):
            storage = .parsed(JSONObject())   // drop our reference so the caller mutates a unique copy
            return o
        case .lazy(let l): return (try? l.toJSONObject()) ?? JSONObject()
        }
    }

    /// Adds or replaces a target.
    public mutating func setTarget(_ target: TargetFile) {
        var o = parsedForEditing()
        o[target.path] = target.json
        storage = .parsed(o)
    }

    /// Removes a target; returns whether it was present.
    @discardableResult
    public mutating func removeTarget(_ path: String) -> Bool {
        guard containsTarget(path) else { return false }
        var o = parsedForEditing()
        o[path] = nil
        storage = .parsed(o)
        return true
    }
}
