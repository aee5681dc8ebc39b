import FoundationEssentials
import Glibc
import SignetCrypto
import SignetEditor
import SignetFiles
import SignetJSON
import SignetOCI
import SignetTUF

/// A machine's trust policy (`docs/policy.md`): which repositories must be signed, by which roots and
/// signers, which are refused outright, which may be used unsigned, and which names are mirrors of
/// another repository's trust identity. Read strictly; any unknown field or value is an error.
public struct TrustPolicy: Sendable {
    /// What happens to a reference.
    public enum Decision: String, Sendable {
        /// Never used.
        case reject
        /// Only through its repository's trust data (the default for a rule).
        case requireSigned = "require-signed"
        /// Through trust data when the repository has any; otherwise used unverified, with a warning.
        case allowUnsigned = "allow-unsigned"
    }

    /// One rule, for the repositories its pattern matches.
    public struct Rule: Sendable {
        /// `REGISTRY/NAME`, with `*` (any characters but `/`) and `**` (any characters).
        public let pattern: String
        public let decision: Decision
        /// Root files trusted for the repository (the first time, and as versions of the pinned chain).
        public let roots: [String]
        /// Root key IDs: the trusted root must be signed by its threshold of these.
        public let rootKeyIDs: [String]
        /// Signer names (of `releases`) that must have signed the tag; `threshold` of them.
        public let signers: [String]
        public let threshold: Int
        /// The trust identity of the original repository, for a mirror's copy.
        public let sameAs: String?
        /// For layouts exported to sites without network: a timestamp that expired after the export is
        /// accepted while the export is at most this many days old (`docs/policy.md`, SECURITY.md).
        public let exportValidityDays: Int?

        /// Literal characters in the pattern (more is more specific).
        var specificity: Int { pattern.filter { $0 != "*" }.count + (pattern.contains("*") ? 0 : 10_000) }

        /// Whether the pattern matches `name` (`REGISTRY/NAME`).
        public func matches(_ name: String) -> Bool {
            TrustPolicy.glob(Array(TrustPolicy.canonicalRegistry(pattern).utf8)[...], Array(TrustPolicy.canonicalRegistry(name).utf8)[...])
        }
    }

    public let defaultDecision: Decision
    public let rules: [Rule]
    /// Where it was read from.
    public let source: String

