import SignetFiles

/// One targets role of a `VerifiedRepository`: the exact bytes that verified, and their parsed form.
public struct VerifiedRole: Sendable {
    /// The role's name ("targets" for the top-level one).
    public let name: String
    /// The role that delegates to it (nil for the top-level targets).
    public let delegator: String?
    /// The file's bytes as received and verified.
    public let bytes: [UInt8]
    /// The parsed, verified metadata.
    public let metadata: Metadata<Targets>
}

/// The complete trusted state of a repository, every file verified by the TUF client workflow: the
/// chain of root versions from version 1, the timestamp, the snapshot and every targets role the
/// snapshot lists and the delegation graph reaches.
///
/// Only `Updater.verifiedRepository(earlierRoots:)` creates one, after the files verified, so a value
/// of this type is proof that its content is trusted; the repository editor can be built only from one
/// (or from scratch). Nothing in it comes from an unverified file.
public struct VerifiedRepository: Sendable {
    /// Root versions 1 … N, in order, as received.
    public let rootChain: [[UInt8]]
    /// The timestamp as received.
    public let timestamp: [UInt8]
    /// The snapshot as received.
    public let snapshot: [UInt8]
    /// Targets roles: the top-level targets first, then delegated roles breadth-first.
    public let roles: [VerifiedRole]
    /// The trusted set that verified all of it (its reference time, and what it accepted although expired).
    public let trusted: TrustedMetadataSet

    init(rootChain: [[UInt8]], timestamp: [UInt8], snapshot: [UInt8], roles: [VerifiedRole], trusted: TrustedMetadataSet) {
        self.rootChain = rootChain
        self.timestamp = timestamp
        self.snapshot = snapshot
        self.roles = roles
        self.trusted = trusted
    }

    /// The trusted root.
    public var root: Metadata<Root> { trusted.root }

    /// The file name and bytes of every file of this state, as a repository with consistent snapshots
    /// lists them: `N.root.json` for every root version, `timestamp.json`, `V.snapshot.json` and
    /// `V.<percent-encoded role>.json` for each targets role.
    public var files: [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (i, b) in rootChain.enumerated() { out.append(("\(i + 1).root.json", b)) }
        out.append(("timestamp.json", timestamp))
        if let snap = trusted.snapshot { out.append(("\(snap.signed.header.version).snapshot.json", snapshot)) }
        for r in roles { out.append(("\(r.metadata.signed.header.version).\(PercentEncoding.encode(r.name)).json", r.bytes)) }
        return out
    }
}
