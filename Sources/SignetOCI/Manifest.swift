import SignetCrypto
import SignetJSON

/// An image manifest (OCI `manifest.md`, or Docker schema 2): one config blob and its layers.
public struct ImageManifest: Sendable, Equatable {
    /// The manifest's media type.
    public var mediaType: String
    /// The configuration blob.
    public var config: Descriptor
    /// The layer blobs, in order.
    public var layers: [Descriptor]
    /// `subject`, when the manifest refers to another manifest (OCI 1.1 referrers).
    public var subject: Descriptor?
    /// `artifactType`, if present.
    public var artifactType: String?
}

/// An image index (OCI `image-index.md`, or a Docker manifest list): manifests per platform.
public struct ImageIndex: Sendable, Equatable {
    /// The index's media type.
    public var mediaType: String
    /// The entries, in order.
    public var manifests: [Descriptor]
}

/// The parsed content of a manifest document.
public enum ManifestContent: Sendable, Equatable {
    /// An image manifest.
    case image(ImageManifest)
    /// An index of manifests.
    case index(ImageIndex)
}

/// A manifest whose bytes have been checked against an expected digest (and size, when known)
/// and then parsed. `bytes` are exactly the bytes whose digest is `digest`: they are what is
/// stored in a layout or pushed, never a re-encoding.
public struct VerifiedManifest: Sendable {
    /// The exact bytes received.
    public let bytes: [UInt8]
    /// The digest of `bytes` (computed, never taken from a header).
    public let digest: Digest
    /// The media type (from the document's `mediaType`, else from the descriptor or `Content-Type`).
    public let mediaType: String
    /// The parsed content.
    public let content: ManifestContent

    /// A descriptor for this manifest.
    public var descriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// The default cap on manifest size: 4 MiB, the limit most registries enforce.
    public static let defaultMaxBytes = 4 << 20

    /// Checks `bytes` against `expectedDigest` (and `expectedSize` if given), then parses them.
    ///
    /// The document's own `mediaType` wins; if it is absent, `declaredMediaType` (from the
    /// descriptor that pointed here, or the `Content-Type` header) is used; if both are present
    /// they must agree, so a manifest cannot pose as another kind than its descriptor says.
    /// - Parameter what: names the manifest in error messages.
    /// - Throws: `OCIError.sizeMismatch`, `.digestMismatch`, `.invalidManifest` (bad JSON, bad
    ///   schema) or `.unsupportedMediaType` (Docker schema 1, unknown types).
    public static func verify(_ bytes: [UInt8], expectedDigest: Digest, expectedSize: Int64? = nil,
                              declaredMediaType: String? = nil, what: String) throws(OCIError) -> VerifiedManifest {
        if let expectedSize, Int64(bytes.count) != expectedSize {
            throw .sizeMismatch(what: what, expected: expectedSize, received: Int64(bytes.count))
        }
        let computed = try computeDigest(expectedDigest.algorithm, bytes)
        guard computed == expectedDigest else {
            throw .digestMismatch(what: what, expected: expectedDigest.ociString, received: computed.ociString)
        }
        return try parse(bytes, digest: computed, declaredMediaType: declaredMediaType, what: what)
    }

