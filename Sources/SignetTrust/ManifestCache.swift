import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles

/// Manifests verified earlier, kept by digest in a directory (at most `limit`, the oldest dropped).
/// Content-addressed: kept bytes are used only when they have the expected length and hash to the
/// expected digest, so a damaged or replaced file is a cache miss, never a wrong manifest.
public struct ManifestCache: Sendable {
    public let directory: String
    public let limit: Int

    public init(directory: String, limit: Int = 64) {
        self.directory = directory
        self.limit = limit
    }

    /// The kept bytes of `digest`, when they have `length` bytes and that digest.
    public func bytes(digest: Digest, length: Int64) -> [UInt8]? {
        guard length > 0, length <= 4 << 20,
              let bytes = try? AtomicFile.read(directory + "/" + digest.hex, limit: Int(length)), Int64(bytes.count) == length,
              (try? SHA256.hash(bytes)) == digest else { return nil }
        return bytes
    }

    /// Keeps `bytes` (already verified to be `digest`), dropping the oldest entries past the limit.
    /// Failures only mean a later miss.
    public func keep(_ bytes: [UInt8], digest: Digest) {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory + "/" + digest.hex) { return }
        try? fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? AtomicFile.write(bytes, to: directory + "/" + digest.hex, mode: 0o644, durable: false)
        guard let names = try? fm.contentsOfDirectory(atPath: directory), names.count > limit else { return }
        let dated = names.compactMap { n -> (String, Date)? in
            guard let a = try? fm.attributesOfItem(atPath: directory + "/" + n), let d = a[.modificationDate] as? Date else { return nil }
            return (n, d)
        }.sorted { $0.1 < $1.1 }
        for (n, _) in dated.prefix(names.count - limit) { try? fm.removeItem(atPath: directory + "/" + n) }
    }
}
