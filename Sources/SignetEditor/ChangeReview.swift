import SignetCrypto
import SignetJSON
import SignetTUF

/// What a staged change does, spelled out for the people asked to sign it: computed from the current
/// verified state and the checked change, never from descriptions that came with it.
public struct ChangeReview: Sendable {
    /// A target added, removed or pointed elsewhere.
    public struct TargetChange: Sendable {
        public enum Kind: String, Sendable { case added, removed, changed }
        public let kind: Kind
        public let path: String
        public let oldSHA256: String?
        public let newSHA256: String?
        public let newLength: Int64?
    }

    /// Keys and threshold of one role before and after.
    public struct KeyChange: Sendable {
        /// The role whose keys change (a top-level role, or a delegated role with its delegator).
        public let role: String
        public let added: [String]
        public let removed: [String]
        public let oldThreshold: Int?
        public let newThreshold: Int?
    }

    /// One changed metadata file.
    public struct FileChange: Sendable {
        public let role: String
        public let oldVersion: Int64?
        public let newVersion: Int64
        public let expires: String
        public let targets: [TargetChange]
        public let keys: [KeyChange]
        /// Other differences, in words (delegation paths, terminating flags, signer names, fields).
        public let other: [String]
    }

    /// Signatures of one role so far.
    public struct Signatures: Sendable {
        /// The role and, for root, which threshold ("root (version 3 keys)").
        public let role: String
        public let have: Int
        public let need: Int
        public let signedBy: [String]
        public let missing: [String]
        public var complete: Bool { have >= need }
    }

    /// The state the change was made on (equal to the current verified state, or the review would have failed).
    public let base: ChangeBase
    /// The changed files, root first.
    public let files: [FileChange]
    /// Signature status per role (root twice for a new root version: the old keys and the new ones).
    public let signatures: [Signatures]
    /// Target files published with the change.
    public let targetFiles: [String]
    /// Signer names by key ID, where known.
    public let signerNames: [String: String]

    /// Whether the change replaces root.
    public var changesRoot: Bool { files.contains { $0.role == "root" } }
    /// Whether every role has its threshold.
    public var fullySigned: Bool { signatures.allSatisfy(\.complete) }

    /// The review in words, one line per item.
    public func lines() -> [String] {
        func key(_ id: String) -> String { String(id.prefix(16)) + (signerNames[id].map { " (\($0))" } ?? "") }
        var out: [String] = []
        for f in files {
            out.append("\(f.role): version \(f.oldVersion.map(String.init) ?? "none") -> \(f.newVersion), expires \(f.expires)")
            for t in f.targets {
                switch t.kind {
                case .added: out.append("  + tag/target \"\(t.path)\" -> sha256:\(t.newSHA256 ?? "?") (\(t.newLength ?? 0) bytes)")
                case .removed: out.append("  - tag/target \"\(t.path)\" (was sha256:\(t.oldSHA256 ?? "?"))")
                case .changed: out.append("  ~ tag/target \"\(t.path)\" moves sha256:\(t.oldSHA256 ?? "?") -> sha256:\(t.newSHA256 ?? "?")")
                }
            }
            for k in f.keys {
                for id in k.added { out.append("  + key \(key(id)) for \(k.role)") }
                for id in k.removed { out.append("  - key \(key(id)) from \(k.role)") }
                if k.oldThreshold != k.newThreshold {
                    out.append("  ~ threshold of \(k.role): \(k.oldThreshold.map(String.init) ?? "none") -> \(k.newThreshold.map(String.init) ?? "none")")
                }
            }
            for o in f.other { out.append("  ~ \(o)") }
            if f.targets.isEmpty && f.keys.isEmpty && f.other.isEmpty { out.append("  (content unchanged: renewed)") }
        }
        for t in targetFiles { out.append("target file published with it: \(t)") }
        for s in signatures {
            out.append("signatures of \(s.role): \(s.have) of \(s.need)"
                       + (s.signedBy.isEmpty ? "" : "; signed by " + s.signedBy.map(key).joined(separator: ", "))
                       + (s.complete ? "" : "; may still sign: " + s.missing.map(key).joined(separator: ", ")))
        }
        return out
    }