    /// Parses bytes whose digest the caller has already established (for example a manifest
    /// fetched by tag with an explicitly unverified tag, where the digest is computed here).
    ///
    /// - Throws: `OCIError.invalidManifest` or `.unsupportedMediaType`.
    static func parse(_ bytes: [UInt8], digest: Digest, declaredMediaType: String?, what: String) throws(OCIError) -> VerifiedManifest {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes, limits: JSONLimits(maxBytes: max(bytes.count, 1), maxDepth: 32))
        } catch {
            throw .invalidManifest(what: what, reason: "not strict JSON: \(error)")
        }
        guard case .object = json else {
            throw .invalidManifest(what: what, reason: "top level is not a JSON object")
        }
        guard let schemaVersion = json["schemaVersion"]?.integerValue else {
            throw .invalidManifest(what: what, reason: "missing integer \"schemaVersion\"")
        }
        if schemaVersion == 1 {
            throw .unsupportedMediaType(what: what, mediaType: MediaType.dockerSchema1[0])
        }
        guard schemaVersion == 2 else {
            throw .invalidManifest(what: what, reason: "schemaVersion is \(schemaVersion), expected 2")
        }
        var bodyType: String? = nil
        if let value = json["mediaType"] {
            guard let text = value.stringValue else {
                throw .invalidManifest(what: what, reason: "\"mediaType\" is not a string")
            }
            bodyType = text
        }
        let declared = declaredMediaType.map(MediaType.essence).flatMap { $0.isEmpty ? nil : $0 }
        if let bodyType, let declared, bodyType != declared, isKnownManifestType(declared) {
            throw .invalidManifest(what: what, reason: "the document says mediaType \(quoted(bodyType)) but it was referenced as \(quoted(declared))")
        }
        var mediaType = bodyType ?? declared.flatMap { isKnownManifestType($0) ? $0 : nil }
        if mediaType == nil {
            // OCI image spec: mediaType SHOULD be present; without it, tell the kinds apart by shape.
            if json["manifests"] != nil && json["config"] == nil {
                mediaType = MediaType.ociIndex
            } else if json["config"] != nil && json["manifests"] == nil {
                mediaType = MediaType.ociManifest
            } else {
                throw .invalidManifest(what: what, reason: "no mediaType, and the document is neither clearly a manifest nor an index")
            }
        }
        let type = mediaType ?? MediaType.ociManifest
        if MediaType.dockerSchema1.contains(type) {
            throw .unsupportedMediaType(what: what, mediaType: type)
        }
        let content: ManifestContent
        if MediaType.isImageManifest(type) {
            guard json["manifests"] == nil else {
                throw .invalidManifest(what: what, reason: "an image manifest must not have \"manifests\"")
            }
            guard let configJSON = json["config"] else {
                throw .invalidManifest(what: what, reason: "image manifest without \"config\"")
            }
            let config = try Descriptor(json: configJSON, what: what + " config")
            guard let layersJSON = json["layers"]?.arrayValue else {
                throw .invalidManifest(what: what, reason: "image manifest without a \"layers\" array")
            }
            var layers: [Descriptor] = []
            layers.reserveCapacity(layersJSON.count)
            for (position, layer) in layersJSON.enumerated() {
                layers.append(try Descriptor(json: layer, what: what + " layer \(position + 1)"))
            }
            var subject: Descriptor? = nil
            if let value = json["subject"] {
                subject = try Descriptor(json: value, what: what + " subject")
            }
            content = .image(ImageManifest(mediaType: type, config: config, layers: layers, subject: subject,
                                           artifactType: json["artifactType"]?.stringValue))
        } else if MediaType.isIndex(type) {
            guard json["config"] == nil, json["layers"] == nil else {
                throw .invalidManifest(what: what, reason: "an index must not have \"config\" or \"layers\"")
            }
            guard let entries = json["manifests"]?.arrayValue else {
                throw .invalidManifest(what: what, reason: "index without a \"manifests\" array")
            }
            var manifests: [Descriptor] = []
            manifests.reserveCapacity(entries.count)
            for (position, entry) in entries.enumerated() {
                manifests.append(try Descriptor(json: entry, what: what + " entry \(position + 1)"))
            }
            content = .index(ImageIndex(mediaType: type, manifests: manifests))
        } else {
            throw .unsupportedMediaType(what: what, mediaType: type)
        }
        return VerifiedManifest(bytes: bytes, digest: digest, mediaType: type, content: content)
    }

    private static func isKnownManifestType(_ type: String) -> Bool {
        MediaType.isImageManifest(type) || MediaType.isIndex(type) || MediaType.dockerSchema1.contains(type)
    }
}

/// The digest of `bytes` with `algorithm`.
func computeDigest(_ algorithm: DigestAlgorithm, _ bytes: [UInt8]) throws(OCIError) -> Digest {
    do {
        return try Digest.compute(algorithm, over: bytes)
    } catch {
        throw .io(path: "(hash)", detail: "cannot compute \(algorithm.rawValue): \(error)")
    }
}
