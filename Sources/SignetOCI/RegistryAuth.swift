import FoundationEssentials
import Glibc
import SignetPlatform
import SignetFiles
import SignetCrypto
import SignetHTTP
import SignetJSON

/// Authentication state of one `RegistryClient`: which scheme the registry wants (learnt from the
/// `/v2/` challenge or a later 401), the credential, and bearer tokens cached per scope set.
///
/// Docker registry token authentication (`docker-registry-token-auth.md`): the registry answers 401
/// with `WWW-Authenticate: Bearer realm=…,service=…[,scope=…]`; the client asks the realm for a
/// token for `service` and the scopes it needs (with basic credentials, or anonymously), then
/// repeats the request with `Authorization: Bearer TOKEN`. A 401 carrying
/// `error="insufficient_scope"` asks for a token with more scopes.
final class RegistryAuthenticator: @unchecked Sendable {
    enum Mode {
        case unknown
        case anonymous
        case basic
        case bearer(realm: String, service: String?)
    }

    struct CachedToken {
        let token: SecretBytes
        let expiry: Double
    }

    /// Tokens are renewed this many seconds before they expire.
    static let expiryMargin = 10.0
    /// Largest token response read.
    static let maxTokenResponseBytes = 1 << 20

    private let lock = Lock()
    private let slowPath = Lock()
    private var mode: Mode = .unknown
    private var tokens: [String: CachedToken] = [:]
    private var credentialLoaded = false
    private var cachedCredential: RegistryCredential?
    private var tokenRequestCount = 0

    private let endpoint: RegistryEndpoint
    private let provider: any CredentialProvider
    private let now: @Sendable () -> Double

    init(endpoint: RegistryEndpoint, provider: any CredentialProvider, now: @escaping @Sendable () -> Double) {
        self.endpoint = endpoint
        self.provider = provider
        self.now = now
    }

    /// Number of token requests made so far (for diagnostics and tests).
    var tokensFetched: Int {
        lock.lock()
        defer { lock.unlock() }
        return tokenRequestCount
    }

    /// The credential from the provider, asked once and then remembered.
    func credential() throws(OCIError) -> RegistryCredential? {
        lock.lock()
        if credentialLoaded {
            defer { lock.unlock() }
            return cachedCredential
        }
        lock.unlock()
        let loaded = try provider.credential(for: endpoint.registry)
        lock.lock()
        defer { lock.unlock() }
        cachedCredential = loaded
        credentialLoaded = true
        return loaded
    }

    /// The `Authorization` value for a request needing `scopes`, or `nil` to send none. The first
    /// call asks `/v2/` which scheme the registry uses.
    func authorization(for scopes: [String], client: RegistryClient) throws(OCIError) -> String? {
        let key = RegistryAuthenticator.scopeKey(scopes)
        if let ready = try readyAuthorization(key: key) { return ready }
        // Slow path, one thread at a time: concurrent transfers that need the same token wait
        // for the first one to fetch it instead of each asking the token service.
        slowPath.lock()
        defer { slowPath.unlock() }
        if case .unknown = currentMode() {
            // Without credentials, try the request anonymously first: an open registry answers it at once
            // (one round trip saved), and a 401 carries the challenge that `handleUnauthorized` learns from.
            if try credential() == nil { return nil }
            try discover(client: client)
        }
        if let ready = try readyAuthorization(key: key) { return ready }
        guard case .bearer(let realm, let service) = currentMode() else { return nil }
        let fresh = try fetchToken(realm: realm, service: service, scopes: scopes, client: client)
        lock.lock()
        tokens[key] = fresh
        lock.unlock()
        return bearer(fresh.token)
    }

    /// `.some(header)` when the answer needs no network (a `nil` header means "send none"):
    /// anonymous access, basic credentials, a cached unexpired token. `nil` when the scheme is not
    /// known yet or a token must be fetched.
    private func readyAuthorization(key: String) throws(OCIError) -> String?? {
        switch currentMode() {
        case .unknown:
            return nil
        case .anonymous:
            return .some(nil)
        case .basic:
            guard case .basic(let username, let password)? = try credential() else { return .some(nil) }
            return .some(basicAuthorization(username: username, password: password))
        case .bearer:
            lock.lock()
            let cached = tokens[key]
            lock.unlock()
            if let cached, cached.expiry > now() { return .some(bearer(cached.token)) }
            return nil
        }
    }

