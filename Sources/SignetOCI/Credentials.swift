import FoundationEssentials
import Glibc
import SignetPlatform
import SignetFiles
import SignetCrypto
import SignetJSON

/// Credentials for one registry. Secrets stay in `SecretBytes` (zeroed when released, redacted
/// when printed); they leave it only to build a request header.
public enum RegistryCredential: Sendable, CustomStringConvertible {
    /// A user name and password (HTTP basic auth, or the password grant of a token service).
    case basic(username: String, password: SecretBytes)
    /// An OAuth2 refresh token (`identitytoken` in Docker's `config.json`), exchanged at the token
    /// service with `grant_type=refresh_token`.
    case identityToken(SecretBytes)

    /// A redacted description: the user name for basic credentials, never a secret.
    public var description: String {
        switch self {
        case .basic(let username, _): return "basic credentials for user \(quoted(username))"
        case .identityToken: return "an identity token"
        }
    }
}

/// Where a `RegistryClient` gets credentials from. Called with the registry name as written in
/// references (`docker.io`, `host:port`).
public protocol CredentialProvider: Sendable {
    /// The credential for `registry`, or `nil` for anonymous access.
    ///
    /// - Throws: `OCIError.credentials` when a configured source fails (an unreadable config, a
    ///   credential helper that errors).
    func credential(for registry: String) throws(OCIError) -> RegistryCredential?
}

/// No credentials: anonymous access only.
public struct AnonymousCredentials: CredentialProvider {
    /// Creates the provider.
    public init() {}
    /// Always `nil`. Never throws.
    public func credential(for registry: String) throws(OCIError) -> RegistryCredential? { nil }
}

/// One fixed credential, e.g. from `--username` and `--password-stdin`.
public struct StaticCredentials: CredentialProvider {
    private let value: RegistryCredential
    private let registry: String?

    /// Uses `credential` for `registry`, or for every registry when `registry` is `nil`.
    public init(_ credential: RegistryCredential, registry: String? = nil) {
        self.value = credential
        self.registry = registry
    }

    /// The credential when the registry matches. Never throws.
    public func credential(for registry: String) throws(OCIError) -> RegistryCredential? {
        if let only = self.registry, only != registry { return nil }
        return value
    }
}

/// Credentials from a Docker `config.json`: `credHelpers` (per registry), then `credsStore` (all
/// registries), each through its `docker-credential-NAME get` program, then `auths` (base64
/// `user:password` in `auth`, or `username`/`password`, or `identitytoken`).
///
/// Keys of `auths` are matched after removing a `http://`/`https://` prefix and any path, and
/// `index.docker.io`, `registry-1.docker.io` and `https://index.docker.io/v1/` all mean `docker.io`.
public struct DockerConfigCredentials: CredentialProvider {
    /// The `config.json` path.
    public let configFile: String
    /// Directories searched for `docker-credential-*` programs (normally `$PATH`).
    public let searchPath: [String]

    /// The largest config file or helper answer read: 16 MiB.
    static let maxBytes = 16 << 20

    /// Reads credentials from `configFile`, looking for helper programs in `searchPath`.
    public init(configFile: String, searchPath: [String]) {
        self.configFile = configFile
        self.searchPath = searchPath
    }