    /// The review as JSON (camelCase).
    public var json: JSONValue {
        var o = JSONObject()
        var b = JSONObject()
        b["rootVersion"] = .integer(base.root.version)
        var roles = JSONObject()
        for (name, f) in base.roles.sorted(by: { $0.key < $1.key }) { roles[name] = .integer(f.version) }
        b["roleVersions"] = .object(roles)
        if let s = base.source { b["source"] = .string(s) }
        o["base"] = .object(b)
        o["changesRoot"] = .bool(changesRoot)
        o["files"] = .array(files.map { f in
            var x = JSONObject()
            x["role"] = .string(f.role)
            x["oldVersion"] = f.oldVersion.map { .integer($0) } ?? .null
            x["newVersion"] = .integer(f.newVersion)
            x["expires"] = .string(f.expires)
            x["targets"] = .array(f.targets.map { t in
                var y = JSONObject()
                y["change"] = .string(t.kind.rawValue)
                y["path"] = .string(t.path)
                y["oldDigest"] = t.oldSHA256.map { .string("sha256:" + $0) } ?? .null
                y["newDigest"] = t.newSHA256.map { .string("sha256:" + $0) } ?? .null
                y["newSize"] = t.newLength.map { .integer($0) } ?? .null
                return .object(y)
            })
            x["keys"] = .array(f.keys.map { k in
                var y = JSONObject()
                y["role"] = .string(k.role)
                y["added"] = .array(k.added.map { .string($0) })
                y["removed"] = .array(k.removed.map { .string($0) })
                y["oldThreshold"] = k.oldThreshold.map { .integer(Int64($0)) } ?? .null
                y["newThreshold"] = k.newThreshold.map { .integer(Int64($0)) } ?? .null
                return .object(y)
            })
            x["other"] = .array(f.other.map { .string($0) })
            return .object(x)
        })
        o["signatures"] = .array(signatures.map { s in
            var y = JSONObject()
            y["role"] = .string(s.role)
            y["have"] = .integer(Int64(s.have))
            y["need"] = .integer(Int64(s.need))
            y["signedBy"] = .array(s.signedBy.map { .string($0) })
            y["missing"] = .array(s.missing.map { .string($0) })
            return .object(y)
        })
        o["fullySigned"] = .bool(fullySigned)
        o["targetFiles"] = .array(targetFiles.map { .string($0) })
        var names = JSONObject()
        for (id, n) in signerNames.sorted(by: { $0.key < $1.key }) { names[id] = .string(n) }
        o["signerNames"] = .object(names)
        return .object(o)
    }
}

extension RepositoryEditor {
    /// Checks a staged change against the current verified state (see `signStaged`) and describes what
    /// it does and who has signed it. Nothing is signed.
    /// - Throws: `RepositoryError.stagedBaseMoved`, `.invalidStagedChange`.
    public func review(_ change: StagedChange) throws(RepositoryError) -> ChangeReview {
        let c = try check(change)
        guard let base else { throw RepositoryError.invalidStagedChange("there is no published state to apply it to") }
        // Signer names as the published state gives them; a name only the change gives is shown as such
        // (a change could otherwise show its own new key under a trusted signer's name).
        func signerNames(_ metadata: [Targets]) -> [String: String] {
            var out: [String: String] = [:]
            for m in metadata {
                for r in m.delegations?.roles ?? [] {
                    for n in r.unknown[RepositoryEditor.signerNamesField]?.objectValue ?? JSONObject() {
                        if let id = n.value.stringValue { out[id] = n.key }
                    }
                }
            }
            return out
        }
        var names = signerNames(roles.values.map(\.signed))
        for (id, name) in signerNames(c.roles.map(\.metadata.signed)) where names[id] == nil {
            names[id] = name + ", named by this change"
        }
        var files: [ChangeReview.FileChange] = []
        var signatures: [ChangeReview.Signatures] = []
        if let r = c.root {
            files.append(RepositoryEditor.rootChange(from: root, to: r))
            let message = (try? r.canonicalSigned()) ?? []
            for (label, roleDef, keys) in [("root (version \(root.signed.header.version) keys)", root.signed.roles["root"], root.signed.keyMap),
                                           ("root (version \(r.signed.header.version) keys)", r.signed.roles["root"], r.signed.keyMap)] {
                guard let roleDef else { continue }
                let signed = validSigners(message: message, signatures: r.signatures, role: roleDef, keys: keys)
                signatures.append(.init(role: label, have: signed.count, need: roleDef.threshold, signedBy: signed,
                                        missing: roleDef.keyIDs.filter { !signed.contains($0) }))
            }
        }
        for (name, m) in c.roles {
            files.append(RepositoryEditor.roleChange(name: name, from: roles[ByteKey(name)], to: m))
            if let (keys, roleDef) = RepositoryEditor.keysAndRole(for: name, root: c.mergedRoot, roles: c.mergedRoles) {
                let signed = validSigners(message: (try? m.canonicalSigned()) ?? [], signatures: m.signatures, role: roleDef, keys: keys)
                signatures.append(.init(role: name, have: signed.count, need: roleDef.threshold, signedBy: signed,
                                        missing: roleDef.keyIDs.filter { !signed.contains($0) }))
            }
        }
        return ChangeReview(base: base, files: files, signatures: signatures, targetFiles: c.targetContents.map(\.path), signerNames: names)
    }

