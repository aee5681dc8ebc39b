import SignetEditor
import SignetOCI
import SignetTUF

/// Checks shared by every way Signet reads trust data (registry, offline layout).
enum TrustChecks {
    /// Root, timestamp and snapshot must name `identity` (`RepositoryEditor.identityField`).
    /// - Parameter display: how to name the repository in the error; `where` prefixes the file names.
    static func identity(of set: TrustedMetadataSet, is identity: String, display: String, where location: String = "") throws(TrustError) {
        let field = RepositoryEditor.identityField
        let named: [(String, String?)] = [
            ("root.json", set.root.signed.unknown[field]?.stringValue),
            ("timestamp.json", set.timestamp?.signed.unknown[field]?.stringValue),
            ("snapshot.json", set.snapshot?.signed.unknown[field]?.stringValue),
        ]
        for (file, name) in named where !sameRepository(name, identity) {
            throw TrustError.wrongRepository(repository: display, names: name, file: location + file)
        }
    }

    /// Whether two repository names are one, compared as references spell them (trust data made when
    /// the registry was written `Host.Example:443` names the repository `host.example/…` refers to).
    static func sameRepository(_ a: String?, _ b: String) -> Bool {
        guard let a else { return false }
        if a == b { return true }
        guard let ra = try? ImageReference(parsing: a), let rb = try? ImageReference(parsing: b) else { return false }
        return ra.tag == nil && ra.digest == nil && ra.name == rb.name
    }

    /// A root file given when a root is already pinned must be a version of the pinned chain.
    /// - Parameters:
    ///   - updater: the updater that verified the trust data from `pinned` (its verified roots count).
    ///   - earlier: verified root bytes of versions below the pinned one (kept from earlier verifications).
    /// - Returns: the version of the chain the given root is.
    /// - Throws: `TrustError.rootDisagrees` naming both roots, `.tuf` for a given file that is not root metadata.
    static func givenRoot(_ given: (path: String, bytes: [UInt8]), pinned: [UInt8], updater: Updater, earlier: (Int64) -> [UInt8]?,
                          repository: String, pinDirectory: String) throws(TrustError) -> Int64 {
        let startVersion = (try? Metadata<Root>(bytes: pinned, file: "root.json").signed.header.version) ?? 1
        let agreement: RootPin.Agreement
        do {
            agreement = try RootPin.compare(given: given.bytes) { v in
                if let b = updater.verifiedRoot(version: v) { return b }
                return v < startVersion ? earlier(v) : nil
            }
        } catch { throw TrustError.tuf(error) }
        switch agreement {
        case .differs:
            throw TrustError.rootDisagrees(repository: repository, given: given.path, givenRoot: RootPin.describe(given.bytes),
                                           pinned: RootPin.describe(pinned), directory: pinDirectory)
        case .inChain(let v):
            return v
        }
    }
}
