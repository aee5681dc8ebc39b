import SignetCrypto
import SignetJSON

/// A content descriptor (OCI image spec `descriptor.md`): what a manifest, index or layout says
/// about a piece of content — its media type, digest and exact size.
public struct Descriptor: Sendable, Equatable {
    /// The content's media type.
    public var mediaType: String
    /// The content's digest; the content is only accepted if its bytes hash to this.
    public var digest: Digest
    /// The content's exact size in bytes; more or fewer bytes are refused.
    public var size: Int64
    /// The platform of an index entry, if it has one.
    public var platform: Platform?
    /// `annotations`, keys and values as given.
    public var annotations: JSONObject?
    /// `artifactType`, if present.
    public var artifactType: String?

    /// The annotation holding an image's name in an OCI layout's `index.json`.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    /// Creates a descriptor.
    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil,
                annotations: JSONObject? = nil, artifactType: String? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
        self.artifactType = artifactType
    }

    /// Reads a descriptor object; `what` names where it was found for error messages.
    ///
    /// - Throws: `OCIError.invalidManifest` when `mediaType`, `digest` or `size` is missing or has
    ///   the wrong type, the digest is malformed or uses an algorithm other than sha256/sha512, or
    ///   the size is negative.
    public init(json: JSONValue, what: String) throws(OCIError) {
        guard case .object = json else {
            throw .invalidManifest(what: what, reason: "descriptor is not a JSON object")
        }
        guard let mediaType = json["mediaType"]?.stringValue, !mediaType.isEmpty else {
            throw .invalidManifest(what: what, reason: "descriptor needs a non-empty string \"mediaType\"")
        }
        guard let digestText = json["digest"]?.stringValue else {
            throw .invalidManifest(what: what, reason: "descriptor needs a string \"digest\"")
        }
        let digest: Digest
        do {
            digest = try Digest(oci: digestText)
        } catch {
            throw .invalidManifest(what: what, reason: "descriptor digest: \(error)")
        }
        guard digest.algorithm == .sha256 || digest.algorithm == .sha512 else {
            throw .invalidManifest(what: what, reason: "descriptor digest uses \(digest.algorithm.rawValue); only sha256 and sha512 are registered")
        }
        guard let size = json["size"]?.integerValue else {
            throw .invalidManifest(what: what, reason: "descriptor needs an integer \"size\"")
        }
        guard size >= 0 else {
            throw .invalidManifest(what: what, reason: "descriptor size is negative (\(size))")
        }
        var platform: Platform? = nil
        if let value = json["platform"] {
            platform = try Platform(json: value, what: what)
        }
        var annotations: JSONObject? = nil
        if let value = json["annotations"] {
            guard let object = value.objectValue, object.allSatisfy({ $0.value.stringValue != nil }) else {
                throw .invalidManifest(what: what, reason: "descriptor annotations must map strings to strings")
            }
            annotations = object
        }
        self.init(mediaType: mediaType, digest: digest, size: size, platform: platform,
                  annotations: annotations, artifactType: json["artifactType"]?.stringValue)
    }

    /// The value of annotation `key`, if present.
    public func annotation(_ key: String) -> String? {
        annotations?[key]?.stringValue
    }

    /// The descriptor as a JSON object (for `index.json`).
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["mediaType"] = .string(mediaType)
        object["digest"] = .string(digest.ociString)
        object["size"] = .integer(size)
        if let platform { object["platform"] = platform.jsonValue }
        if let artifactType { object["artifactType"] = .string(artifactType) }
        if let annotations, !annotations.isEmpty { object["annotations"] = .object(annotations) }
        return .object(object)
    }

    /// A short form for messages: the first 12 hex digits of the digest.
    var shortDigest: String { "\(digest.algorithm.rawValue):\(digest.hex.prefix(12))" }
}