    /// The config file Docker uses: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`;
    /// `nil` when neither variable is set.
    public static func defaultConfigFile(environment: [String: String]) -> String? {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty { return directory + "/config.json" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.docker/config.json" }
        return nil
    }

    /// Looks `registry` up as described on the type. A missing config file means no credentials.
    ///
    /// - Throws: `OCIError.credentials` for an unreadable or malformed config file, a helper name
    ///   with unsafe characters, a helper that cannot be found or run, or an unusable helper answer.
    public func credential(for registry: String) throws(OCIError) -> RegistryCredential? {
        guard FileManager.default.fileExists(atPath: configFile) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try readFileBounded(configFile, limit: DockerConfigCredentials.maxBytes)
        } catch {
            throw .credentials(detail: "cannot read \(configFile): \(error)")
        }
        let config: JSONValue
        do {
            config = try JSONParser.parse(bytes)
        } catch {
            throw .credentials(detail: "\(configFile) is not valid JSON: \(error)")
        }
        let wanted = DockerConfigCredentials.normalizedRegistry(registry)
        if let helpers = config["credHelpers"]?.objectValue {
            for (key, value) in helpers where DockerConfigCredentials.normalizedRegistry(key) == wanted {
                guard let name = value.stringValue else {
                    throw .credentials(detail: "\(configFile): credHelpers entry for \(quoted(key)) is not a string")
                }
                return try runHelper(name, registry: registry)
            }
        }
        if let store = config["credsStore"]?.stringValue, !store.isEmpty {
            if let found = try runHelper(store, registry: registry) { return found }
        }
        guard let auths = config["auths"]?.objectValue else { return nil }
        for (key, entry) in auths where DockerConfigCredentials.normalizedRegistry(key) == wanted {
            if let found = try DockerConfigCredentials.decodeAuthEntry(entry, key: key, file: configFile) {
                return found
            }
        }
        return nil
    }

    /// `key` reduced to `host[:port]`, with Docker Hub's aliases mapped to `docker.io`.
    static func normalizedRegistry(_ key: String) -> String {
        var text = Substring(key)
        for prefix in ["https://", "http://"] where text.hasPrefix(prefix) {
            text = text.dropFirst(prefix.count)
        }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        // Spelled as references spell registries (case, port number, `:443`, IPv6 form, Docker Hub's
        // names), so that an entry `docker login host:443` stored meets references to `host`.
        return ImageReference.canonicalRegistry(String(text))
    }

    /// Decodes one `auths` entry.
    static func decodeAuthEntry(_ entry: JSONValue, key: String, file: String) throws(OCIError) -> RegistryCredential? {
        if let token = entry["identitytoken"]?.stringValue, !token.isEmpty {
            return .identityToken(SecretBytes(utf8: token))
        }
        if let encoded = entry["auth"]?.stringValue, !encoded.isEmpty {
            guard var decoded = Base64.decode(encoded) else {
                throw .credentials(detail: "\(file): \"auth\" for \(quoted(key)) is not valid base64")
            }
            defer { zero(&decoded) }
            guard let colon = decoded.firstIndex(of: 0x3A) else {
                throw .credentials(detail: "\(file): \"auth\" for \(quoted(key)) is not USER:PASSWORD")
            }
            let username = String(decoding: decoded[..<colon], as: UTF8.self)
            let password = decoded[(colon + 1)...].withUnsafeBytes { SecretBytes(copying: $0) }
            return .basic(username: username, password: password)
        }
        if let username = entry["username"]?.stringValue, let password = entry["password"]?.stringValue {
            return .basic(username: username, password: SecretBytes(utf8: password))
        }
        return nil
    }

