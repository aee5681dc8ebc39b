import SignetCrypto

/// Rules for a root given by the user (`--root FILE`) when a root is already pinned: pins only move
/// forward, so a given root must be a version of the chain the pin belongs to.
public enum RootPin {
    /// What a given root file is, relative to a verified chain of root versions.
    public enum Agreement: Sendable, Equatable {
        /// The given root is version N of the chain (same signed content).
        case inChain(version: Int64)
        /// The given root is not in the chain (different content for its version, or a version the chain
        /// does not reach).
        case differs(version: Int64)
    }

    /// Compares `given` with the chain's root of the same version.
    /// - Parameter chainVersion: the verified root bytes of version N, or nil beyond the chain.
    /// - Throws: `TUFError` when `given` is not root metadata.
    public static func compare(given: [UInt8], chainVersion: (Int64) -> [UInt8]?) throws(TUFError) -> Agreement {
        let g = try Metadata<Root>(bytes: given, file: "given root")
        let v = g.signed.header.version
        guard let mine = chainVersion(v) else { return .differs(version: v) }
        let m = try Metadata<Root>(bytes: mine, file: "\(v).root.json")
        return try g.canonicalSigned() == m.canonicalSigned() ? .inChain(version: v) : .differs(version: v)
    }

    /// Version and short SHA-256 of a root file, for messages.
    public static func describe(_ bytes: [UInt8]) -> String {
        let version = (try? Metadata<Root>(bytes: bytes, file: "root").signed.header.version).map { "version \($0)" } ?? "not valid root metadata"
        let digest = (try? SHA256.hash(bytes).hex.prefix(16)).map { "sha256 \($0)…" } ?? ""
        return "\(version), \(digest)"
    }
}
