import FoundationEssentials
import Glibc
import SignetCrypto
import SignetFiles
import SignetHTTP
import SignetOCI

/// Options shared by the commands that talk to a registry (`pull`, `push`).
struct RegistryOptions {
    var username: String?
    var passwordFromStdin: Bool
    var requireTLS: Bool
    var unsafePlainHTTP: Bool
    var caFile: String?
    /// Seconds the whole command may take for its transfers (`--timeout`, `SIGNET_TIMEOUT`).
    var timeout: Double?
    /// Minimum average transfer rate in bytes per second (`SIGNET_MIN_RATE`).
    var minimumRate: Int64?

    /// Option names taking a value, for `Args`.
    static let valued: Set<String> = ["username", "ca-file", "timeout"]
    /// Flag names, for `Args`.
    static let boolean: Set<String> = ["password-stdin", "tls", "unsafe-plain-http"]

    static let help = """
      --username USER        log in as USER (the password is read from standard input)
      --password-stdin       read the password (first line) from standard input
      --tls                  use HTTPS even for loopback registries
      --unsafe-plain-http    use plain HTTP even for non-loopback registries (credentials and tags
                             travel unprotected; digests are still verified)
      --ca-file FILE         trust the CA certificates in FILE (PEM) for HTTPS
      --timeout SECONDS      give up on transfers still running SECONDS after the command started
                             (default: none; also SIGNET_TIMEOUT). Every transfer also has its own
                             deadline: 10 s plus its size at SIGNET_MIN_RATE bytes/s (default 65536);
                             past it the transfer fails (exit 3) naming what, the bytes and the rate.
    Credentials otherwise come from Docker's config.json ($DOCKER_CONFIG or ~/.docker): "auths",
    "credsStore" and "credHelpers" (docker-credential-* programs). Loopback registries (localhost,
    127.0.0.0/8, [::1]) use plain HTTP unless --tls is given; all others use HTTPS.
    """

    /// Reads the registry options from parsed arguments.
    init(_ arguments: Args) throws(UsageError) {
        username = arguments.value("username")
        passwordFromStdin = arguments.flag("password-stdin")
        requireTLS = arguments.flag("tls")
        unsafePlainHTTP = arguments.flag("unsafe-plain-http")
        caFile = arguments.value("ca-file")
        if requireTLS && unsafePlainHTTP {
            throw UsageError("--tls and --unsafe-plain-http contradict each other")
        }
        if passwordFromStdin && username == nil {
            throw UsageError("--password-stdin needs --username")
        }
        if username != nil && !passwordFromStdin {
            throw UsageError("--username needs --password-stdin (passwords are never taken from the command line)")
        }
        if let t = arguments.value("timeout") ?? Environment.nonEmpty("SIGNET_TIMEOUT") {
            guard let seconds = Double(t), seconds > 0, seconds.isFinite else {
                throw UsageError("--timeout (or SIGNET_TIMEOUT) takes a number of seconds, got \"\(t)\"")
            }
            // Anything longer than a year is no limit in practice; it is held to a year so that the
            // deadline stays representable.
            timeout = min(seconds, RegistryOptions.longestTimeout)
        }
        if let r = Environment.nonEmpty("SIGNET_MIN_RATE") {
            guard let rate = Int64(r), rate > 0 else { throw UsageError("SIGNET_MIN_RATE takes bytes per second, got \"\(r)\"") }
            minimumRate = rate
        }
    }

    /// The longest `--timeout` (a year, in seconds); longer values are held to it.
    static let longestTimeout: Double = 365 * 86400

    /// The deadline of the whole command (fixed when first asked, so that every client shares it).
    static let commandStart = TransferDeadline(secondsFromNow: 0)

    /// A client for `reference`'s registry with these options.
    func makeClient(for reference: ImageReference, credentials given: (any CredentialProvider)? = nil) throws -> RegistryClient {
        let security: TransportSecurity = requireTLS ? .requireTLS : (unsafePlainHTTP ? .unsafePlainHTTP : .automatic)
        let endpoint = RegistryEndpoint(registry: reference.registry, security: security)
        let transport = try CurlTransport(options: CurlTransportOptions(caFile: caFile))
        return RegistryClient(endpoint: endpoint, transport: transport, credentials: try given ?? credentials(for: reference), options: clientOptions())
    }

    /// Client options carrying the transfer deadlines.
    func clientOptions() -> RegistryClientOptions {
        var o = RegistryClientOptions()
        if let minimumRate { o.minimumRate = minimumRate }
        if let timeout { o.deadline = TransferDeadline(nanoseconds: RegistryOptions.commandStart.nanoseconds + UInt64(timeout * 1e9)) }
        return o
    }

    func credentials(for reference: ImageReference) throws -> any CredentialProvider {
        if let username {
            let password = try readPasswordFromStandardInput()
            return StaticCredentials(.basic(username: username, password: password), registry: reference.registry)
        }
        guard let configFile = DockerConfigCredentials.defaultConfigFile(environment: Environment.values(["DOCKER_CONFIG", "HOME"])) else {
            return AnonymousCredentials()
        }
        let searchPath = (Environment.value("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        return DockerConfigCredentials(configFile: configFile, searchPath: searchPath)
    }

    /// The first line of standard input (at most 64 KiB), without its line ending.
    func readPasswordFromStandardInput() throws -> SecretBytes {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var length = 0
        while length < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(STDIN_FILENO, base + length, raw.count - length)
            }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            length += count
            if buffer[0..<length].contains(0x0A) { break }
        }
        var end = buffer[0..<length].firstIndex(of: 0x0A) ?? length
        if end > 0 && buffer[end - 1] == 0x0D { end -= 1 }
        guard end > 0 else { throw UsageError("--password-stdin: standard input holds no password") }
        let secret = buffer[0..<end].withUnsafeBytes { SecretBytes(copying: $0) }
        for index in buffer.indices { buffer[index] = 0 }
        return secret
    }
}