    /// Parses a policy document.
    /// - Throws: `TrustError.usage` naming what is wrong and where.
    public init(bytes: [UInt8], source: String) throws(TrustError) {
        func bad(_ what: String) -> TrustError { .usage("\(source): \(what) (see docs/policy.md)") }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 8)) } catch { throw bad("not valid JSON: \(error)") }
        guard case .object(let top) = value else { throw bad("the policy must be a JSON object") }
        for key in top.keys where !["version", "default", "repositories"].contains(key) { throw bad("unknown field \"\(key)\"") }
        if let v = top["version"], v != .integer(1) { throw bad("\"version\" must be 1") }
        guard let d = top["default"]?.stringValue, let decision = Decision(rawValue: d) else {
            throw bad("\"default\" must be \"reject\", \"require-signed\" or \"allow-unsigned\"")
        }
        var rules: [Rule] = []
        for (pattern, body) in top["repositories"]?.objectValue ?? JSONObject() {
            guard case .object(let o) = body else { throw bad("the rule for \"\(pattern)\" must be an object") }
            for key in o.keys where !["decision", "roots", "rootKeyIDs", "signers", "threshold", "sameAs", "exportValidityDays"].contains(key) {
                throw bad("unknown field \"\(key)\" in the rule for \"\(pattern)\"")
            }
            guard pattern.contains("/"), pattern.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !pattern.contains("***") else {
                throw bad("\"\(pattern)\" is not a REGISTRY/NAME pattern")
            }
            try TrustPolicy.checkPattern(pattern, bad)
            func strings(_ key: String) throws(TrustError) -> [String] {
                guard let v = o[key] else { return [] }
                guard let a = v.arrayValue else { throw bad("\"\(key)\" of \"\(pattern)\" must be a list of strings") }
                var out: [String] = []
                for item in a {
                    guard let s = item.stringValue, !s.isEmpty else { throw bad("\"\(key)\" of \"\(pattern)\" must be a list of strings") }
                    out.append(s)
                }
                return out
            }
            var ruleDecision = Decision.requireSigned
            if let text = o["decision"] {
                guard let s = text.stringValue, let dd = Decision(rawValue: s) else { throw bad("\"decision\" of \"\(pattern)\" is not reject, require-signed or allow-unsigned") }
                ruleDecision = dd
            }
            let roots = try strings("roots"), keyIDs = try strings("rootKeyIDs"), signers = try strings("signers")
            for id in keyIDs where id.utf8.count != 64 || Hex.decode(id, lowercaseOnly: true) == nil {
                throw bad("root key ID \"\(id)\" of \"\(pattern)\" is not 64 lowercase hex digits")
            }
            var threshold = signers.count
            if let t = o["threshold"] {
                guard case .integer(let n) = t, n >= 1, n <= max(1, signers.count) else {
                    throw bad("\"threshold\" of \"\(pattern)\" must be between 1 and the number of signers named")
                }
                threshold = Int(n)
            }
            var validity: Int?
            if let v = o["exportValidityDays"] {
                guard case .integer(let n) = v, n >= 0, n <= 3650 else { throw bad("\"exportValidityDays\" of \"\(pattern)\" must be 0 to 3650") }
                validity = Int(n)
            }
            var sameAs: String?
            if let s = o["sameAs"] {
                guard let text = s.stringValue, let r = try? ImageReference(parsing: text), r.tag == nil, r.digest == nil else {
                    throw bad("\"sameAs\" of \"\(pattern)\" must be a repository REGISTRY/NAME")
                }
                sameAs = r.name
            }
            rules.append(Rule(pattern: pattern, decision: ruleDecision, roots: roots, rootKeyIDs: keyIDs, signers: signers, threshold: threshold,
                              sameAs: sameAs, exportValidityDays: validity))
        }
        defaultDecision = decision
        self.rules = rules
        self.source = source
    }

    /// A rule that could never match would leave its repositories to the default without a word, so
    /// a pattern must be a repository name as references spell it, with wildcards: the registry
    /// written out, no scheme, tag, digest, upper-case or empty component. It is checked by parsing
    /// it with each `*` of the path read as a name character (a wildcard host is checked on its own).
    static func checkPattern(_ pattern: String, _ bad: (String) -> TrustError) throws(TrustError) {
        guard let slash = pattern.firstIndex(of: "/") else { throw bad("\"\(pattern)\" is not a REGISTRY/NAME pattern") }
        func filled<S: StringProtocol>(_ text: S, with character: Character) -> String { String(text.map { $0 == "*" ? character : $0 }) }
        let registryPart = pattern[..<slash]
        let registry: String
        if registryPart.contains("*") {
            // A wildcard host (`*/team/app`, `**/app`, `10.0.*.1:5000/…`) stands for registries of any
            // spelling: its letters must still be those of host names; the path is checked as usual.
            guard registryPart.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || [0x2A, 0x2E, 0x2D, 0x3A, 0x5B, 0x5D].contains($0) }) else {
                throw bad("\"\(pattern)\" can never match a repository: its registry part \"\(registryPart)\" holds characters no lower-case host name has")
            }
            // An IPv6 address is matched in its one written form: no wildcard inside it, and no other form.
            if registryPart.hasPrefix("["), let close = registryPart.firstIndex(of: "]") {
                let inside = String(registryPart[registryPart.index(after: registryPart.startIndex)..<close])
                guard !inside.contains("*"), let canonical = ImageReference.canonicalIPv6(inside), canonical == inside else {
                    throw bad("\"\(pattern)\" can never match a repository: write the IPv6 address in full, in its short form (as references are read, for example [::1])")
                }
            }
            registry = "registry.example"
        } else {
            registry = String(registryPart)
        }
        let sample = registry + filled(pattern[slash...], with: "x")
        let reference: ImageReference
        do { reference = try ImageReference(parsing: sample) } catch {
            if case .invalidReference(_, let reason) = error { throw bad("\"\(pattern)\" can never match a repository: \(reason)") }
            throw bad("\"\(pattern)\" is not a REGISTRY/NAME pattern")
        }
        guard reference.tag == nil, reference.digest == nil else {
            throw bad("\"\(pattern)\" names a tag or digest; a rule covers whole repositories (write \"\(reference.name)\" without it)")
        }
        guard let sampleSlash = sample.firstIndex(of: "/"), reference.repository == sample[sample.index(after: sampleSlash)...] else {
            throw bad("\"\(pattern)\" does not name its registry as references are read (it stands for \"\(reference.name)\"); write the registry out, for example \"docker.io/library/…\" for Docker Hub")
        }
    }

    /// The rule for `name` (`REGISTRY/NAME`): an exact pattern first, then the pattern with the most
    /// literal characters; nil when only the default applies.
    public func rule(for name: String) -> Rule? {
        rules.filter { $0.matches(name) }.max { $0.specificity < $1.specificity }
    }

    /// The decision for `name`.
    public func decision(for name: String) -> Decision { rule(for: name)?.decision ?? defaultDecision }

    /// The policy in force: `file` when given, else `$SIGNET_HOME/policy.json`, else `/etc/signet/policy.json`;
    /// nil when there is none.
    /// - Throws: `TrustError.usage` for a policy that cannot be read or parsed (never ignored).
    public static func load(file: String?, home: String, system: String = "/etc/signet/policy.json") throws(TrustError) -> TrustPolicy? {
        let candidates = file.map { [$0] } ?? [home + "/policy.json", system]
        for path in candidates {
            let bytes: [UInt8]?
            do { bytes = try AtomicFile.read(path, limit: 1 << 20) } catch { throw TrustError.file(error) }
            if let bytes { return try TrustPolicy(bytes: bytes, source: path) }
            if file != nil { throw TrustError.usage("the policy file \(path) does not exist") }
        }
        return nil
    }

    /// `name` (`REGISTRY/PATH`, or a pattern of one) with the registry spelled one way, so that every
    /// spelling of a host that reaches the same registry meets the same rule: the host in lower case
    /// (host names are case-insensitive), without the default HTTPS port `:443`, and Docker Hub's other
    /// names (`index.docker.io`, `registry-1.docker.io`) as `docker.io`.
    static func canonicalRegistry(_ name: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return name }
        // Without wildcards, the registry is spelled as references spell it (IPv6 in its one form too).
        if !name[..<slash].contains("*") { return ImageReference.canonicalRegistry(String(name[..<slash])) + name[slash...] }
        var host = name[..<slash].lowercased()
        var port: String?
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            let digits = host[host.index(after: colon)...]
            host = String(host[..<colon])
            // A port is a number: `0443` is `443`. A pattern's `*` stays as written.
            port = Int(digits).map(String.init) ?? String(digits)
        }
        // `:443` is the default only where HTTPS is used: not on loopback, which is reached over HTTP.
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "[::1]"
        if port == "443" && !loopback { port = nil }
        if host == "index.docker.io" || host == "registry-1.docker.io" { host = ImageReference.dockerHub }
        return host + (port.map { ":" + $0 } ?? "") + name[slash...]
    }

    /// Glob match: `*` any run of bytes without `/`, `**` any run of bytes.
    static func glob(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == UInt8(ascii: "*") {
            let double = p.dropFirst().first == UInt8(ascii: "*")
            let rest = double ? p.dropFirst(2) : p.dropFirst()
            var i = s.startIndex
            while true {
                if glob(rest, s[i...]) { return true }
                guard i < s.endIndex, double || s[i] != UInt8(ascii: "/") else { return false }
                i += 1
            }
        }
        guard let c = s.first, c == first else { return false }
        return glob(p.dropFirst(), s.dropFirst())
    }
}