    /// Runs `docker-credential-NAME get` with the server URL on standard input.
    private func runHelper(_ name: String, registry: String) throws(OCIError) -> RegistryCredential? {
        guard !name.isEmpty, name.utf8.allSatisfy({ isHelperNameByte($0) }) else {
            throw .credentials(detail: "credential helper name \(quoted(name)) may only contain letters, digits, '.', '_' and '-'")
        }
        let program = "docker-credential-" + name
        guard let executable = searchPath.lazy.map({ $0 + "/" + program })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw .credentials(detail: "credential helper \(program) not found in the search path")
        }
        // Docker Hub credentials are stored under the v1 index URL; others under host[:port].
        let serverURL = registry == ImageReference.dockerHub ? "https://index.docker.io/v1/" : registry
        var output: [UInt8]
        let status: Int32
        do {
            (output, status) = try runProcess(executable, arguments: ["get"], input: Array((serverURL + "\n").utf8),
                                              outputLimit: DockerConfigCredentials.maxBytes)
        } catch {
            throw .credentials(detail: "cannot run \(program): \(error)")
        }
        defer { zero(&output) }
        if status != 0 {
            let message = String(decoding: output.prefix(200), as: UTF8.self)
            if message.lowercased().contains("credentials not found") { return nil }
            throw .credentials(detail: "\(program) get exited with status \(status)")
        }
        let answer: JSONValue
        do {
            answer = try JSONParser.parse(output)
        } catch {
            throw .credentials(detail: "\(program) get printed something that is not JSON")
        }
        guard let username = answer["Username"]?.stringValue, let secret = answer["Secret"]?.stringValue else {
            throw .credentials(detail: "\(program) get did not print an object with string fields Username and Secret")
        }
        if secret.isEmpty { return nil }
        // Docker's convention: the user name "<token>" marks an identity (refresh) token.
        if username == "<token>" { return .identityToken(SecretBytes(utf8: secret)) }
        return .basic(username: username, password: SecretBytes(utf8: secret))
    }
}

private func isHelperNameByte(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        || byte == 0x2E || byte == 0x5F || byte == 0x2D
}

/// Overwrites `bytes` with zeros and empties the array.
func zero(_ bytes: inout [UInt8]) {
    for index in bytes.indices { bytes[index] = 0 }
    bytes.removeAll()
}

/// Reads at most `limit` bytes of a regular file; more is an error.
func readFileBounded(_ path: String, limit: Int) throws(OCIError) -> [UInt8] {
    do throws(FileError) { return try AtomicFile.readExisting(path, limit: limit) } catch {
        if case .tooLarge = error { throw .tooLarge(what: path, limit: Int64(limit)) }
        throw .io(path: path, detail: error.detail)
    }
}

/// How long a credential helper may take (it may wait for a keyring to be unlocked).
let credentialHelperTimeout = 120

/// Runs a program, feeding `input` on standard input, and returns its standard output (at most
/// `outputLimit` bytes) and exit status, killing it after `credentialHelperTimeout` seconds. Standard
/// error is discarded.
func runProcess(_ executable: String, arguments: [String], input: [UInt8], outputLimit: Int) throws(ProgramError) -> ([UInt8], Int32) {
    let result = try runProgram(executable, arguments: arguments, input: input, outputLimit: outputLimit, errorLimit: nil,
                                timeoutSeconds: credentialHelperTimeout)
    return (result.output, result.status)
}

// MARK: - Storing credentials (`signet login` / `logout`), as `docker login` does

extension DockerConfigCredentials {
    /// Where Docker keeps credentials for `registry`: the `credHelpers` entry for it, else `credsStore`;
    /// nil means `auths` in the config file itself.
    /// - Throws: `OCIError.credentials` for a malformed config file.
    public func helperName(for registry: String) throws(OCIError) -> String? {
        guard let config = try readConfig() else { return nil }
        let wanted = DockerConfigCredentials.normalizedRegistry(registry)
        for (key, value) in config["credHelpers"]?.objectValue ?? JSONObject() where DockerConfigCredentials.normalizedRegistry(key) == wanted {
            return value.stringValue
        }
        if let store = config["credsStore"]?.stringValue, !store.isEmpty { return store }
        return nil
    }

    /// The server URL Docker stores credentials under: the v1 index URL for Docker Hub, else `host[:port]`.
    static func serverURL(_ registry: String) -> String {
        registry == ImageReference.dockerHub ? "https://index.docker.io/v1/" : registry
    }

