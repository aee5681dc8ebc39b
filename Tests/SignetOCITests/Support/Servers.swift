import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI

/// Real `docker-registry` instances started by `scripts/registry-test-env run` once per test
/// process: plain HTTP, basic auth over TLS (test CA), and bearer tokens from the test issuer.
/// They stop when the test process closes the script's standard input (at exit at the latest).
final class Registries: @unchecked Sendable {
    /// The shared instance, started on first use.
    static let shared: Result<Registries, HarnessError> = {
        do {
            return .success(try Registries())
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()

    /// Throws the start-up failure, if any.
    static func get() throws -> Registries { try shared.get() }

    let values: [String: String]
    private let helper: Helper
    private let state: String

    private init() throws {
        for tool in ["docker-registry", "htpasswd", "openssl", "skopeo"] {
            guard ["/usr/bin", "/usr/local/bin", "/bin"].contains(where: { FileManager.default.isExecutableFile(atPath: $0 + "/" + tool) }) else {
                throw HarnessError("\(tool) is not installed (run scripts/test, which installs the test packages)")
            }
        }
        state = try Paths.temporaryDirectory("signet-oci-registries")
        helper = try Helper("/bin/bash", [Paths.script("registry-test-env"), "run", state, "plain", "basic", "token"],
                            timeout: 60, isReady: { $0.contains("READY") })
        var values: [String: String] = [:]
        for line in helper.lines {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.values = values
    }

    deinit {
        helper.stop()
        try? FileManager.default.removeItem(atPath: state)
    }

    private func value(_ key: String) -> String { values[key] ?? "missing-\(key)" }

    /// `127.0.0.1:PORT` of the plain registry (no auth, plain HTTP).
    var plain: String { value("REGISTRY_PLAIN") }
    /// Its storage root directory.
    var plainStorage: String { value("REGISTRY_PLAIN_STORAGE") }
    /// `127.0.0.1:PORT` of the basic-auth registry (HTTPS with `caCert`).
    var basic: String { value("REGISTRY_BASIC") }
    /// `127.0.0.1:PORT` of the token-auth registry (plain HTTP).
    var token: String { value("REGISTRY_TOKEN") }
    /// `127.0.0.1:PORT` of the token issuer.
    var tokenServer: String { value("TOKEN_SERVER") }
    /// User name accepted by the basic registry and the token issuer.
    var user: String { value("REGISTRY_BASIC_USER") }
    /// Its password.
    var password: String { value("REGISTRY_BASIC_PASSWORD") }
    /// The test CA certificate (PEM).
    var caCert: String { value("CA_CERT") }
    /// A directory holding only the CA certificate (for skopeo's --cert-dir).
    var caCertDir: String { value("CA_CERT_DIR") }

    /// The storage file of a blob (or manifest) in the plain registry.
    func plainBlobFile(_ digest: Digest) -> String {
        plainStorage + "/docker/registry/v2/blobs/\(digest.algorithm.rawValue)/\(digest.hex.prefix(2))/\(digest.hex)/data"
    }
}

/// `scripts/oci-fault-server.py` serving one OCI layout, with injectable faults.
final class FaultServer: @unchecked Sendable {
    let host: String
    let port: Int
    private let helper: Helper

    /// Starts a server for `layout` bound to `host`.
    init(layout: String, host: String = "127.0.0.1") throws {
        helper = try Helper("/usr/bin/env", ["python3", Paths.script("oci-fault-server.py"), "--layout", layout, "--host", host],
                            isReady: { !$0.isEmpty })
        guard let first = helper.lines.first, let port = Int(first) else {
            throw HarnessError("fault server printed \(helper.lines)")
        }
        self.host = host
        self.port = port
    }

    /// `host:port`.
    var registry: String { "\(host):\(port)" }
    /// `http://host:port`.
    var base: String { "http://\(host):\(port)" }

    /// Replaces the configuration (see the script's documentation).
    func configure(auth: String? = nil, delayMilliseconds: Int = 0, faults: [JSONValue] = []) throws {
        var object = JSONObject()
        object["auth"] = auth.map { .string($0) } ?? .null
        object["delay_ms"] = .integer(Int64(delayMilliseconds))
        object["faults"] = .array(faults)
        try Control.post(base + "/_control", .object(object))
        try Control.post(base + "/_reset", [:])
    }

    /// The requests recorded since the last `configure`.
    func requests() throws -> [JSONValue] { try Control.get(base + "/_requests").arrayValue ?? [] }

    /// `max_in_flight` and `blob_gets`.
    func stats() throws -> (maxInFlight: Int, blobGets: Int) {
        let json = try Control.get(base + "/_stats")
        return (Int(json["max_in_flight"]?.integerValue ?? -1), Int(json["blob_gets"]?.integerValue ?? -1))
    }

    func stop() { helper.stop() }
}

/// Records the back-off delays a `RetryPolicy` asks for, sleeping only a millisecond each.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Double] = []

    var delays: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    var policy: RetryPolicy {
        RetryPolicy(attempts: 3, initialDelay: 0.2, sleep: { [self] seconds in
            self.lock.lock()
            self.recorded.append(seconds)
            self.lock.unlock()
            usleep(1000)
        })
    }
}

/// A client for `registry` with test-friendly defaults.
func makeClient(_ registry: String, credentials: any CredentialProvider = AnonymousCredentials(),
                security: TransportSecurity = .automatic, caFile: String? = nil,
                retry: RetryPolicy = RetryPolicy(attempts: 3, initialDelay: 0.001),
                options: RegistryClientOptions? = nil) throws -> RegistryClient {
    let transport = try CurlTransport(options: CurlTransportOptions(connectTimeout: 5, lowSpeedTime: 10, caFile: caFile))
    var clientOptions = options ?? RegistryClientOptions()
    clientOptions.retry = retry
    return RegistryClient(endpoint: RegistryEndpoint(registry: registry, security: security), transport: transport,
                          credentials: credentials, options: clientOptions)
}
