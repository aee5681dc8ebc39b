import SignetJSON

/// Fields every role's `signed` object has (TUF 1.0.34 §4.3–4.6).
public struct Header: Sendable {
    /// `spec_version`, e.g. "1.0.34".
    public var specVersion: String
    /// `version`, at least 1.
    public var version: Int64
    /// `expires` as written.
    public var expires: String
    /// `expires` in seconds since the epoch.
    public var expiresAt: Int64

    /// The spec version Signet writes.
    public static let currentSpecVersion = "1.0.34"

    /// Builds a header.
    public init(version: Int64, expiresAt: Int64, specVersion: String = Header.currentSpecVersion) {
        self.specVersion = specVersion
        self.version = version
        self.expiresAt = expiresAt
        self.expires = TUFDate.format(expiresAt)
    }

    init(fields f: inout Fields, type: String) throws(TUFError) {
        let received = try f.string("_type")
        guard received == type else { throw TUFError.wrongType(file: f.file, expected: type, received: received) }
        specVersion = try f.string("spec_version")
        let parts = specVersion.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else {
            throw TUFError.invalidMetadata(file: f.file, reason: "spec_version \"\(specVersion)\" is not MAJOR.MINOR[.PATCH]")
        }
        guard parts[0] == "1" else { throw TUFError.unsupportedSpecVersion(file: f.file, version: specVersion) }
        version = try f.integer("version", minimum: 1)
        expires = try f.string("expires")
        guard let at = TUFDate.parse(expires) else {
            throw TUFError.invalidMetadata(file: f.file, reason: "expires \"\(expires)\" is not YYYY-MM-DDTHH:MM:SSZ")
        }
        expiresAt = at
    }

    func write(into o: inout JSONObject, type: String) {
        o["_type"] = .string(type)
        o["spec_version"] = .string(specVersion)
        o["version"] = .integer(version)
        o["expires"] = .string(expires)
    }

    /// Whether the metadata has expired at `time` (expiry must be strictly later than the reference time).
    public func isExpired(at time: Int64) -> Bool { expiresAt <= time }

    /// Sets a new expiry.
    public mutating func setExpiry(_ at: Int64) {
        expiresAt = at
        expires = TUFDate.format(at)
    }
}

/// A role type's `signed` content.
public protocol RoleMetadata: Sendable {
    /// The `_type` value, e.g. "root".
    static var typeName: String { get }
    /// Common fields.
    var header: Header { get set }
    /// Decodes `signed`, keeping unknown fields.
    init(signed: JSONValue, file: String) throws(TUFError)
    /// Encodes `signed`.
    var json: JSONValue { get }
    /// The object inside the document that may stay unparsed until used (large target lists), or nil.
    static var lazyPath: [String]? { get }
    /// Decodes `signed` whose object at `lazyPath` was left unparsed and is given as `lazy`.
    init(signed: JSONValue, lazy: LazyJSONObject?, file: String) throws(TUFError)
}

extension RoleMetadata {
    public static var lazyPath: [String]? { nil }
    public init(signed: JSONValue, lazy: LazyJSONObject?, file: String) throws(TUFError) {
        try self.init(signed: signed, file: file)
    }
}
