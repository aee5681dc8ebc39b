import FoundationEssentials
import Glibc

/// How to choose between HTTPS and plain HTTP for a registry.
public enum TransportSecurity: Sendable, Equatable {
    /// HTTPS, except for loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`), which use plain
    /// HTTP: traffic to them never leaves the machine. The default.
    case automatic
    /// HTTPS always, loopback included.
    case requireTLS
    /// Plain HTTP always. Removes confidentiality and server authentication on the network:
    /// credentials and tokens travel in clear and a tag can be answered by anyone on the path
    /// (digests are still verified). For test registries only.
    case unsafePlainHTTP
}

/// Where a registry's Distribution API lives: scheme and authority (`host[:port]`).
public struct RegistryEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// `host[:port]` as used in URLs. Docker Hub's API host is `registry-1.docker.io`.
    public let authority: String
    /// The registry as written in references (`docker.io`, `host:port`); credentials are looked
    /// up under this name.
    public let registry: String

    /// The endpoint for `registry` under `security`.
    public init(registry: String, security: TransportSecurity = .automatic) {
        self.registry = registry
        self.authority = registry == ImageReference.dockerHub ? "registry-1.docker.io" : registry
        var host = registry
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        switch security {
        case .automatic: scheme = ImageReference.isLoopbackHost(host) ? "http" : "https"
        case .requireTLS: scheme = "https"
        case .unsafePlainHTTP: scheme = "http"
        }
    }

    /// `scheme://authority`.
    public var baseURL: String { scheme + "://" + authority }

    /// The same as `baseURL`.
    public var description: String { baseURL }

    /// Whether `url` is on this endpoint (same scheme, host and port), so that it may receive
    /// this registry's credentials.
    func isSameOrigin(_ url: String) -> Bool {
        let prefix = baseURL + "/"
        guard url.count >= prefix.count else { return url == baseURL }
        return lowercasedASCII(String(url.prefix(prefix.count))) == lowercasedASCII(prefix)
    }

    /// `reference` (a `Location` or `Link` target) as an absolute URL on this endpoint, or `nil`
    /// when it is neither an absolute http(s) URL nor an absolute path.
    func resolve(_ reference: String) -> String? {
        if reference.hasPrefix("https://") || reference.hasPrefix("http://") { return reference }
        if reference.hasPrefix("/") && !reference.hasPrefix("//") { return baseURL + reference }
        return nil
    }
}

/// Bounded retries with exponential back-off for transient failures: connection failures,
/// timeouts, HTTP 429 and 5xx (500, 502, 503, 504).
public struct RetryPolicy: Sendable {
    /// Total attempts, first included (at least 1). Default 3.
    public var attempts: Int
    /// Delay before the second attempt, in seconds; each later delay doubles. Default 0.2.
    public var initialDelay: Double
    /// Waits for the given number of seconds (injected so tests can observe or skip waiting).
    public var sleep: @Sendable (Double) -> Void

    /// Creates a policy; defaults: 3 attempts, 200 ms then 400 ms.
    public init(attempts: Int = 3, initialDelay: Double = 0.2,
                sleep: @escaping @Sendable (Double) -> Void = { seconds in
                    if seconds > 0 { usleep(UInt32(min(seconds, 60) * 1_000_000)) }
                }) {
        self.attempts = max(1, attempts)
        self.initialDelay = max(0, initialDelay)
        self.sleep = sleep
    }

    /// The delay before attempt `attempt + 1` (attempt counts from 1): initialDelay × 2^(attempt-1).
    func delay(after attempt: Int) -> Double {
        initialDelay * Double(1 << min(max(attempt - 1, 0), 16))
    }

    /// Whether an HTTP status is worth retrying.
    static func isRetryable(status: Int) -> Bool {
        status == 429 || status == 500 || status == 502 || status == 503 || status == 504
    }
}
