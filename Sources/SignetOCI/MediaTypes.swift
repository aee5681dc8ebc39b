/// Media types of the OCI image spec (`media-types.md`) and their Docker schema 2 equivalents.
public enum MediaType {
    /// OCI image manifest.
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    /// OCI image index.
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    /// OCI image configuration.
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    /// OCI gzip-compressed layer.
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// OCI uncompressed layer.
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    /// The OCI empty descriptor's media type (`{}`), used by artifacts.
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"
    /// Docker image manifest, schema 2.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// Docker manifest list (the schema 2 multi-platform index).
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// Docker image configuration.
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    /// Docker gzip-compressed layer.
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// Docker schema 1 manifests (unsigned and signed), which Signet does not accept.
    public static let dockerSchema1 = ["application/vnd.docker.distribution.manifest.v1+json",
                                       "application/vnd.docker.distribution.manifest.v1+prettyjws"]

    /// The manifest types Signet understands, in the order sent in `Accept`. Distribution 2.8
    /// answers 404 for an OCI manifest when its type is missing from `Accept`, and converts or
    /// refuses lists for clients that do not list them, so all four are always sent.
    public static let manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList]

    /// Whether `type` is an image manifest (OCI or Docker schema 2).
    public static func isImageManifest(_ type: String) -> Bool {
        type == ociManifest || type == dockerManifest
    }

    /// Whether `type` is an index (OCI index or Docker manifest list).
    public static func isIndex(_ type: String) -> Bool {
        type == ociIndex || type == dockerManifestList
    }

    /// `type` without parameters (`; charset=...`) and surrounding spaces, lowercased ASCII.
    static func essence(_ type: String) -> String {
        let head = type.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var bytes = Array(head.utf8)
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        for index in bytes.indices where bytes[index] >= 0x41 && bytes[index] <= 0x5A { bytes[index] += 0x20 }
        return String(decoding: bytes, as: UTF8.self)
    }
}
