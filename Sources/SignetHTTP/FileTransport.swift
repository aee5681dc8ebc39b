import FoundationEssentials
import Glibc

/// A `Transport` for `file://` URLs: reads local files with the same limits and error cases as
/// the network transport, for local mirrors and offline repositories.
///
/// Only `GET` and `HEAD` are supported. A missing file is `.notFound`; a directory or unreadable
/// file is `.io`. Responses carry status 200 and a `Content-Length` header.
public struct FileTransport: Transport {
    /// Size of the chunks handed to a `stream` sink.
    static let chunkSize = 1 << 20

    /// Creates the transport. It holds no state.
    public init() {}

    /// Reads the file named by `request.url` (at most `maxBodyBytes + 1` bytes).
    ///
    /// - Throws: `.invalidURL` for a URL that is not `file://` with an empty or `localhost` host,
    ///   `.invalidRequest` for methods other than GET/HEAD or a request body, `.notFound` if the
    ///   file does not exist, `.tooLarge` if it holds more than `maxBodyBytes` bytes, `.io` for
    ///   other read failures.
    public func send(_ request: HTTPRequest, maxBodyBytes: Int) throws(HTTPError) -> HTTPResponse {
        let cap = Int64(max(0, maxBodyBytes))
        let file = try OpenFile(request: request)
        if request.method == .head {
            return HTTPResponse(head: file.head(length: file.size), body: [])
        }
        if file.size > cap { throw .tooLarge(url: request.url, limit: cap) }
        var body: [UInt8] = []
        body.reserveCapacity(Int(file.size))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: FileTransport.chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            // Ask for one byte past the cap so a file that grew since fstat is still caught.
            let wanted = Int(min(Int64(chunk.count), cap + 1 - Int64(body.count)))
            let count = try file.readChunk(into: chunk, max: wanted)
            if count == 0 { break }
            if Int64(body.count + count) > cap { throw .tooLarge(url: request.url, limit: cap) }
            body.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
        return HTTPResponse(head: file.head(length: Int64(body.count)), body: body)
    }

    /// Streams the file named by `request.url` into `sink` in chunks of at most 1 MiB.
    ///
    /// - Throws: as `send`, plus `.sinkFailed` when `sink` throws. The sink never receives more
    ///   than `maxBodyBytes` bytes.
    public func stream(_ request: HTTPRequest, maxBodyBytes: Int64,
                       sink: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponseHead {
        let cap = max(0, maxBodyBytes)
        let file = try OpenFile(request: request)
        if request.method == .head { return file.head(length: file.size) }
        if file.size > cap { throw .tooLarge(url: request.url, limit: cap) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: FileTransport.chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var delivered: Int64 = 0
        while true {
            let wanted = Int(min(Int64(chunk.count), cap + 1 - delivered))
            let count = try file.readChunk(into: chunk, max: wanted)
            if count == 0 { break }
            if delivered + Int64(count) > cap { throw .tooLarge(url: request.url, limit: cap) }
            delivered += Int64(count)
            do {
                try sink(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
            } catch {
                throw .sinkFailed(url: request.url, underlying: error)
            }
        }
        return file.head(length: delivered)
    }
}

/// An open, regular file named by a `file://` request; closes the descriptor on `deinit`.
private final class OpenFile {
    let url: String
    let fd: Int32
    let size: Int64

    init(request: HTTPRequest) throws(HTTPError) {
        url = request.url
        guard request.method == .get || request.method == .head else {
            throw .invalidRequest(url: request.url, detail: "file:// supports only GET and HEAD, got \(request.method.rawValue)")
        }
        if request.body != nil {
            throw .invalidRequest(url: request.url, detail: "file:// requests cannot carry a body")
        }
        let path = try OpenFile.path(of: request.url)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound(url: request.url) }
            throw .io(url: request.url, detail: "cannot open \(path): \(String(cString: strerror(code)))")
        }
        var info = stat()
        if fstat(descriptor, &info) != 0 {
            let code = errno
            close(descriptor)
            throw .io(url: request.url, detail: "cannot stat \(path): \(String(cString: strerror(code)))")
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            close(descriptor)
            throw .io(url: request.url, detail: "\(path) is not a regular file")
        }
        fd = descriptor
        size = Int64(info.st_size)
    }

    deinit { close(fd) }

    /// The decoded local path of a `file://` URL.
    static func path(of url: String) throws(HTTPError) -> String {
        guard let components = URLComponents(string: url),
              components.scheme?.lowercased() == "file",
              components.query == nil, components.fragment == nil,
              components.user == nil, components.password == nil, components.port == nil
        else { throw .invalidURL(url) }
        let host = components.host ?? ""
        guard host.isEmpty || host.lowercased() == "localhost" else { throw .invalidURL(url) }
        let path = components.path
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { throw .invalidURL(url) }
        return path
    }

    /// Reads up to `max` bytes into the start of `buffer`; 0 means end of file.
    func readChunk(into buffer: UnsafeMutableRawBufferPointer, max: Int) throws(HTTPError) -> Int {
        guard max > 0, let base = buffer.baseAddress else { return 0 }
        while true {
            let count = read(fd, base, Swift.min(max, buffer.count))
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            throw .io(url: url, detail: "read failed: \(String(cString: strerror(code)))")
        }
    }

    func head(length: Int64) -> HTTPResponseHead {
        HTTPResponseHead(status: 200, headers: HTTPHeaders([("Content-Length", String(length))]), finalURL: url)
    }
}
