import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetHTTP
import SignetJSON

/// Settings for a `RegistryClient`.
public struct RegistryClientOptions: Sendable {
    /// Retries for transient failures (connection failures, timeouts, 429 and 5xx).
    public var retry: RetryPolicy
    /// Largest manifest accepted, checked while reading and before parsing. Default 4 MiB.
    public var maxManifestBytes: Int
    /// Blobs up to this size are uploaded with one `PUT`; larger ones in `PATCH` chunks. Default 64 MiB.
    public var monolithicUploadLimit: Int64
    /// Chunk size of chunked uploads. Default 32 MiB.
    public var uploadChunkSize: Int64
    /// A monotonic clock in seconds, for token expiry.
    public var now: @Sendable () -> Double
    /// Every transfer must average at least this many bytes per second (default 64 KiB/s)...
    public var minimumRate: Int64 = 64 << 10
    /// ... after this many seconds of allowance (default 10), or it is stopped (`deadline` exceeded).
    public var transferAllowance: Double = 10
    /// A deadline for the whole operation (`--timeout`), applied to every transfer; nil for none.
    public var deadline: TransferDeadline?

    /// Creates options; every parameter defaults to the documented value.
    public init(retry: RetryPolicy = RetryPolicy(), maxManifestBytes: Int = VerifiedManifest.defaultMaxBytes,
                monolithicUploadLimit: Int64 = 64 << 20, uploadChunkSize: Int64 = 32 << 20,
                now: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.retry = retry
        self.maxManifestBytes = maxManifestBytes
        self.monolithicUploadLimit = monolithicUploadLimit
        self.uploadChunkSize = max(1, uploadChunkSize)
        self.now = now
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// What `uploadBlob` did.
public enum BlobUploadOutcome: String, Sendable {
    /// The registry already had the blob in the target repository; nothing was sent.
    case alreadyPresent = "present"
    /// The registry linked the blob from another repository (cross-repository mount).
    case mounted
    /// The blob's bytes were uploaded.
    case uploaded
}

/// Where the bytes of a blob to upload come from.
public enum BlobSource: Sendable {
    /// A local file, streamed from disk.
    case file(String)
    /// Bytes in memory.
    case bytes([UInt8])
}

/// What a `HEAD` on a manifest reported. These are the registry's claims, not verified.
public struct ManifestHead: Sendable {
    /// `Docker-Content-Digest`, if sent (unverified).
    public var claimedDigest: String?
    /// `Content-Type`, if sent.
    public var mediaType: String?
    /// `Content-Length`, if sent.
    public var size: Int64?
}

/// A client for one registry's Distribution API (OCI distribution spec v1.1, as implemented by
/// CNCF Distribution 2.8 and Docker Hub).
///
/// - Every read is bounded: manifests by `maxManifestBytes` (or the expected size), blobs by their
///   descriptor's size, so endless data is cut off.
/// - `Docker-Content-Digest` and `Content-Length` are never trusted: the digest computed over the
///   bytes received decides.
/// - Authentication (anonymous, basic, bearer tokens cached per scope) is handled inside; secrets
///   never appear in errors.
/// - Transient failures are retried according to `RetryPolicy`.
///
/// Thread-safe: one client may serve several concurrent transfers.
public final class RegistryClient: Sendable {
    /// The registry's scheme and address.
    public let endpoint: RegistryEndpoint
    let transport: any Transport
    public let options: RegistryClientOptions
    let authenticator: RegistryAuthenticator

    /// Creates a client. Nothing is sent until the first call.
    public init(endpoint: RegistryEndpoint, transport: any Transport,
                credentials: any CredentialProvider = AnonymousCredentials(),
                options: RegistryClientOptions = RegistryClientOptions()) {
        self.endpoint = endpoint
        self.transport = transport
        self.options = options
        self.authenticator = RegistryAuthenticator(endpoint: endpoint, provider: credentials, now: options.now)
    }

    /// Number of bearer tokens requested so far (tokens are cached per scope set).
    public var tokenRequests: Int { authenticator.tokensFetched }

    /// The scope that reading `repository` needs.
    public static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    /// The scope that writing `repository` needs.
    public static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    // MARK: - API version check

    /// `GET /v2/` with authentication: succeeds when the registry speaks the Distribution API and
    /// accepts the credentials.
    ///
    /// - Throws: `OCIError.unauthorized`, `.network`, `.registry`.
    public func checkAPI() throws(OCIError) {
        let url = endpoint.baseURL + "/v2/"
        let what = "API version check \(url)"
        let response = try send(.get, url: url, scopes: [], maxBodyBytes: 64 * 1024, what: what)
        guard (200..<300).contains(response.status) else { throw failure(response, what: what) }
    }

    // MARK: - Manifests

    /// `GET` a manifest by tag or digest, reading at most `maxBytes` (default: `maxManifestBytes`).
    /// The bytes are NOT verified here; see `VerifiedManifest.verify`.
    ///
    /// - Returns: the body and the `Content-Type` header.
    /// - Throws: `OCIError.tooLarge`, `.notFound`, `.unauthorized`, `.registry`, `.network`.
    public func fetchManifest(repository: String, reference: String, maxBytes: Int? = nil,
                              what: String) throws(OCIError) -> (bytes: [UInt8], contentType: String?) {
        let limit = min(maxBytes ?? options.maxManifestBytes, options.maxManifestBytes)
        let url = manifestURL(repository, reference)
        let response = try send(.get, url: url, headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))],
                                scopes: [RegistryClient.pullScope(repository)], maxBodyBytes: limit, what: what)
        guard response.status == 200 else { throw failure(response, what: what) }
        return (response.body, response.head.headers["Content-Type"])
    }

    /// `GET` a manifest unless it is still the one whose digest is `known` (`If-None-Match`; registries
    /// answer 304 without a body when the reference still names it).
    ///
    /// - Returns: nil when the registry says the manifest is unchanged; the bytes otherwise (never
    ///   trusted: the caller checks them as for `fetchManifest`).
    public func fetchManifest(repository: String, reference: String, unlessStill known: Digest, maxBytes: Int? = nil,
                              what: String) throws(OCIError) -> (bytes: [UInt8], contentType: String?)? {
        let limit = min(maxBytes ?? options.maxManifestBytes, options.maxManifestBytes)
        let url = manifestURL(repository, reference)
        let response = try send(.get, url: url, headers: [("Accept", MediaType.manifestAccept.joined(separator: ", ")),
                                                          ("If-None-Match", "\"\(known.ociString)\"")],
                                scopes: [RegistryClient.pullScope(repository)], maxBodyBytes: limit, what: what)
        if response.status == 304 { return nil }
        guard response.status == 200 else { throw failure(response, what: what) }
        return (response.body, response.head.headers["Content-Type"])
    }

    /// `HEAD` a manifest: whether it exists, and what the registry claims about it.
    ///
    /// - Returns: `nil` for 404.
    /// - Throws: `OCIError.unauthorized`, `.registry`, `.network`.
    public func headManifest(repository: String, reference: String) throws(OCIError) -> ManifestHead? {
        let url = manifestURL(repository, reference)
        let what = "manifest \(repository):\(reference)"
        let response = try send(.head, url: url, headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))],
                                scopes: [RegistryClient.pullScope(repository)], maxBodyBytes: 0, what: what)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, what: what) }
        let headers = response.head.headers
        return ManifestHead(claimedDigest: headers["Docker-Content-Digest"], mediaType: headers["Content-Type"],
                            size: headers["Content-Length"].flatMap { Int64($0) })
    }

    /// `PUT` a manifest under `reference` (a tag, or its digest). The bytes are sent unchanged.
    ///
    /// - Returns: the sha256 digest of `bytes`, computed locally.
    /// - Throws: `OCIError.registry` (for example `MANIFEST_BLOB_UNKNOWN` when a referenced blob
    ///   is missing), `.unauthorized`, `.network`, and `.digestMismatch` if the registry reports a
    ///   different digest for what it stored.
    @discardableResult
    public func putManifest(repository: String, reference: String, bytes: [UInt8], mediaType: String) throws(OCIError) -> Digest {
        let digest = try computeDigest(.sha256, bytes)
        let url = manifestURL(repository, reference)
        let what = "manifest upload \(repository):\(reference)"
        let response = try send(.put, url: url, headers: [("Content-Type", mediaType)], body: .bytes(bytes),
                                scopes: [RegistryClient.pushScope(repository)], maxBodyBytes: 64 * 1024, what: what)
        guard response.status == 201 || response.status == 200 else { throw failure(response, what: what) }
        if let claimed = response.head.headers["Docker-Content-Digest"], claimed.hasPrefix("sha256:"), claimed != digest.ociString {
            throw .digestMismatch(what: "\(what) (registry's record of the stored manifest)", expected: digest.ociString, received: claimed)
        }
        return digest
    }

    // MARK: - Blobs

    /// `HEAD` a blob: whether the repository has it with the descriptor's size.
    ///
    /// - Throws: `OCIError.unauthorized`, `.registry`, `.network`.
    public func blobExists(repository: String, descriptor: Descriptor, scopes: [String]? = nil) throws(OCIError) -> Bool {
        let url = blobURL(repository, descriptor.digest)
        let what = "blob \(descriptor.digest) in \(repository)"
        let response = try send(.head, url: url, scopes: scopes ?? [RegistryClient.pullScope(repository)],
                                maxBodyBytes: 0, what: what)
        if response.status == 404 { return false }
        guard response.status == 200 else { throw failure(response, what: what) }
        if let length = response.head.headers["Content-Length"].flatMap({ Int64($0) }), length != descriptor.size {
            return false
        }
        return true
    }

    /// `GET` a blob and verify it while it streams: at most `descriptor.size` bytes are read, the
    /// digest is computed over exactly the bytes handed to `consume`, and the call fails unless the
    /// size and digest match. `consume` is called with the bytes in order, one call at a time, but
    /// for large blobs from a helper thread (so that hashing and storing overlap the download); it
    /// has returned for the last time when `fetchBlob` returns. Redirects (to a CDN, for example) are followed; credentials are
    /// dropped when a redirect leaves the registry's origin.
    ///
    /// - Parameters:
    ///   - restart: called before a retry; the consumer must discard what it received so far.
    ///   - consume: receives the bytes in order; may throw to abort (an `OCIError` it throws is
    ///     rethrown as is).
    /// - Throws: `OCIError.tooLarge` (more bytes than the descriptor says), `.sizeMismatch` (fewer),
    ///   `.digestMismatch`, `.notFound`, `.unauthorized`, `.registry`, `.network`.
    public func fetchBlob(repository: String, descriptor: Descriptor, what: String,
                          restart: () throws(OCIError) -> Void = {},
                          consume: (UnsafeRawBufferPointer) throws -> Void) throws(OCIError) {
        let url = blobURL(repository, descriptor.digest)
        let scopes = [RegistryClient.pullScope(repository)]
        let algorithm = descriptor.digest.algorithm
        let computed: Digest
        let received: Int64
        if descriptor.size >= RegistryClient.pipelineThreshold {
            // Large blob: hash and consume on a helper thread while the next bytes arrive.
            let outcome: Result<(Digest, Int64), OCIError> = withoutActuallyEscaping(consume) { escapable in
                let pipeline: HashingPipeline
                do throws(OCIError) {
                    pipeline = try HashingPipeline(algorithm: algorithm, consume: escapable)
                } catch {
                    return .failure(error)
                }
                defer { pipeline.close() }
                do throws(OCIError) {
                    try stream(url: url, scopes: scopes, maxBodyBytes: descriptor.size, what: what,
                               restart: { () throws(OCIError) in
                                   try pipeline.reset()
                                   try restart()
                               },
                               sink: { chunk in try pipeline.feed(chunk) })
                    return .success(try pipeline.finish())
                } catch {
                    return .failure(error)
                }
            }
            (computed, received) = try outcome.get()
        } else {
            var hasher = try makeHasher(algorithm)
            var count: Int64 = 0
            try stream(url: url, scopes: scopes, maxBodyBytes: descriptor.size, what: what,
                       restart: { () throws(OCIError) in
                           hasher = try makeHasher(algorithm)
                           count = 0
                           try restart()
                       },
                       sink: { chunk in
                           hasher.update(chunk)
                           count += Int64(chunk.count)
                           try consume(chunk)
                       })
            computed = hasher.finalize()
            received = count
        }
        guard received == descriptor.size else {
            throw .sizeMismatch(what: what, expected: descriptor.size, received: received)
        }
        guard computed == descriptor.digest else {
            throw .digestMismatch(what: what, expected: descriptor.digest.ociString, received: computed.ociString)
        }
    }

    /// Blobs at least this large are hashed on a helper thread (`HashingPipeline`).
    static let pipelineThreshold: Int64 = 4 << 20

    /// Uploads a blob unless the repository already has it.
    ///
    /// Order: `HEAD` (present → done); a cross-repository mount from each of `mountFrom` (201 →
    /// done; 202 opens an ordinary upload session); otherwise `POST` an upload session and send
    /// the bytes — one `PUT` up to `monolithicUploadLimit`, else `PATCH` chunks and a closing
    /// `PUT`. The registry checks the digest; the whole upload is retried on transient failures.
    ///
    /// - Throws: `OCIError.registry` (for example `DIGEST_INVALID`), `.unauthorized`, `.network`,
    ///   `.io` for an unreadable source file, `.invalidArgument` for a bad `mountFrom` name.
    /// - Parameter checkExisting: false skips the `HEAD` for a blob the caller knows to be new (for
    ///   example metadata it has just signed); uploading a blob that exists after all is harmless.
    public func uploadBlob(repository: String, descriptor: Descriptor, source: BlobSource,
                           mountFrom: [String] = [], checkExisting: Bool = true) throws(OCIError) -> BlobUploadOutcome {
        var scopes = [RegistryClient.pushScope(repository)]
        for other in mountFrom where other != repository {
            guard ImageReference.isValidRepositoryPath(other) else {
                throw .invalidArgument("mount source \(quoted(other)) is not a repository path")
            }
            scopes.append(RegistryClient.pullScope(other))
        }
        if checkExisting, try blobExists(repository: repository, descriptor: descriptor, scopes: scopes) {
            return .alreadyPresent
        }
        var attempt = 1
        while true {
            do {
                return try uploadOnce(repository: repository, descriptor: descriptor, source: source,
                                      mountFrom: mountFrom.filter { $0 != repository }, scopes: scopes)
            } catch let error where RegistryClient.isTransient(error) && attempt < options.retry.attempts {
                options.retry.sleep(options.retry.delay(after: attempt))
                attempt += 1
            }
        }
    }

    private func uploadOnce(repository: String, descriptor: Descriptor, source: BlobSource,
                            mountFrom: [String], scopes: [String]) throws(OCIError) -> BlobUploadOutcome {
        let what = "upload of blob \(descriptor.digest) to \(repository)"
        var location: String? = nil
        for other in mountFrom {
            let url = endpoint.baseURL + "/v2/\(repository)/blobs/uploads/?mount=\(descriptor.digest.ociString)&from=\(other)"
            let response = try send(.post, url: url, scopes: scopes, maxBodyBytes: 64 * 1024, what: what, retry: false)
            if response.status == 201 { return .mounted }
            guard response.status == 202 else { throw failure(response, what: what) }
            location = try uploadLocation(response, what: what)
            break
        }
        if location == nil {
            let url = endpoint.baseURL + "/v2/\(repository)/blobs/uploads/"
            let response = try send(.post, url: url, scopes: scopes, maxBodyBytes: 64 * 1024, what: what, retry: false)
            guard response.status == 202 else { throw failure(response, what: what) }
            location = try uploadLocation(response, what: what)
        }
        guard var session = location else { throw .registry(what: what, status: 202, code: nil, message: "no upload location") }

        let size = descriptor.size
        if size > options.monolithicUploadLimit {
            // OCI distribution spec, "Pushing a blob in chunks": PATCH with Content-Range, then PUT.
            var offset: Int64 = 0
            while offset < size {
                let length = min(options.uploadChunkSize, size - offset)
                let body = try bodySlice(source, offset: offset, length: length, what: what)
                let response = try send(.patch, url: session,
                                        headers: [("Content-Type", "application/octet-stream"),
                                                  ("Content-Range", "\(offset)-\(offset + length - 1)")],
                                        body: body, scopes: scopes, maxBodyBytes: 64 * 1024, what: what, retry: false)
                guard response.status == 202 else { throw failure(response, what: what) }
                session = try uploadLocation(response, what: what)
                offset += length
            }
            let response = try send(.put, url: RegistryClient.appendingQuery(session, "digest=" + descriptor.digest.ociString),
                                    scopes: scopes, maxBodyBytes: 64 * 1024, what: what, retry: false)
            guard response.status == 201 else { throw failure(response, what: what) }
        } else {
            let body = try bodySlice(source, offset: 0, length: size, what: what)
            let response = try send(.put, url: RegistryClient.appendingQuery(session, "digest=" + descriptor.digest.ociString),
                                    headers: [("Content-Type", "application/octet-stream")], body: body,
                                    scopes: scopes, maxBodyBytes: 64 * 1024, what: what, retry: false)
            guard response.status == 201 else { throw failure(response, what: what) }
        }
        return .uploaded
    }

    private func bodySlice(_ source: BlobSource, offset: Int64, length: Int64, what: String) throws(OCIError) -> HTTPBody {
        switch source {
        case .file(let path):
            return .file(path: path, offset: offset, length: length)
        case .bytes(let bytes):
            guard offset >= 0, length >= 0, offset + length <= Int64(bytes.count) else {
                throw .invalidArgument("\(what): the source holds \(bytes.count) bytes, the descriptor says \(offset + length)")
            }
            return .bytes(Array(bytes[Int(offset)..<Int(offset + length)]))
        }
    }

    private func uploadLocation(_ response: HTTPResponse, what: String) throws(OCIError) -> String {
        guard let location = response.head.headers["Location"], let url = endpoint.resolve(location) else {
            throw .registry(what: what, status: response.status, code: nil, message: "missing or unusable upload Location header")
        }
        return url
    }

    // MARK: - Other resources on the same server

    /// `GET` a path of this server (for services that share a registry's authentication, such as a
    /// Notary v1 trust server), reading at most `maxBytes`, authenticated for `scopes`.
    ///
    /// - Returns: the body, or nil for 404.
    /// - Throws: `OCIError.tooLarge`, `.unauthorized`, `.registry`, `.network`.
    public func fetch(path: String, scopes: [String], maxBytes: Int, what: String) throws(OCIError) -> [UInt8]? {
        let url = endpoint.baseURL + (path.hasPrefix("/") ? path : "/" + path)
        let response = try send(.get, url: url, scopes: scopes, maxBodyBytes: maxBytes, what: what)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, what: what) }
        return response.body
    }

    // MARK: - Tags

    /// Lists the tags of `repository`, following `Link: <…>; rel="next"` pagination.
    ///
    /// - Parameters:
    ///   - pageSize: `n` sent with each request.
    ///   - maxTags: stop with `.tooLarge` beyond this many tags.
    /// - Throws: `OCIError.notFound`, `.unauthorized`, `.registry` (also for an unparsable page),
    ///   `.network`, `.tooLarge`.
    public func listTags(repository: String, pageSize: Int = 100, maxTags: Int = 100_000) throws(OCIError) -> [String] {
        var url: String? = endpoint.baseURL + "/v2/\(repository)/tags/list?n=\(max(1, pageSize))"
        var tags: [String] = []
        var pages = 0
        let what = "tag list of \(repository)"
        while let current = url {
            pages += 1
            guard pages <= max(1, maxTags / max(1, pageSize)) + 2 else { throw .tooLarge(what: what, limit: Int64(maxTags)) }
            let response = try send(.get, url: current, scopes: [RegistryClient.pullScope(repository)],
                                    maxBodyBytes: 4 << 20, what: what)
            guard response.status == 200 else { throw failure(response, what: what) }
            func malformed(_ reason: String) -> OCIError {
                .registry(what: what, status: response.status, code: nil, message: "unusable tag list: " + reason)
            }
            let json: JSONValue
            do {
                json = try JSONParser.parse(response.body)
            } catch {
                throw malformed("not strict JSON: \(error)")
            }
            if let list = json["tags"], !list.isNull {
                guard let entries = list.arrayValue else { throw malformed("\"tags\" is not an array") }
                for entry in entries {
                    guard let tag = entry.stringValue else { throw malformed("a tag is not a string") }
                    tags.append(tag)
                }
            }
            guard tags.count <= maxTags else { throw .tooLarge(what: what, limit: Int64(maxTags)) }
            url = nil
            if let link = response.head.headers.values("Link").compactMap(RegistryClient.nextLink).first {
                guard let next = endpoint.resolve(link), endpoint.isSameOrigin(next) else {
                    throw .registry(what: what, status: 200, code: nil, message: "pagination link leaves the registry")
                }
                url = next
            }
        }
        return tags
    }

    /// The target of `rel="next"` in one `Link` header value (RFC 8288), or nil.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
            let params = part[part.index(after: close)...].lowercased()
            if params.contains("rel=\"next\"") || params.contains("rel=next") {
                return String(part[part.index(after: open)..<close])
            }
        }
        return nil
    }

    // MARK: - Request execution

    /// URL of a manifest.
    func manifestURL(_ repository: String, _ reference: String) -> String {
        endpoint.baseURL + "/v2/\(repository)/manifests/\(reference)"
    }

    /// URL of a blob.
    func blobURL(_ repository: String, _ digest: Digest) -> String {
        endpoint.baseURL + "/v2/\(repository)/blobs/\(digest.ociString)"
    }

    /// The scheme and host of `url` (what an error may show of a URL that is not the registry's).
    static func origin(of url: String) -> String {
        for scheme in ["https://", "http://"] where url.hasPrefix(scheme) {
            let host = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return scheme + String(host.split(separator: "@").last ?? host)
        }
        return "another host"
    }

    static func appendingQuery(_ url: String, _ item: String) -> String {
        url + (url.contains("?") ? "&" : "?") + item
    }

    /// Sends one request with authentication and (unless `retry` is false) retries; returns any
    /// status. One 401 triggers one re-authentication and a repeat.
    func send(_ method: HTTPRequest.Method, url: String, headers: [(String, String)] = [], body: HTTPBody? = nil,
              scopes: [String], maxBodyBytes: Int, what: String, retry: Bool = true) throws(OCIError) -> HTTPResponse {
        var attempt = 1
        var reauthenticated = false
        let attempts = retry ? options.retry.attempts : 1
        while true {
            var request = HTTPRequest(method: method, url: url, headers: headers, body: body,
                                      deadline: transferDeadline(bytes: Int64(maxBodyBytes) + (body?.length ?? 0)))
            let sameOrigin = endpoint.isSameOrigin(url)
            if sameOrigin, let authorization = try authenticator.authorization(for: scopes, client: self) {
                request.headers.append(("Authorization", authorization))
            }
            let response: HTTPResponse
            do {
                response = try transport.send(request, maxBodyBytes: maxBodyBytes)
            } catch {
                if RegistryClient.isTransient(error), attempt < attempts {
                    options.retry.sleep(options.retry.delay(after: attempt))
                    attempt += 1
                    continue
                }
                throw RegistryClient.mapTransportError(error, what: what, attempts: attempt)
            }
            // Only the registry's own challenge is answered: a 401 from a host a redirect led to names
            // a realm of that host's choosing, which must never receive the registry's credentials.
            if response.status == 401, sameOrigin, endpoint.isSameOrigin(response.head.finalURL), !reauthenticated {
                reauthenticated = true
                try authenticator.handleUnauthorized(response.head.headers, scopes: scopes, client: self)
                continue
            }
            if RegistryClient.isRetryable(status: response.status), attempt < attempts {
                options.retry.sleep(options.retry.delay(after: attempt))
                attempt += 1
                continue
            }
            return response
        }
    }

    /// The deadline of one transfer of up to `bytes` bytes: `transferAllowance` plus the time those bytes
    /// take at `minimumRate`, and never later than the operation's own deadline.
    func transferDeadline(bytes: Int64) -> TransferDeadline {
        let rate = Double(max(1, options.minimumRate))
        let own = TransferDeadline(secondsFromNow: options.transferAllowance + Double(max(0, bytes)) / rate)
        guard let overall = options.deadline else { return own }
        return min(own, overall)
    }

    /// Sends a request without registry authentication (the `/v2/` probe, token requests), with retries.
    func sendWithRetry(_ request: HTTPRequest, maxBodyBytes: Int, what: String) throws(OCIError) -> HTTPResponse {
        var attempt = 1
        var request = request
        while true {
            request.deadline = transferDeadline(bytes: Int64(maxBodyBytes) + (request.body?.length ?? 0))
            do {
                let response = try transport.send(request, maxBodyBytes: maxBodyBytes)
                if RegistryClient.isRetryable(status: response.status), attempt < options.retry.attempts {
                    options.retry.sleep(options.retry.delay(after: attempt))
                    attempt += 1
                    continue
                }
                return response
            } catch {
                if RegistryClient.isTransient(error), attempt < options.retry.attempts {
                    options.retry.sleep(options.retry.delay(after: attempt))
                    attempt += 1
                    continue
                }
                throw RegistryClient.mapTransportError(error, what: what, attempts: attempt)
            }
        }
    }

    /// Streams a 2xx body into `sink` with authentication and retries (each retry calls `restart`).
    func stream(url: String, scopes: [String], maxBodyBytes: Int64, what: String,
                restart: () throws(OCIError) -> Void,
                sink: (UnsafeRawBufferPointer) throws -> Void) throws(OCIError) {
        var attempt = 1
        var reauthenticated = false
        var first = true
        while true {
            if !first { try restart() }
            first = false
            var request = HTTPRequest(method: .get, url: url, deadline: transferDeadline(bytes: maxBodyBytes))
            if let authorization = try authenticator.authorization(for: scopes, client: self) {
                request.headers.append(("Authorization", authorization))
            }
            do {
                _ = try transport.stream(request, maxBodyBytes: maxBodyBytes, sink: sink)
                return
            } catch {
                switch error {
                case .sinkFailed(_, let underlying):
                    if let ociError = underlying as? OCIError { throw ociError }
                    throw .io(path: what, detail: "\(underlying)")
                case .tooLarge:
                    throw .tooLarge(what: what, limit: maxBodyBytes)
                case .declaredTooLarge(_, let declared, _):
                    throw .declaredTooLarge(what: what, declared: declared, limit: maxBodyBytes)
                case .interrupted:
                    throw .interrupted
                case .notFound:
                    throw .notFound(what: what)
                case .status(401, _, _) where !reauthenticated:
                    reauthenticated = true
                    // The streaming call does not return error headers: learn the challenge with a HEAD.
                    var probe = HTTPRequest(method: .head, url: url, deadline: transferDeadline(bytes: 0))
                    if let authorization = try authenticator.authorization(for: scopes, client: self) {
                        probe.headers.append(("Authorization", authorization))
                    }
                    let response: HTTPResponse
                    do {
                        response = try transport.send(probe, maxBodyBytes: 0)
                    } catch {
                        throw RegistryClient.mapTransportError(error, what: what, attempts: attempt)
                    }
                    if response.status == 401 {
                        guard endpoint.isSameOrigin(response.head.finalURL) else {
                            throw .unauthorized(registry: endpoint.registry, detail: "\(what): the registry redirected to \(RegistryClient.origin(of: response.head.finalURL)), which answered HTTP 401; the registry's credentials are never sent to another host")
                        }
                        try authenticator.handleUnauthorized(response.head.headers, scopes: scopes, client: self)
                    }
                    continue
                case .status(401, _, _):
                    throw .unauthorized(registry: endpoint.registry, detail: "\(what): the registry still answers HTTP 401 after authenticating")
                case .status(let code, _, let body):
                    if RegistryClient.isRetryable(status: code), attempt < options.retry.attempts {
                        options.retry.sleep(options.retry.delay(after: attempt))
                        attempt += 1
                        continue
                    }
                    let parsed = RegistryClient.errorBody(Array(body.utf8))
                    throw .registry(what: what, status: code, code: parsed?.code, message: parsed?.message ?? (body.isEmpty ? nil : body))
                default:
                    if RegistryClient.isTransient(error), attempt < options.retry.attempts {
                        options.retry.sleep(options.retry.delay(after: attempt))
                        attempt += 1
                        continue
                    }
                    throw RegistryClient.mapTransportError(error, what: what, attempts: attempt)
                }
            }
        }
    }

    /// The error for a response with an unexpected status.
    func failure(_ response: HTTPResponse, what: String) -> OCIError {
        let parsed = RegistryClient.errorBody(response.body)
        switch response.status {
        case 404:
            return .notFound(what: parsed?.code.map { "\(what) (\($0))" } ?? what)
        case 401:
            return .unauthorized(registry: endpoint.registry,
                                 detail: "\(what): " + authenticator.rejectionDetail(response.head.headers, body: response.body))
        default:
            // A non-JSON body (for example "Client sent an HTTP request to an HTTPS server.") is
            // shown as text, shortened and with control characters replaced.
            let message = parsed?.message ?? RegistryClient.printable(response.body)
            return .registry(what: what, status: response.status, code: parsed?.code, message: message)
        }
    }

    /// Up to 200 characters of `body` as text with control characters replaced, or nil when empty.
    static func printable(_ body: [UInt8]) -> String? {
        var text = ""
        for scalar in String(decoding: body.prefix(800), as: UTF8.self).unicodeScalars.prefix(200) {
            text.unicodeScalars.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? " " : scalar)
        }
        text = text.trimmingWhitespace(keepingNewlines: true)
        return text.isEmpty ? nil : text
    }

    /// The first `code` and `message` of an OCI error body `{"errors":[{"code","message"}]}`.
    static func errorBody(_ body: [UInt8]) -> (code: String?, message: String?)? {
        guard !body.isEmpty, body.count <= 1 << 20,
              let json = try? JSONParser.parse(body), let first = json["errors"]?[0]
        else { return nil }
        // Decoded JSON strings may hold control characters (`\u001b`): replaced, like any registry text
        // that reaches a terminal.
        let message = first["message"]?.stringValue.map { RegistryClient.withoutControls(String($0.prefix(300))) }
        return (first["code"]?.stringValue.map { RegistryClient.withoutControls(String($0.prefix(64))) }, message)
    }

    /// `text` with C0 and C1 control characters, DEL and bidirectional overrides and isolates replaced
    /// by spaces.
    static func withoutControls(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let control = v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            out.unicodeScalars.append(control ? " " : scalar)
        }
        return out
    }

    static func isRetryable(status: Int) -> Bool { RetryPolicy.isRetryable(status: status) }

    /// Connection failures and timeouts are worth retrying; so are `OCIError.network` failures
    /// and retryable statuses inside uploads.
    static func isTransient(_ error: HTTPError) -> Bool {
        switch error {
        // A connection failure without a URL is the transport itself unusable (libcurl missing or too
        // old): asking again cannot help.
        case .connection(let url, _): return !url.isEmpty
        case .timeout: return true
        case .status(let code, _, _): return RetryPolicy.isRetryable(status: code)
        default: return false
        }
    }

    static func isTransient(_ error: OCIError) -> Bool {
        switch error {
        case .network(_, let underlying, _): return isTransient(underlying)
        case .registry(_, let status, _, _): return RetryPolicy.isRetryable(status: status)
        default: return false
        }
    }

    static func mapTransportError(_ error: HTTPError, what: String, attempts: Int) -> OCIError {
        switch error {
        case .notFound: return .notFound(what: what)
        case .tooLarge(_, let limit): return .tooLarge(what: what, limit: limit)
        case .declaredTooLarge(_, let declared, let limit): return .declaredTooLarge(what: what, declared: declared, limit: limit)
        case .interrupted: return .interrupted
        case .io(let url, let detail): return .io(path: url, detail: detail)
        default: return .network(what: what, underlying: error, attempts: attempts)
        }
    }
}

func makeHasher(_ algorithm: DigestAlgorithm) throws(OCIError) -> StreamingDigest {
    do {
        return try StreamingDigest(algorithm)
    } catch {
        throw .io(path: "(hash)", detail: "cannot start \(algorithm.rawValue): \(error)")
    }
}

extension ImageReference {
    /// Whether `path` is a valid repository path (components joined by `/`).
    static func isValidRepositoryPath(_ path: String) -> Bool {
        !path.isEmpty && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isValidPathComponent)
    }
}
