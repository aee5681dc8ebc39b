import SignetFiles

/// Notary metadata cached by the `notary` CLI or Docker (`~/.notary`, `~/.docker/trust`): files
/// `tuf/<GUN>/metadata/<role>.json`, exact bytes as downloaded, by role name (`targets/releases` in a
/// subfolder). For users whose server is gone: the files are verified exactly as a server's would be,
/// from a trusted root. Files by checksum are the current files (their checksum is checked anyway); root
/// versions other than the current one are not kept there.
public struct NotaryTrustDirectory: NotarySource {
    /// The `metadata` folder of the GUN.
    public let metadataDirectory: String

    /// The cache of `gun` under a trust directory.
    public init(trustDirectory: String, gun: String) {
        metadataDirectory = trustDirectory + "/tuf/" + gun + "/metadata"
    }

    /// Whether the directory holds cached metadata for the GUN.
    public var exists: Bool { AtomicFile.exists(metadataDirectory + "/root.json") }

    public func fetch(_ file: NotaryFile, limit: Int) throws(TUFError) -> [UInt8]? {
        let role: String
        switch file {
        case .current(let r), .byHash(let r, _): role = r
        case .rootVersion: return nil
        }
        guard ["root", "timestamp", "snapshot", "targets"].contains(role) || NotaryTargets.isDelegationName(role) else {
            throw TUFError.unsafeTargetPath(path: role)
        }
        do throws(FileError) { return try AtomicFile.readRegularFile(metadataDirectory + "/" + role + ".json", limit: limit) } catch { throw .file(error) }
    }
}
