/// Where an updater keeps the trusted metadata between runs: the exact bytes received, by role name.
public protocol MetadataStore: Sendable {
    /// The stored bytes for `role` (e.g. "root", "targets/releases"), or nil; at most `limit` bytes.
    func load(role: String, limit: Int) throws(TUFError) -> [UInt8]?
    /// Stores `bytes` for `role` atomically.
    func save(role: String, bytes: [UInt8]) throws(TUFError)
    /// Forgets `role`.
    func remove(role: String) throws(TUFError)
}

/// Stores each role as `DIR/<percent-encoded role>.json` (so `root.json`, `timestamp.json`, …),
/// written atomically.
public struct DirectoryMetadataStore: MetadataStore {
    /// The directory.
    public let directory: String

    /// Uses `directory`, creating it if needed.
    /// - Throws: `TUFError.storage`.
    public init(directory: String) throws(TUFError) {
        self.directory = directory
        try AtomicFile.makeDirectory(directory)
    }

    /// The file path for `role`.
    /// - Throws: `TUFError.invalidMetadata` for a role name with no safe file name.
    public func path(role: String) throws(TUFError) -> String {
        guard let name = PercentEncoding.fileName(for: role, suffix: ".json") else {
            throw TUFError.invalidMetadata(file: role, reason: "role name cannot be stored as a file name")
        }
        return directory + "/" + name
    }

    public func load(role: String, limit: Int) throws(TUFError) -> [UInt8]? {
        try AtomicFile.read(try path(role: role), limit: limit)
    }

    public func save(role: String, bytes: [UInt8]) throws(TUFError) {
        try AtomicFile.write(bytes, to: try path(role: role))
    }

    public func remove(role: String) throws(TUFError) {
        try AtomicFile.remove(try path(role: role))
    }
}
