import SignetJSON

/// Snapshot metadata: the version (and optionally length and hashes) of every targets role (TUF 1.0.34 §4.4).
public struct Snapshot: RoleMetadata {
    public static let typeName = "snapshot"
    public var header: Header
    /// Entries keyed by file name (`targets.json`, `ROLE.json`), in received order.
    public var meta: [(String, MetaFile)]
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject
    private var index: [ByteKey: Int]

    /// Builds snapshot metadata.
    public init(header: Header, meta: [(String, MetaFile)], unknown: JSONObject = JSONObject()) {
        self.header = header
        self.meta = meta
        self.unknown = unknown
        index = Snapshot.makeIndex(meta)
    }

    public init(signed: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(signed, file: file, context: "snapshot")
        header = try Header(fields: &f, type: Snapshot.typeName)
        var meta: [(String, MetaFile)] = []
        let object = try f.objectField("meta")
        meta.reserveCapacity(object.count)
        for m in object {
            meta.append((m.key, try MetaFile(json: m.value, file: file, context: "meta \(m.key)")))
        }
        self.meta = meta
        index = Snapshot.makeIndex(meta)
        unknown = f.unknown()
    }

    static func makeIndex(_ meta: [(String, MetaFile)]) -> [ByteKey: Int] {
        var index: [ByteKey: Int] = [:]
        index.reserveCapacity(meta.count)
        for (i, m) in meta.enumerated() { index[ByteKey(m.0)] = i }
        return index
    }

    public var json: JSONValue {
        var o = JSONObject()
        header.write(into: &o, type: Snapshot.typeName)
        var m = JSONObject()
        for (name, entry) in meta { m[name] = entry.json }
        o["meta"] = .object(m)
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// The entry for a role (`targets` → `targets.json`).
    public func meta(forRole role: String) -> MetaFile? { meta(named: role + ".json") }

    /// The entry for a file name such as `targets.json`.
    public func meta(named name: String) -> MetaFile? {
        guard let i = index[ByteKey(name)] else { return nil }
        return meta[i].1
    }

    /// Adds or replaces the entry for a role.
    public mutating func setMeta(_ entry: MetaFile, forRole role: String) {
        let name = role + ".json"
        if let i = index[ByteKey(name)] {
            meta[i].1 = entry
        } else {
            meta.append((name, entry))
            index[ByteKey(name)] = meta.count - 1
        }
    }
}
