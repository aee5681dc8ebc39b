import SignetJSON

/// Timestamp metadata: the current snapshot's version, and optionally its length and hashes (TUF 1.0.34 §4.6).
public struct Timestamp: RoleMetadata {
    public static let typeName = "timestamp"
    public var header: Header
    /// What timestamp says of `snapshot.json`.
    public var snapshotMeta: MetaFile
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds timestamp metadata.
    public init(header: Header, snapshotMeta: MetaFile, unknown: JSONObject = JSONObject()) {
        self.header = header
        self.snapshotMeta = snapshotMeta
        self.unknown = unknown
    }

    public init(signed: JSONValue, file: String) throws(TUFError) {
        var f = try Fields(signed, file: file, context: "timestamp")
        header = try Header(fields: &f, type: Timestamp.typeName)
        let meta = try f.objectField("meta")
        guard meta.count == 1, let snap = meta["snapshot.json"] else {
            throw f.fail("\"meta\" must list exactly \"snapshot.json\"")
        }
        snapshotMeta = try MetaFile(json: snap, file: file, context: "meta snapshot.json")
        unknown = f.unknown()
    }

    public var json: JSONValue {
        var o = JSONObject()
        header.write(into: &o, type: Timestamp.typeName)
        var m = JSONObject()
        m["snapshot.json"] = snapshotMeta.json
        o["meta"] = .object(m)
        o.merge(unknown: unknown)
        return .object(o)
    }
}
