import SignetJSON

/// Targets metadata, top-level or delegated (TUF 1.0.34 §4.5).
///
/// Target entries stay as parsed JSON until asked for, so a role with 100 000 targets costs one parse,
/// not 100 000 decoded structures; each entry is decoded and validated when looked up.
public struct Targets: RoleMetadata {
    public static let typeName = "targets"
    public var header: Header
    /// The `targets` object, keyed by target path (byte-compared).
    public private(set) var targetsObject: JSONObject
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
        targetsObject = o
        self.delegations = delegations
        self.unknown = unknown
        file = "targets"
    }

    public init(signed: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(signed, file: file, context: "targets")
        header = try Header(fields: &f, type: Targets.typeName)
        targetsObject = try f.objectField("targets")
        // Entries must at least be objects; full validation happens on lookup.
        for m in targetsObject {
            guard case .object = m.value else { throw f.fail("target \"\(m.key)\" must be an object") }
        }
        if let d = f.optional("delegations") { delegations = try Delegations(json: d, file: file) }
        unknown = f.unknown()
        self.file = file
    }

    public var json: JSONValue {
        var o = JSONObject()
        header.write(into: &o, type: Targets.typeName)
        o["targets"] = .object(targetsObject)
        if let delegations { o["delegations"] = delegations.json }
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Number of targets listed directly in this role.
    public var targetCount: Int { targetsObject.count }

    /// Target paths in stored order.
    public var targetPaths: [String] { targetsObject.keys }

    /// The entry for `path` (byte-compared), decoded and validated.
    /// - Throws: `TUFError.invalidMetadata` when the entry is malformed.
    public func target(_ path: String) throws(TUFError) -> TargetFile? {
        guard let v = targetsObject[path] else { return nil }
        return try TargetFile(path: path, json: v, file: file)
    }

    /// Adds or replaces a target.
    public mutating func setTarget(_ target: TargetFile) { targetsObject[target.path] = target.json }

    /// Removes a target; returns whether it was present.
    @discardableResult
    public mutating func removeTarget(_ path: String) -> Bool {
        guard targetsObject[path] != nil else { return false }
        targetsObject[path] = nil
        return true
    }
}