    /// Reacts to a 401: learns the challenge, fetches a new token (with the scopes the challenge
    /// asks for added) or switches to basic auth. Returns normally when the request should be
    /// repeated once.
    ///
    /// - Throws: `OCIError.unauthorized` when there is nothing new to try.
    func handleUnauthorized(_ headers: HTTPHeaders, scopes: [String], client: RegistryClient) throws(OCIError) {
        let challenges = AuthChallenge.parse(headers.values("WWW-Authenticate"))
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realm = bearer.realm {
            var wanted = scopes
            for extra in (bearer.scope ?? "").split(separator: " ").map(String.init) where !wanted.contains(extra) {
                wanted.append(extra)
            }
            let fresh = try fetchToken(realm: realm, service: bearer.service, scopes: wanted, client: client)
            lock.lock()
            mode = .bearer(realm: realm, service: bearer.service)
            tokens[RegistryAuthenticator.scopeKey(scopes)] = fresh
            lock.unlock()
            return
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard case .basic? = try credential() else {
                throw .unauthorized(registry: endpoint.registry, detail: "the registry requires credentials (HTTP 401, basic authentication) and none were given")
            }
            lock.lock()
            let alreadyBasic: Bool
            if case .basic = mode { alreadyBasic = true } else { alreadyBasic = false }
            mode = .basic
            lock.unlock()
            if alreadyBasic {
                throw .unauthorized(registry: endpoint.registry, detail: "the registry rejected the user name or password (HTTP 401)")
            }
            return
        }
        let schemes = challenges.map(\.scheme).joined(separator: ", ")
        throw .unauthorized(registry: endpoint.registry,
                            detail: schemes.isEmpty ? "HTTP 401 without a WWW-Authenticate challenge"
                                : "HTTP 401 with unsupported authentication scheme(s): \(schemes)")
    }

    /// A message for a request that still got 401 after authenticating.
    func rejectionDetail(_ headers: HTTPHeaders, body: [UInt8]) -> String {
        let challenges = AuthChallenge.parse(headers.values("WWW-Authenticate"))
        var detail = "the registry still answers HTTP 401"
        if let error = challenges.first(where: { $0.error != nil })?.error {
            detail += " (\(RegistryClient.withoutControls(String(error.prefix(200)))))"
        }
        if let registryError = RegistryClient.errorBody(body) {
            detail += ": \(registryError.code ?? "")\(registryError.message.map { " \($0)" } ?? "")"
        }
        let hasCredential = (try? credential()) != nil
        detail += hasCredential ? "; the credentials do not grant access" : "; no credentials were given"
        return detail
    }

    private func currentMode() -> Mode {
        lock.lock()
        defer { lock.unlock() }
        return mode
    }

    /// `GET /v2/` without credentials: 200 means anonymous access, 401 carries the challenge.
    private func discover(client: RegistryClient) throws(OCIError) {
        let url = endpoint.baseURL + "/v2/"
        let response = try client.sendWithRetry(HTTPRequest(method: .get, url: url), maxBodyBytes: 64 * 1024,
                                                what: "API version check \(url)")
        var learnt = Mode.anonymous
        if response.status == 401 {
            // The challenge must be the registry's own: a host a redirect led to chooses its realm, which
            // would then receive the registry's credentials.
            guard endpoint.isSameOrigin(response.head.finalURL) else {
                throw .unauthorized(registry: endpoint.registry, detail: "\(url) redirected to \(RegistryClient.origin(of: response.head.finalURL)), which answered HTTP 401; the registry's credentials are never sent to another host")
            }
            let challenges = AuthChallenge.parse(response.head.headers.values("WWW-Authenticate"))
            if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realm = bearer.realm {
                learnt = .bearer(realm: realm, service: bearer.service)
            } else if challenges.contains(where: { $0.scheme == "basic" }) {
                learnt = .basic
            } else {
                let schemes = challenges.map(\.scheme).joined(separator: ", ")
                throw .unauthorized(registry: endpoint.registry,
                                    detail: schemes.isEmpty ? "HTTP 401 without a WWW-Authenticate challenge"
                                        : "unsupported authentication scheme(s): \(schemes)")
            }
        }
        lock.lock()
        if case .unknown = mode { mode = learnt }
        lock.unlock()
    }

