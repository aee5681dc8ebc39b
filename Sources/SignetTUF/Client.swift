import FoundationEssentials
import Glibc
import SignetHTTP

/// The small client operations behind `signet-tuf-client`: initialise trust, refresh, download targets.
public enum TUFClient {
    /// The transport for a base URL: `file://` URLs read local files, anything else goes through libcurl.
    /// - Throws: `TUFError.fetch` if libcurl cannot be initialised.
    public static func transport(for url: String) throws(TUFError) -> any Transport {
        if url.hasPrefix("file://") { return FileTransport() }
        do { return try CurlTransport() } catch { throw TUFError.fetch(file: url, error) }
    }

    /// Makes `rootFile` the trusted root in `metadataDir` (stored as `root.json`), after checking that it
    /// is well-formed root metadata. Signatures and expiry are checked by every refresh. No network access.
    /// - Throws: `TUFError` naming what is wrong with the file; nothing is written then.
    public static func initialize(metadataDir: String, rootFile: String, limit: Int = UpdaterConfig().rootMaxLength) throws(TUFError) {
        guard let bytes = try TUFFiles.read(rootFile, limit: limit) else {
            throw TUFError.storage(path: rootFile, detail: "no such file")
        }
        _ = try Metadata<Root>(bytes: bytes, file: rootFile)
        let store = try DirectoryMetadataStore(directory: metadataDir)
        try store.save(role: "root", bytes: bytes)
    }

    /// Creates an updater over `metadataDir` for the repository at `metadataURL`.
    /// - Throws: `TUFError` when no trusted root is stored or it is invalid.
    public static func updater(metadataDir: String, metadataURL: String, config: UpdaterConfig = UpdaterConfig(),
                               events: @escaping (UpdaterEvent) -> Void) throws(TUFError) -> Updater {
        try Updater(metadataBaseURL: metadataURL, transport: try transport(for: metadataURL),
                    store: try DirectoryMetadataStore(directory: metadataDir), config: config, events: events)
    }

    /// Refreshes, then looks up and downloads each target in order into `targetDir`, stopping at the first failure.
    /// - Returns: the stored file paths.
    /// - Throws: the first `TUFError`.
    public static func download(updater: Updater, targets: [String], targetBaseURL: String, targetDir: String) throws(TUFError) -> [String] {
        try updater.refresh()
        var paths: [String] = []
        for name in targets {
            let target = try updater.lookup(name)
            paths.append(try updater.download(target, targetBaseURL: targetBaseURL, into: targetDir))
        }
        return paths
    }
}
