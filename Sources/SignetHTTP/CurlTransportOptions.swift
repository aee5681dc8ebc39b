/// Settings for `CurlTransport`.
///
/// TLS certificate and host-name verification are always on; there is deliberately no option
/// to turn them off. Proxies come from the environment, handled by libcurl: `http_proxy` for
/// `http://` URLs (the upper-case `HTTP_PROXY` is ignored, as is conventional), `https_proxy` or
/// `HTTPS_PROXY` for `https://` URLs, `all_proxy`/`ALL_PROXY` as a fallback for both, and
/// `no_proxy`/`NO_PROXY` (comma-separated host names, domains, IP addresses or `*`) to bypass.
public struct CurlTransportOptions: Sendable {
    /// Maximum seconds to establish a connection (TCP and TLS handshake) before `.timeout`.
    public var connectTimeout: Double = 15
    /// Transfer speed in bytes per second below which the low-speed timer runs.
    public var lowSpeedLimit: Int = 1024
    /// Seconds the transfer may stay below `lowSpeedLimit` before `.timeout`. A sink that is
    /// slower than `lowSpeedLimit` for this long also triggers it. 0 disables the check.
    public var lowSpeedTime: Int = 30
    /// Maximum number of redirects followed for one request (GET and HEAD only); one more
    /// throws `.tooManyRedirects`.
    public var maxRedirects: Int = 5
    /// Path of a PEM CA bundle to trust instead of libcurl's default CA bundle file (libcurl's
    /// default CA directory, if it has one, still applies). `nil` uses the system defaults.
    public var caFile: String? = nil
    /// A PEM CA bundle in memory, trusted instead of `caFile` or libcurl's default bundle file (for a
    /// bundle composed by the caller: the system's plus a server's own CA). `nil`: not used.
    public var caBundlePEM: [UInt8]? = nil
    /// The `User-Agent` header sent unless the request sets its own.
    public var userAgent: String = "signet/0.1"
    /// libcurl's receive buffer size in bytes (`CURLOPT_BUFFERSIZE`, clamped by libcurl to its
    /// supported range): how much one socket read may take. Sinks receive chunks no larger than
    /// this; libcurl may hand them over in smaller pieces (16 KiB in libcurl 7.x).
    public var receiveBufferSize: Int = 1 << 20

    /// Creates options; every parameter defaults to the documented value. Never throws.
    public init(connectTimeout: Double = 15,
                lowSpeedLimit: Int = 1024,
                lowSpeedTime: Int = 30,
                maxRedirects: Int = 5,
                caFile: String? = nil,
                caBundlePEM: [UInt8]? = nil,
                userAgent: String = "signet/0.1",
                receiveBufferSize: Int = 1 << 20) {
        self.connectTimeout = connectTimeout
        self.lowSpeedLimit = lowSpeedLimit
        self.lowSpeedTime = lowSpeedTime
        self.maxRedirects = maxRedirects
        self.caFile = caFile
        self.caBundlePEM = caBundlePEM
        self.userAgent = userAgent
        self.receiveBufferSize = receiveBufferSize
    }
}