    /// Asks the token service at `realm` for a token covering `scopes`.
    private func fetchToken(realm: String, service: String?, scopes: [String], client: RegistryClient) throws(OCIError) -> CachedToken {
        guard realm.hasPrefix("https://") || realm.hasPrefix("http://") else {
            throw .invalidAuthResponse(detail: "token realm \(quoted(realm)) is not an http(s) URL")
        }
        let credential = try credential()
        if credential != nil, realm.hasPrefix("http://"), endpoint.scheme == "https", !RegistryAuthenticator.isLoopbackURL(realm) {
            throw .unauthorized(registry: endpoint.registry, detail: "the token realm uses plain HTTP on a non-loopback host; credentials were not sent")
        }
        var query: [(String, String)] = []
        if let service { query.append(("service", service)) }
        for scope in scopes { query.append(("scope", scope)) }
        let realmHost = RegistryAuthenticator.hostPart(realm)
        let request: HTTPRequest
        switch credential {
        case .identityToken(let refresh)?:
            var form = query
            form.append(("grant_type", "refresh_token"))
            form.append(("client_id", "signet"))
            var body = Array(formEncode(form).utf8)
            body.append(contentsOf: Array("&refresh_token=".utf8))
            refresh.withUnsafeBytes { body.append(contentsOf: PercentEncoding.encode(bytes: Array($0)).utf8) }
            request = HTTPRequest(method: .post, url: realm,
                                  headers: [("Content-Type", "application/x-www-form-urlencoded")], body: .bytes(body))
        case .basic(let username, let password)?:
            request = HTTPRequest(method: .get, url: RegistryAuthenticator.appendQuery(realm, query),
                                  headers: [("Authorization", basicAuthorization(username: username, password: password))])
        case nil:
            request = HTTPRequest(method: .get, url: RegistryAuthenticator.appendQuery(realm, query))
        }
        lock.lock()
        tokenRequestCount += 1
        lock.unlock()
        let issued = now()
        let response = try client.sendWithRetry(request, maxBodyBytes: RegistryAuthenticator.maxTokenResponseBytes,
                                                what: "token request to \(realmHost)")
        switch response.status {
        case 200:
            break
        case 401, 403:
            throw .unauthorized(registry: endpoint.registry,
                                detail: credential == nil ? "the token service \(realmHost) refused anonymous access (HTTP \(response.status))"
                                    : "the token service \(realmHost) rejected the credentials (HTTP \(response.status))")
        default:
            let parsed = RegistryClient.errorBody(response.body)
            throw .registry(what: "token request to \(realmHost)", status: response.status, code: parsed?.code, message: parsed?.message)
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(response.body)
        } catch {
            throw .invalidAuthResponse(detail: "token service \(realmHost) answered with invalid JSON: \(error)")
        }
        let tokenText = json["token"]?.stringValue ?? json["access_token"]?.stringValue ?? ""
        guard !tokenText.isEmpty else {
            throw .invalidAuthResponse(detail: "token service \(realmHost) answered without \"token\" or \"access_token\"")
        }
        guard tokenText.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidAuthResponse(detail: "token from \(realmHost) contains characters not allowed in a header")
        }
        // Token spec: expires_in defaults to 60 s, and tokens never live less than 60 s.
        let lifetime = Double(max(json["expires_in"]?.integerValue ?? 60, 60))
        return CachedToken(token: SecretBytes(utf8: tokenText),
                           expiry: issued + lifetime - RegistryAuthenticator.expiryMargin)
    }

    private func bearer(_ token: SecretBytes) -> String {
        "Bearer " + token.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    private func basicAuthorization(username: String, password: SecretBytes) -> String {
        var joined = Array(username.utf8)
        joined.append(0x3A)
        password.withUnsafeBytes { joined.append(contentsOf: $0) }
        defer { zero(&joined) }
        return "Basic " + Base64.encode(joined)
    }

    /// Cache key of a scope set: sorted and space-joined.
    static func scopeKey(_ scopes: [String]) -> String {
        scopes.sorted().joined(separator: " ")
    }

    static func appendQuery(_ url: String, _ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return url }
        return url + (url.contains("?") ? "&" : "?") + formEncode(items)
    }

    static func hostPart(_ url: String) -> String {
        var text = Substring(url)
        if let scheme = text.firstRange(of: "://") { text = text[scheme.upperBound...] }
        if let end = text.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { text = text[..<end] }
        if let at = text.lastIndex(of: "@") { text = text[text.index(after: at)...] }
        return String(text)
    }

    static func isLoopbackURL(_ url: String) -> Bool {
        var host = hostPart(url)
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        return ImageReference.isLoopbackHost(host)
    }
}

/// `application/x-www-form-urlencoded` / query encoding of name-value pairs.
func formEncode(_ items: [(String, String)]) -> String {
    items.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
}
