import FoundationEssentials
import Glibc
import SignetFiles
import SignetJSON
import SignetKeys
import SignetTUF

/// Which keys the trust data pinned on this machine names, and for what: a key named by a repository's
/// current root (for a top-level role) or by a delegation in its targets metadata is in use there.
public struct KeyUsage: Sendable {
    /// One use of a key.
    public struct Use: Sendable, Equatable {
        public let repository: String
        public let role: String
    }

    /// Uses by key ID.
    public let uses: [String: [Use]]
    /// Keys a change this machine staged names (by key ID: the repositories), recorded when it was
    /// staged: such a change may still wait for signatures, and publishing it needs them.
    public var waiting: [String: [String]] = [:]

    /// The file in a pin directory that lists the keys of this store a staged change names.
    public static let waitingKeysFile = "waiting-change-keys.json"

    /// Reads every repository pinned under `home` (`$SIGNET_HOME/trust/<registry>/<name>/`). Files that
    /// do not parse are skipped (they are verified, and reported, when the repository is used).
    public static func scan(home: String) -> KeyUsage {
        var uses: [String: [Use]] = [:]
        var waiting: [String: [String]] = [:]
        let base = home + "/trust"
        let registries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for registry in registries.sorted() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: base + "/" + registry)) ?? []
            for name in names.sorted() {
                let dir = base + "/" + registry + "/" + name
                let repository = (PercentEncoding.decode(registry) ?? registry) + "/" + (PercentEncoding.decode(name) ?? name)
                if let bytes = try? AtomicFile.readRegularFile(dir + "/" + waitingKeysFile, limit: 1 << 20), let json = try? JSONParser.parse(bytes) {
                    for id in json["keyIDs"]?.arrayValue?.compactMap(\.stringValue) ?? [] { waiting[id, default: []].append(repository) }
                }
                guard let rootBytes = try? AtomicFile.read(dir + "/root.json", limit: 1 << 20),
                      let root = try? Metadata<Root>(bytes: rootBytes, file: "root.json") else { continue }
                for (role, keys) in root.signed.roles.sorted(by: { $0.key < $1.key }) {
                    for id in keys.keyIDs { uses[id, default: []].append(Use(repository: repository, role: role)) }
                }
                for file in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where file.hasSuffix(".json") {
                    guard !["root.json", "timestamp.json", "snapshot.json"].contains(file),
                          let bytes = try? AtomicFile.read(dir + "/" + file, limit: 64 << 20),
                          let targets = try? Metadata<Targets>(bytes: bytes, file: file, lazy: true) else { continue }
                    for d in targets.signed.delegations?.roles ?? [] {
                        for id in d.keyIDs { uses[id, default: []].append(Use(repository: repository, role: d.name)) }
                    }
                }
            }
        }
        var usage = KeyUsage(uses: uses)
        usage.waiting = waiting
        return usage
    }
}
