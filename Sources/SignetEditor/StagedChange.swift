import SignetCrypto
import SignetFiles
import SignetJSON
import SignetTUF

/// The verified state a change was made on: the root version and every targets role, each with the
/// SHA-256 of its file. A change is valid while the roles it re-signs are exactly as recorded here;
/// timestamp, snapshot and the other roles may move on meanwhile (they are re-made or kept whenever the
/// change is published), so renewals and unrelated changes do not invalidate a change that waits.
public struct ChangeBase: Sendable, Equatable {
    /// One file of the base.
    public struct File: Sendable, Equatable {
        public let version: Int64
        public let sha256: String
        public init(version: Int64, sha256: String) {
            self.version = version
            self.sha256 = sha256
        }
    }

    /// The trusted root.
    public var root: File
    /// Every targets role by name.
    public var roles: [String: File]
    /// Where the state was read from (for example the trust index digest); shown, not compared.
    public var source: String?

    public init(root: File, roles: [String: File], source: String? = nil) {
        self.root = root
        self.roles = roles
        self.source = source
    }

    public static func == (a: ChangeBase, b: ChangeBase) -> Bool { a.root == b.root && a.roles == b.roles }

    /// What differs between `self` (what a change was made on) and `current`, in words; empty when equal.
    /// - Parameter only: when given, the roles to compare ("root" for the root); others are ignored.
    public func differences(from current: ChangeBase, only: Set<String>? = nil) -> [String] {
        var out: [String] = []
        if only?.contains("root") ?? true, root != current.root {
            out.append("root is at version \(current.root.version) now, the change was made on version \(root.version)"
                       + (root.version == current.root.version ? " with other content" : ""))
        }
        for name in Set(roles.keys).union(current.roles.keys).sorted() where only?.contains(name) ?? true {
            switch (roles[name], current.roles[name]) {
            case (let a?, let b?) where a != b:
                out.append("\(name) is at version \(b.version) now, the change was made on version \(a.version)" + (a.version == b.version ? " with other content" : ""))
            case (nil, let b?): out.append("\(name) (version \(b.version)) did not exist when the change was made")
            case (let a?, nil): out.append("\(name) (version \(a.version) when the change was made) no longer exists")
            default: break
            }
        }
        return out
    }

    var json: JSONValue {
        var o = JSONObject()
        o["root"] = .object(fileJSON(root))
        var r = JSONObject()
        for (name, f) in roles { r[name] = .object(fileJSON(f)) }
        o["roles"] = .object(r)
        if let source { o["source"] = .string(source) }
        return .object(o)
    }

    private func fileJSON(_ f: File) -> JSONObject {
        var o = JSONObject()
        o["version"] = .integer(f.version)
        o["sha256"] = .string(f.sha256)
        return o
    }

    init(json: JSONValue) throws(RepositoryError) {
        func file(_ v: JSONValue?, _ what: String) throws(RepositoryError) -> File {
            guard case .integer(let version)? = v?["version"], version >= 1, let sha = v?["sha256"]?.stringValue,
                  sha.utf8.count == 64, Hex.decode(sha, lowercaseOnly: true) != nil else {
                throw RepositoryError.invalidStagedChange("\(StagedChange.descriptionFileName): \(what) needs a version and a lowercase sha256")
            }
            return File(version: version, sha256: sha)
        }
        root = try file(json["root"], "root")
        guard let r = json["roles"]?.objectValue else { throw RepositoryError.invalidStagedChange("\(StagedChange.descriptionFileName) lists no roles") }
        var roles: [String: File] = [:]
        for m in r { roles[m.key] = try file(m.value, "role \(m.key)") }
        self.roles = roles
        source = json["source"]?.stringValue
    }
}

/// A change signed as far as the keys at hand allowed, waiting for other key holders: the new signed
/// role files, the state it was made on, and (for repositories on disk) the target files it adds.
/// Stored as the role files plus `staged-change.json` describing the base; everything in it is
/// untrusted until `RepositoryEditor.review(_:)` has checked it against the current verified state.
public struct StagedChange: Sendable {
    /// Name of the file that describes the change's base.
    public static let descriptionFileName = "staged-change.json"
    /// Most files one staged change may hold.
    public static let maxFiles = 1 << 17

    /// The state the change was made on.
    public var base: ChangeBase
    /// Signed role files (`N.root.json`, `V.<role>.json`).
    public var files: [(name: String, bytes: [UInt8])]
    /// Target files the change publishes (repositories on disk).
    public var targetContents: [(path: String, bytes: [UInt8])]
    /// The signatures still missing when it was staged here (not stored; `review` recomputes them).
    public var shortfalls: [SignatureShortfall]

    public init(base: ChangeBase, files: [(name: String, bytes: [UInt8])], targetContents: [(path: String, bytes: [UInt8])] = [],
                shortfalls: [SignatureShortfall] = []) {
        self.base = base
        self.files = files
        self.targetContents = targetContents
        self.shortfalls = shortfalls
    }

    /// The files to store: the role files and the description.
    public var storedFiles: [(name: String, bytes: [UInt8])] {
        var description = JSONObject()
        description["format"] = .integer(1)
        description["base"] = base.json
        let bytes = (try? CanonicalJSON.encode(.object(description))) ?? []
        return files + [(StagedChange.descriptionFileName, bytes)]
    }

    /// Reads a stored change from its files (as listed in a staged index or a staged directory).
    /// Names are checked; contents are checked later by `RepositoryEditor.review(_:)`.
    /// - Throws: `RepositoryError.invalidStagedChange`.
    public init(storedFiles: [(name: String, bytes: [UInt8])], targetContents: [(path: String, bytes: [UInt8])] = []) throws(RepositoryError) {
        guard storedFiles.count <= StagedChange.maxFiles else { throw RepositoryError.invalidStagedChange("more than \(StagedChange.maxFiles) files") }
        var description: [UInt8]?
        var files: [(String, [UInt8])] = []
        var names: Set<String> = []
        for (name, bytes) in storedFiles {
            guard SafeName.isFileName(name), names.insert(name).inserted else {
                throw RepositoryError.invalidStagedChange("file name \"\(name)\" is not usable or listed twice")
            }
            if name == StagedChange.descriptionFileName { description = bytes } else { files.append((name, bytes)) }
        }
        guard let description else { throw RepositoryError.invalidStagedChange("it has no \(StagedChange.descriptionFileName) naming the state it was made on") }
        let value: JSONValue
        do { value = try JSONParser.parse(description, limits: JSONLimits(maxBytes: 1 << 24, maxDepth: 8)) } catch {
            throw RepositoryError.invalidStagedChange("\(StagedChange.descriptionFileName) is not valid JSON: \(error)")
        }
        guard case .integer(1)? = value["format"], let base = value["base"] else {
            throw RepositoryError.invalidStagedChange("\(StagedChange.descriptionFileName) has an unknown format")
        }
        for (path, _) in targetContents where !SafeName.isRelativePath(path) {
            throw RepositoryError.invalidStagedChange("target file name \"\(path)\" is not a safe relative path")
        }
        self.base = try ChangeBase(json: base)
        self.files = files.sorted { $0.0 < $1.0 }
        self.targetContents = targetContents
        shortfalls = []
    }
}
