import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI

/// Random bytes (distinct on every call, so that tests never share blobs in a registry).
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = generator.next()
        for _ in 0..<8 where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }
    return bytes
}

func sha256(_ bytes: [UInt8]) -> Digest {
    do { return try SHA256.hash(bytes) } catch { preconditionFailure("sha256 unavailable: \(error)") }
}

/// A generated single-platform image: random layer blobs, a config naming the platform, and an
/// OCI manifest (compact JSON, kept as the exact bytes whose digest is referenced).
struct TestImage {
    var layers: [[UInt8]]
    var config: [UInt8]
    var manifest: [UInt8]
    var platform: Platform
    var layerSizeOverride: [Int: Int64] = [:]
    var note: String?

    var configDescriptor: Descriptor {
        Descriptor(mediaType: MediaType.ociConfig, digest: sha256(config), size: Int64(config.count))
    }

    var layerDescriptors: [Descriptor] {
        layers.enumerated().map { position, bytes in
            Descriptor(mediaType: MediaType.ociLayer, digest: sha256(bytes), size: layerSizeOverride[position] ?? Int64(bytes.count))
        }
    }

    var digest: Digest { sha256(manifest) }

    var descriptor: Descriptor {
        Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: Int64(manifest.count), platform: platform)
    }

    /// An image with `layerCount` random layers of `layerSize` bytes.
    /// - Parameter layerSizeOverride: descriptor sizes that differ from the real blob sizes.
    /// - Parameter note: an annotation value in the manifest (lets tests find and alter its bytes).
    init(layerCount: Int = 2, layerSize: Int = 64 * 1024, platform: Platform = Platform(os: "linux", architecture: "amd64"),
         layerSizeOverride: [Int: Int64] = [:], note: String? = nil) {
        self.platform = platform
        self.note = note
        self.layers = (0..<layerCount).map { _ in randomBytes(layerSize) }
        self.layerSizeOverride = layerSizeOverride
        var configObject = JSONObject()
        configObject["architecture"] = .string(platform.architecture)
        configObject["os"] = .string(platform.os)
        if let variant = platform.variant { configObject["variant"] = .string(variant) }
        configObject["rootfs"] = [
            "type": "layers",
            "diff_ids": .array(layers.map { .string(sha256($0).ociString) }),
        ]
        configObject["config"] = ["Labels": ["test.nonce": .string(Hex.encode(randomBytes(8)))]]
        self.config = JSONWriter.encode(.object(configObject), pretty: false)
        self.manifest = []
        self.manifest = buildManifest()
    }

    private func buildManifest() -> [UInt8] {
        var value: JSONObject = [
            "schemaVersion": 2,
            "mediaType": .string(MediaType.ociManifest),
            "config": configDescriptor.jsonValue,
            "layers": .array(layerDescriptors.map(\.jsonValue)),
        ]
        if let note { value["annotations"] = ["org.example.note": .string(note)] }
        return JSONWriter.encode(.object(value), pretty: false)
    }

    /// Every blob of the image (config and layers) with its bytes.
    var blobs: [(Digest, [UInt8])] {
        [(sha256(config), config)] + layers.map { (sha256($0), $0) }
    }
}

/// A generated index over several images.
struct TestIndex {
    var images: [TestImage]
    var bytes: [UInt8]

    init(images: [TestImage]) {
        self.images = images
        let value: JSONValue = [
            "schemaVersion": 2,
            "mediaType": .string(MediaType.ociIndex),
            "manifests": .array(images.map(\.descriptor.jsonValue)),
        ]
        self.bytes = JSONWriter.encode(value, pretty: false)
    }

    var digest: Digest { sha256(bytes) }
    var descriptor: Descriptor { Descriptor(mediaType: MediaType.ociIndex, digest: digest, size: Int64(bytes.count)) }
}

/// Writes OCI image layouts for tests.
enum LayoutWriter {
    static func writeBlob(_ bytes: [UInt8], into root: String) throws {
        let digest = sha256(bytes)
        let directory = root + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + digest.hex))
    }

    static func writeIndex(_ entries: [Descriptor], into root: String) throws {
        let value: JSONValue = ["schemaVersion": 2, "manifests": .array(entries.map(\.jsonValue))]
        try Data(JSONWriter.encode(value)).write(to: URL(fileURLWithPath: root + "/index.json"))
        try Data("{\"imageLayoutVersion\":\"1.0.0\"}".utf8).write(to: URL(fileURLWithPath: root + "/oci-layout"))
    }

    static func named(_ descriptor: Descriptor, _ name: String) -> Descriptor {
        var copy = descriptor
        var annotations = JSONObject()
        annotations[Descriptor.refNameAnnotation] = .string(name)
        copy.annotations = annotations
        return copy
    }

    /// A layout holding `image` under `name`.
    static func layout(_ image: TestImage, name: String = "latest", at root: String) throws {
        for (_, bytes) in image.blobs { try writeBlob(bytes, into: root) }
        try writeBlob(image.manifest, into: root)
        var entry = image.descriptor
        entry.platform = nil
        try writeIndex([named(entry, name)], into: root)
    }

    /// A layout holding `index` (and all its images) under `name`.
    static func layout(_ index: TestIndex, name: String = "latest", at root: String) throws {
        for image in index.images {
            for (_, bytes) in image.blobs { try writeBlob(bytes, into: root) }
            try writeBlob(image.manifest, into: root)
        }
        try writeBlob(index.bytes, into: root)
        try writeIndex([named(index.descriptor, name)], into: root)
    }
}

/// Checks an OCI layout after a pull: every file in `blobs/` hashes to its name, no staging file
/// is left, and returns the digests present.
func verifiedLayoutContents(_ root: String) throws -> Set<String> {
    var present = Set<String>()
    let fm = FileManager.default
    let blobs = root + "/blobs/sha256"
    if fm.fileExists(atPath: blobs) {
        for name in try fm.contentsOfDirectory(atPath: blobs) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: blobs + "/" + name)))
            guard sha256(bytes).hex == name else {
                throw HarnessError("unverified blob in the layout: blobs/sha256/\(name)")
            }
            present.insert("sha256:" + name)
        }
    }
    let staging = root + "/.signet-staging"
    if fm.fileExists(atPath: staging), let leftovers = try? fm.contentsOfDirectory(atPath: staging), !leftovers.isEmpty {
        throw HarnessError("staging files left behind: \(leftovers)")
    }
    return present
}