extension TrustPolicy.Rule {
    /// Checks what the rule asks of trust data that verified: the root signed by its threshold of the
    /// listed root key IDs, and the tag signed (in `releases`) by `threshold` of the named signers.
    /// - Throws: `TrustError.policy` naming what is missing.
    public func check(_ trust: RegistryTrust, state: TrustState, target: TrustedTarget) throws(TrustError) {
        let name = trust.reference.name
        if !rootKeyIDs.isEmpty {
            let root = state.updater.trusted.root
            guard let role = root.signed.roles["root"], let message = try? root.canonicalSigned() else {
                throw TrustError.policy("the root of \(name) has no root role")
            }
            var keys: [ByteKey: Key] = [:]
            for (id, key) in root.signed.keyMap where rootKeyIDs.contains(id.string) { keys[id] = key }
            let valid = validSigners(message: message, signatures: root.signatures, role: role, keys: keys)
            guard valid.count >= role.threshold else {
                throw TrustError.policy("the policy's rule \"\(pattern)\" requires the root of \(name) to be signed by \(role.threshold) of the root keys \(rootKeyIDs.map { String($0.prefix(12)) }.joined(separator: ", ")); \(valid.count) did")
            }
        }
        if !signers.isEmpty {
            let releases = "releases"
            guard let delegations = state.updater.trusted.targets?.signed.delegations,
                  let d = delegations.roles?.first(where: { $0.name == releases }) else {
                throw TrustError.policy("the policy's rule \"\(pattern)\" names signers, but \(name) has no releases delegation")
            }
            // The metadata that carries the tag: releases itself, or its hash bin for the tag once split
            // (bins are signed by the same keys, listed in releases' own delegations).
            var metadata: Metadata<Targets>
            var signerKeys = delegations.keyMap
            do {
                metadata = try state.updater.role(releases, delegator: "targets")
                if let split = metadata.signed.delegations, let bins = split.succinctRoles {
                    signerKeys = split.keyMap
                    metadata = try state.updater.role(bins.roleName(for: target.tag), delegator: releases)
                }
            } catch { throw TrustError.refreshFailed(error, repository: name) }
            guard ((try? metadata.signed.target(target.tag)) ?? nil)?.sha256 == target.digest else {
                throw TrustError.policy("the policy's rule \"\(pattern)\" requires \(target.tag) to be signed by signers \(signers.joined(separator: ", ")), but releases does not sign it")
            }
            var ids: [String: String] = [:]
            for m in d.unknown[RepositoryEditor.signerNamesField]?.objectValue ?? JSONObject() {
                if let id = m.value.stringValue, signers.contains(m.key), d.keyIDs.contains(id) { ids[id] = m.key }
            }
            let message: [UInt8]
            do { message = try metadata.canonicalSigned() } catch { throw TrustError.tuf(error) }
            let valid = validSigners(message: message, signatures: metadata.signatures, role: RoleKeys(keyIDs: Array(ids.keys), threshold: 1), keys: signerKeys)
            let who = Set(valid.compactMap { ids[$0] })
            guard who.count >= threshold else {
                throw TrustError.policy("the policy's rule \"\(pattern)\" requires \(target.tag) of \(name) to be signed by \(threshold) of \(signers.joined(separator: ", ")); signed by \(who.isEmpty ? "none of them" : who.sorted().joined(separator: ", "))")
            }
        }
    }
}