    /// Keys that differ between two key lists, compared by key material.
    static func keyDifference(role: String, old: RoleKeys?, oldKeys: [ByteKey: Key], new: RoleKeys?, newKeys: [ByteKey: Key]) -> ChangeReview.KeyChange? {
        let oldIDs = old?.keyIDs ?? [], newIDs = new?.keyIDs ?? []
        let oldIdentities = Set(oldIDs.map { oldKeys[ByteKey($0)]?.identity ?? Array($0.utf8) })
        let newIdentities = Set(newIDs.map { newKeys[ByteKey($0)]?.identity ?? Array($0.utf8) })
        let added = newIDs.filter { !oldIdentities.contains(newKeys[ByteKey($0)]?.identity ?? Array($0.utf8)) }
        let removed = oldIDs.filter { !newIdentities.contains(oldKeys[ByteKey($0)]?.identity ?? Array($0.utf8)) }
        guard !added.isEmpty || !removed.isEmpty || old?.threshold != new?.threshold else { return nil }
        return ChangeReview.KeyChange(role: role, added: added, removed: removed, oldThreshold: old?.threshold, newThreshold: new?.threshold)
    }

    static func rootChange(from old: Metadata<Root>, to new: Metadata<Root>) -> ChangeReview.FileChange {
        var keys: [ChangeReview.KeyChange] = []
        for role in Root.topLevelRoles {
            if let k = keyDifference(role: role, old: old.signed.roles[role], oldKeys: old.signed.keyMap,
                                     new: new.signed.roles[role], newKeys: new.signed.keyMap) { keys.append(k) }
        }
        var other: [String] = []
        if old.signed.consistentSnapshot != new.signed.consistentSnapshot { other.append("consistent_snapshot: \(old.signed.consistentSnapshot) -> \(new.signed.consistentSnapshot)") }
        other += fieldChanges(old.signed.unknown, new.signed.unknown, what: "root field")
        return ChangeReview.FileChange(role: "root", oldVersion: old.signed.header.version, newVersion: new.signed.header.version,
                                       expires: new.signed.header.expires, targets: [], keys: keys, other: other)
    }

