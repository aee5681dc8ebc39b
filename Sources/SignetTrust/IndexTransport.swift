import Foundation
import SignetCrypto
import SignetHTTP
import SignetOCI

/// Serves TUF metadata file names (`<base>NAME`) from the blobs a trust index lists, so the ordinary
/// TUF `Updater` runs unchanged against a registry. Blob bytes are checked against the index's digest
/// and bounded by the smaller of the caller's limit and the listed size; the TUF client then verifies
/// everything that matters.
final class IndexTransport: Transport, @unchecked Sendable {
    static let base = "oci-tuf://metadata/"
    let client: RegistryClient
    let repository: String
    let index: TrustIndex
    /// Bytes already held locally (verified earlier), by digest: served without a request when the index
    /// lists the same digest. Identical digests mean identical bytes.
    let local: [Digest: [UInt8]]

    init(client: RegistryClient, repository: String, index: TrustIndex, local: [Digest: [UInt8]] = [:]) {
        self.client = client
        self.repository = repository
        self.index = index
        self.local = local
    }

    func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let name = String(request.url.dropFirst(IndexTransport.base.count))
        guard request.url.hasPrefix(IndexTransport.base), let d = index.files[name] else {
            return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: [])
        }
        guard d.size <= Int64(maxBodyBytes) else { throw HTTPError.tooLarge(url: name, limit: Int64(maxBodyBytes)) }
        if let held = local[d.digest], Int64(held.count) == d.size {
            return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: held)
        }
        var body: [UInt8] = []
        body.reserveCapacity(Int(d.size))
        do {
            try client.fetchBlob(repository: repository, descriptor: d, what: "trust metadata \(name)", restart: { body.removeAll() }) { chunk in
                body.append(contentsOf: chunk)
            }
        } catch {
            if case .notFound = error { return HTTPResponse(head: HTTPResponseHead(status: 404, finalURL: request.url), body: []) }
            // Keep the registry client's error: a digest or size mismatch is a verification failure.
            throw HTTPError.sinkFailed(url: name, underlying: error)
        }
        return HTTPResponse(head: HTTPResponseHead(status: 200, finalURL: request.url), body: body)
    }

    func stream(_ request: HTTPRequest, maxBodyBytes: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let r = try send(request, maxBodyBytes: Int(clamping: maxBodyBytes))
        if r.status == 404 { throw HTTPError.notFound(url: request.url) }
        do { try r.body.withUnsafeBytes { try sink($0) } } catch { throw HTTPError.sinkFailed(url: request.url, underlying: error) }
        return r.head
    }
}
