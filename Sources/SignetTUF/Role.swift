import SignetJSON

/// The keys and threshold of a role, as root lists them (TUF 1.0.34 §4.3 "roles").
public struct RoleKeys: Sendable {
    /// Key IDs allowed to sign, in listed order, without repeats.
    public var keyIDs: [String]
    /// How many distinct keys must sign (at least 1).
    public var threshold: Int
    /// Unknown fields, kept verbatim.
    public var unknown: JSONObject

    /// Builds a role.
    public init(keyIDs: [String], threshold: Int, unknown: JSONObject = JSONObject()) {
        self.keyIDs = keyIDs
        self.threshold = threshold
        self.unknown = unknown
    }

    init(fields f: inout Fields) throws(TUFError) {
        keyIDs = try f.stringArray("keyids", unique: true)
        threshold = Int(try f.integer("threshold", minimum: 1))
        unknown = JSONObject()
    }

    init(json: JSONValue, file: String, context: String) throws(TUFError) {
        var f = try Fields(json, file: file, context: context)
        try self.init(fields: &f)
        unknown = f.unknown()
    }

    func write(into o: inout JSONObject) {
        o["keyids"] = .array(keyIDs.map { .string($0) })
        o["threshold"] = .integer(Int64(threshold))
    }

    /// The role as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        write(into: &o)
        o.merge(unknown: unknown)
        return .object(o)
    }
}