    /// Stores `username`/`password` for `registry`: through the credential helper Docker would use, else
    /// as base64 `auth` in `auths` of the config file (written atomically, mode 0600, other entries kept).
    /// - Returns: where they went (`docker-credential-NAME`, or the config file's path).
    public func store(registry: String, username: String, password: SecretBytes) throws(OCIError) -> String {
        if let helper = try helperName(for: registry) {
            var input: [UInt8] = Array(#"{"ServerURL":"#.utf8) + DockerConfigCredentials.jsonString(Array(DockerConfigCredentials.serverURL(registry).utf8))
                + Array(#","Username":"#.utf8) + DockerConfigCredentials.jsonString(Array(username.utf8)) + Array(#","Secret":"#.utf8)
            password.withUnsafeBytes { input += DockerConfigCredentials.jsonString(Array($0)) }
            input += Array("}".utf8)
            defer { zero(&input) }
            try runHelperCommand(helper, "store", input: input)
            return "docker-credential-" + helper
        }
        var config = try readConfig()?.objectValue ?? JSONObject()
        var auths = config["auths"]?.objectValue ?? JSONObject()
        let wanted = DockerConfigCredentials.normalizedRegistry(registry)
        for key in auths.keys where DockerConfigCredentials.normalizedRegistry(key) == wanted { auths[key] = nil }
        var pair = Array(username.utf8) + [0x3A]
        password.withUnsafeBytes { pair += Array($0) }
        defer { zero(&pair) }
        var entry = JSONObject()
        entry["auth"] = .string(Base64.encode(pair))
        auths[DockerConfigCredentials.serverURL(registry)] = .object(entry)
        config["auths"] = .object(auths)
        try writeConfig(config)
        return configFile
    }

    /// Removes what is stored for `registry` (helper `erase`, or the `auths` entries).
    /// - Returns: whether anything was stored in the config file (helpers do not say).
    @discardableResult
    public func erase(registry: String) throws(OCIError) -> Bool {
        if let helper = try helperName(for: registry) {
            try runHelperCommand(helper, "erase", input: Array((DockerConfigCredentials.serverURL(registry) + "\n").utf8))
            return true
        }
        guard var config = try readConfig()?.objectValue, var auths = config["auths"]?.objectValue else { return false }
        let wanted = DockerConfigCredentials.normalizedRegistry(registry)
        let keys = auths.keys.filter { DockerConfigCredentials.normalizedRegistry($0) == wanted }
        guard !keys.isEmpty else { return false }
        for key in keys { auths[key] = nil }
        config["auths"] = .object(auths)
        try writeConfig(config)
        return true
    }

    private func readConfig() throws(OCIError) -> JSONValue? {
        guard FileManager.default.fileExists(atPath: configFile) else { return nil }
        let bytes = try readFileBounded(configFile, limit: DockerConfigCredentials.maxBytes)
        do { return try JSONParser.parse(bytes) } catch { throw .credentials(detail: "\(configFile) is not valid JSON: \(error)") }
    }

    private func writeConfig(_ config: JSONObject) throws(OCIError) {
        let directory = AtomicFile.directory(of: configFile)
        do throws(FileError) {
            try AtomicFile.makeDirectory(directory, mode: 0o700)
            try AtomicFile.write(JSONWriter.encode(.object(config), pretty: true), to: configFile, mode: 0o600)
        } catch { throw .io(path: error.path, detail: error.detail) }
    }

    private func runHelperCommand(_ name: String, _ command: String, input: [UInt8]) throws(OCIError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ isHelperNameByte($0) }) else {
            throw .credentials(detail: "credential helper name \(quoted(name)) may only contain letters, digits, '.', '_' and '-'")
        }
        let program = "docker-credential-" + name
        guard let executable = searchPath.lazy.map({ $0 + "/" + program }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw .credentials(detail: "credential helper \(program) not found in the search path")
        }
        let status: Int32
        do { (_, status) = try runProcess(executable, arguments: [command], input: input, outputLimit: 64 * 1024) } catch {
            throw .credentials(detail: "cannot run \(program): \(error)")
        }
        guard status == 0 else { throw .credentials(detail: "\(program) \(command) exited with status \(status)") }
    }

    /// `bytes` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func jsonString(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for b in bytes {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0..<0x20: out += Array(("\\u00" + Hex.encode([b])).utf8)
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }
}
