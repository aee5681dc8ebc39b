import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetHTTP
import SignetOCI

let loginUsage = """
usage: signet login REGISTRY [--username USER] [--password-stdin] [--tls | --unsafe-plain-http] [--ca-file FILE] [--json]
       signet logout REGISTRY [--json]
`login` checks the credentials against the registry, then stores them as `docker login` does: through
the credential helper Docker's config.json names for the registry (credHelpers, else credsStore), else
base64 in its "auths" (the file is written with mode 0600). The password comes from standard input
(--password-stdin, first line) or a prompt without echo, never from the command line; the user name from
--username or a prompt. `logout` removes what is stored. REGISTRY is host[:port] (docker.io for Docker Hub).
"""

/// `signet login` / `signet logout`.
func runLoginCommand(_ arguments: [String], logout: Bool) throws -> Int32 {
    let args = try Args(arguments, valued: ["username", "ca-file"], boolean: ["password-stdin", "tls", "unsafe-plain-http", "json", "help"])
    if args.flag("help") { printHelp(loginUsage, []); return 0 }
    let registryText = try args.positional(0, "REGISTRY")
    try args.expectPositionals(1)
    let probe = try ImageReference(parsing: registryText + "/library/probe")
    guard probe.registry == registryText || (registryText == "docker.io" && probe.registry == ImageReference.dockerHub) else {
        throw UsageError("\(registryText) is not a registry host[:port]")
    }
    let environment = ProcessInfo.processInfo.environment
    guard let configFile = DockerConfigCredentials.defaultConfigFile(environment: environment) else {
        throw UsageError("neither DOCKER_CONFIG nor HOME is set: there is no Docker config.json to store credentials in")
    }
    let searchPath = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    let store = DockerConfigCredentials(configFile: configFile, searchPath: searchPath)
    if logout {
        let removed = try store.erase(registry: probe.registry)
        if args.flag("json") { printJSON(["registry": probe.registry, "removed": removed]) }
        else { print(removed ? "removed the credentials for \(probe.registry)" : "no credentials were stored for \(probe.registry) in \(configFile)") }
        return 0
    }
    let interactive = isatty(STDIN_FILENO) == 1
    let username: String
    if let u = args.value("username") {
        username = u
    } else if interactive && !args.flag("password-stdin") {
        writeStandardError("Username: ".utf8)
        username = (readLine() ?? "").trimmingWhitespace(keepingNewlines: true)
    } else {
        throw UsageError("login needs --username USER when standard input is not a terminal")
    }
    guard !username.isEmpty, !username.contains(":") else { throw UsageError("the user name must be non-empty and contain no \":\"") }
    let password: SecretBytes
    if args.flag("password-stdin") {
        password = try RegistryOptions(Args([], valued: [], boolean: [])).readPasswordFromStandardInput()
    } else if interactive {
        password = try Passphrases.prompt("Password for \(username) at \(probe.registry): ")
    } else {
        throw UsageError("login reads the password from standard input with --password-stdin, or from a prompt on a terminal")
    }
    guard !password.isEmpty else { throw UsageError("empty password") }
    // Check the credentials before storing them.
    let security: TransportSecurity = args.flag("tls") ? .requireTLS : (args.flag("unsafe-plain-http") ? .unsafePlainHTTP : .automatic)
    let transport = try CurlTransport(options: CurlTransportOptions(caFile: args.value("ca-file")))
    let client = RegistryClient(endpoint: RegistryEndpoint(registry: probe.registry, security: security), transport: transport,
                                credentials: StaticCredentials(.basic(username: username, password: password), registry: probe.registry))
    try client.checkAPI()
    let location = try store.store(registry: probe.registry, username: username, password: password)
    if args.flag("json") { printJSON(["registry": probe.registry, "username": username, "storedIn": location]) }
    else { print("logged in to \(probe.registry) as \(username) (credentials stored by \(location))") }
    return 0
}