    static func roleChange(name: String, from old: Metadata<Targets>?, to new: Metadata<Targets>) -> ChangeReview.FileChange {
        var targets: [ChangeReview.TargetChange] = []
        let oldPaths = old?.signed.targetPaths ?? []
        let newPaths = new.signed.targetPaths
        let oldSet = Set(oldPaths.map { ByteKey($0) })
        for path in newPaths.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let n = try? new.signed.target(path)
            let newHash = n.flatMap { $0.hashes.first { $0.0 == "sha256" }?.1 }
            if oldSet.contains(ByteKey(path)), let o = try? old?.signed.target(path) {
                let oldHash = o.hashes.first { $0.0 == "sha256" }?.1
                if oldHash != newHash || o.length != n?.length || (o.custom.map { try? CanonicalJSON.encode($0) } ?? nil) != (n?.custom.map { try? CanonicalJSON.encode($0) } ?? nil) {
                    targets.append(.init(kind: .changed, path: path, oldSHA256: oldHash, newSHA256: newHash, newLength: n?.length))
                }
            } else {
                targets.append(.init(kind: .added, path: path, oldSHA256: nil, newSHA256: newHash, newLength: n?.length))
            }
        }
        let newSet = Set(newPaths.map { ByteKey($0) })
        for path in oldPaths.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where !newSet.contains(ByteKey(path)) {
            let o = try? old?.signed.target(path)
            targets.append(.init(kind: .removed, path: path, oldSHA256: o.flatMap { $0.hashes.first { $0.0 == "sha256" }?.1 }, newSHA256: nil, newLength: nil))
        }
        var keys: [ChangeReview.KeyChange] = []
        var other: [String] = []
        let od = old?.signed.delegations, nd = new.signed.delegations
        let oldRoles = od?.roles ?? [], newRoles = nd?.roles ?? []
        for r in newRoles {
            let before = oldRoles.first { ByteKey($0.name) == ByteKey(r.name) }
            if before == nil { other.append("delegates to new role \"\(r.name)\" (paths \(r.paths ?? r.pathHashPrefixes ?? []), threshold \(r.threshold))") }
            if let k = keyDifference(role: "\(r.name) (delegated by \(name))", old: before?.roleKeys, oldKeys: od?.keyMap ?? [:], new: r.roleKeys, newKeys: nd?.keyMap ?? [:]) {
                keys.append(k)
            }
            if let before {
                if before.paths != r.paths || before.pathHashPrefixes != r.pathHashPrefixes {
                    other.append("paths of \"\(r.name)\": \(before.paths ?? before.pathHashPrefixes ?? []) -> \(r.paths ?? r.pathHashPrefixes ?? [])")
                }
                if before.terminating != r.terminating { other.append("terminating of \"\(r.name)\": \(before.terminating) -> \(r.terminating)") }
                other += fieldChanges(before.unknown, r.unknown, what: "field of \"\(r.name)\"")
            }
        }
        for r in oldRoles where !newRoles.contains(where: { ByteKey($0.name) == ByteKey(r.name) }) {
            other.append("no longer delegates to \"\(r.name)\"")
        }
        if let ob = od?.succinctRoles, nd?.succinctRoles == nil { other.append("hash bins \"\(ob.namePrefix)\" removed") }
        if let nb = nd?.succinctRoles {
            let ob = od?.succinctRoles
            if ob == nil || ob?.bitLength != nb.bitLength || ob?.namePrefix != nb.namePrefix {
                other.append("hash bins \"\(nb.namePrefix)\" (\(nb.binCount) bins)")
            }
            if let k = keyDifference(role: "bins \(nb.namePrefix)-*", old: ob.map { RoleKeys(keyIDs: $0.keyIDs, threshold: $0.threshold) }, oldKeys: od?.keyMap ?? [:],
                                     new: RoleKeys(keyIDs: nb.keyIDs, threshold: nb.threshold), newKeys: nd?.keyMap ?? [:]) { keys.append(k) }
        }
        other += fieldChanges(old?.signed.unknown ?? JSONObject(), new.signed.unknown, what: "field")
        return ChangeReview.FileChange(role: name, oldVersion: old?.signed.header.version, newVersion: new.signed.header.version,
                                       expires: new.signed.header.expires, targets: targets, keys: keys, other: other)
    }

    static func fieldChanges(_ old: JSONObject, _ new: JSONObject, what: String) -> [String] {
        var out: [String] = []
        var names: [String] = []
        for m in old where !names.contains(m.key) { names.append(m.key) }
        for m in new where !names.contains(m.key) { names.append(m.key) }
        for name in names {
            let a = old[name].flatMap { try? CanonicalJSON.encode($0) }
            let b = new[name].flatMap { try? CanonicalJSON.encode($0) }
            if a != b {
                let text = { (v: [UInt8]?) -> String in v.map { String(decoding: $0, as: UTF8.self) } ?? "(none)" }
                out.append("\(what) \(name): \(text(a)) -> \(text(b))")
            }
        }
        return out
    }
}
