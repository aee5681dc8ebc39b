import CCurl
import FoundationEssentials
import Glibc

/// The body to upload, read by libcurl through `curlRead` and rewound through `curlSeek`.
final class CurlUpload {
    enum Source {
        case bytes([UInt8])
        case file(descriptor: Int32, offset: Int64)
    }

    let source: Source
    let length: Int64
    var position: Int64 = 0
    /// Set when reading the source failed; the transfer then aborts with `.io`.
    var failure: String?

    init(bytes: [UInt8]) {
        source = .bytes(bytes)
        length = Int64(bytes.count)
    }

    /// Opens `path` and checks that it holds at least `offset + length` bytes.
    init(path: String, offset: Int64, length: Int64, url: String) throws(HTTPError) {
        guard offset >= 0, length >= 0, offset <= Int64.max - length else {
            throw .invalidRequest(url: url, detail: "file body offset \(offset) and length \(length) must be non-negative")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            throw .io(url: url, detail: "cannot open upload file \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw .io(url: url, detail: "upload file \(path) is not a readable regular file")
        }
        guard Int64(info.st_size) >= offset + length else {
            close(descriptor)
            throw .io(url: url, detail: "upload file \(path) has \(info.st_size) bytes, expected at least \(offset + length) (offset \(offset) + length \(length))")
        }
        source = .file(descriptor: descriptor, offset: offset)
        self.length = length
    }

    deinit {
        if case .file(let descriptor, _) = source { close(descriptor) }
    }

    /// Copies up to `capacity` next bytes into `buffer`; returns the count, 0 at the end, or
    /// nil after recording a failure.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        let wanted = Int(min(Int64(capacity), length - position))
        if wanted <= 0 { return 0 }
        switch source {
        case .bytes(let bytes):
            let start = Int(position)
            let copied = bytes.withUnsafeBytes { all -> Bool in
                guard let base = all.baseAddress else { return false }
                buffer.copyMemory(from: base + start, byteCount: wanted)
                return true
            }
            guard copied else {
                failure = "upload buffer is unexpectedly empty"
                return nil
            }
            position += Int64(wanted)
            return wanted
        case .file(let descriptor, let offset):
            while true {
                let count = pread(descriptor, buffer, wanted, off_t(offset + position))
                if count > 0 {
                    position += Int64(count)
                    return count
                }
                if count == 0 {
                    failure = "upload file ended after \(position) of \(length) bytes (was it truncated while sending?)"
                    return nil
                }
                if errno == EINTR { continue }
                failure = "reading the upload file failed: \(String(cString: strerror(errno)))"
                return nil
            }
        }
    }
}

/// State of one HTTP exchange (one hop of a redirect chain), shared with libcurl's callbacks
/// through an unretained pointer that is valid for the duration of `curl_easy_perform`.
final class CurlExchange {
    /// What happens to the body of the final response.
    enum Disposition {
        /// Hand it to the caller (buffer or sink), counting against the limit.
        case deliver
        /// A redirect that will be followed: read and drop at most `discardLimit` bytes.
        case discard
        /// A non-2xx response while streaming: keep at most `errorBodyLimit` bytes for the error.
        case captureError
    }

    /// Why a callback stopped the transfer.
    enum Stop {
        case bodyTooLarge
        case declaredTooLarge(Int64)
        case headersTooLarge
        case deadlineExceeded
        case interrupted
        case sinkFailed(any Error)
        /// Enough of a redirect or error body was read; not a failure.
        case enoughRead
    }

    static let maxHeaderBytes = 256 * 1024
    static let discardLimit = 64 * 1024
    static let errorBodyLimit = 64 * 1024

    let limit: Int64
    let isHead: Bool
    let mayFollowRedirects: Bool
    let sink: ((UnsafeRawBufferPointer) throws -> Void)?
    let upload: CurlUpload?
    let deadline: TransferDeadline?
    let started = TransferDeadline.now()

    private(set) var status = 0
    private(set) var headers: [(String, String)] = []
    private(set) var headersComplete = false
    private(set) var disposition: Disposition = .deliver
    private(set) var delivered: Int64 = 0
    private(set) var body: [UInt8] = []
    private(set) var errorBody: [UInt8] = []
    private(set) var stop: Stop?
    private var headerBytes = 0
    private var discarded = 0

    init(limit: Int64, isHead: Bool, mayFollowRedirects: Bool,
         sink: ((UnsafeRawBufferPointer) throws -> Void)?, upload: CurlUpload?, deadline: TransferDeadline? = nil) {
        self.limit = limit
        self.isHead = isHead
        self.mayFollowRedirects = mayFollowRedirects
        self.sink = sink
        self.upload = upload
        self.deadline = deadline
    }

    /// Seconds since the exchange began.
    var elapsed: Double { Double(TransferDeadline.now() - started) / 1e9 }

    /// Checks the deadline and a requested interruption; records why when the transfer must stop.
    /// Called by libcurl's progress callback at least once a second, and for every received chunk.
    func mayContinue() -> Bool {
        if TransferInterruption.isRequested {
            stop = .interrupted
            return false
        }
        if let deadline, deadline.hasPassed {
            stop = .deadlineExceeded
            return false
        }
        return true
    }

    /// Whether this exchange ended in a redirect the transport should follow.
    var isRedirectToFollow: Bool { headersComplete && disposition == .discard }

    /// Handles one header line (status line, field, or the blank line ending a block).
    /// Returns false to abort the transfer.
    func receiveHeaderLine(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        headerBytes += line.count
        if headerBytes > CurlExchange.maxHeaderBytes {
            stop = .headersTooLarge
            return false
        }
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        let content = UnsafeBufferPointer(rebasing: line[0..<end])

        if content.starts(with: "HTTP/".utf8) {
            // A new response begins (after 1xx, or the first one): keep only its headers.
            status = CurlExchange.parseStatus(content) ?? 0
            headers = []
            headersComplete = false
            return true
        }
        if content.isEmpty {
            if status >= 200 && !headersComplete {
                headersComplete = true
                return decideDisposition()
            }
            return true
        }
        if headersComplete { return true }  // trailer fields after a chunked body: ignored
        if let first = content.first, first == 0x20 || first == 0x09, !headers.isEmpty {
            // Obsolete line folding (RFC 9112 §5.2): join with one space.
            let continuation = String(decoding: content, as: UTF8.self).trimmingASCIIWhitespace()
            headers[headers.count - 1].1 += " " + continuation
            return true
        }
        guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else { return true }
        let name = String(decoding: content[..<colon], as: UTF8.self).trimmingASCIIWhitespace()
        let value = String(decoding: content[(colon + 1)...], as: UTF8.self).trimmingASCIIWhitespace()
        if !name.isEmpty { headers.append((name, value)) }
        return true
    }

    /// Decides what to do with the body once the final response's head is complete; fails
    /// early when the advertised length already exceeds the limit.
    private func decideDisposition() -> Bool {
        if mayFollowRedirects, isFollowableRedirect(status), HTTPHeaders(headers)["Location"] != nil {
            disposition = .discard
            return true
        }
        if sink != nil, !(200..<300).contains(status) {
            disposition = .captureError
            return true
        }
        disposition = .deliver
        let bodiless = isHead || status == 204 || status == 304
        if !bodiless, let advertised = HTTPHeaders(headers)["Content-Length"].flatMap({ Int64($0) }) {
            if advertised > limit {
                stop = .declaredTooLarge(advertised)
                return false
            }
            if sink == nil {
                body.reserveCapacity(Int(min(advertised, limit)))
            }
        }
        return true
    }

    /// Handles one chunk of body data. Returns false to abort the transfer.
    func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard mayContinue() else { return false }
        switch disposition {
        case .discard:
            discarded += chunk.count
            if discarded > CurlExchange.discardLimit {
                stop = .enoughRead
                return false
            }
            return true
        case .captureError:
            let room = CurlExchange.errorBodyLimit - errorBody.count
            errorBody.append(contentsOf: chunk.prefix(room))
            if chunk.count > room {
                stop = .enoughRead
                return false
            }
            return true
        case .deliver:
            if Int64(chunk.count) > limit - delivered {
                stop = .bodyTooLarge
                return false
            }
            delivered += Int64(chunk.count)
            if let sink {
                do {
                    try sink(chunk)
                } catch {
                    stop = .sinkFailed(error)
                    return false
                }
            } else {
                body.append(contentsOf: chunk)
            }
            return true
        }
    }

    /// The status code from a status line such as `HTTP/1.1 200 OK` or `HTTP/2 404`.
    static func parseStatus(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let space = line.firstIndex(of: 0x20) else { return nil }
        let digits = line[(space + 1)...].prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
        guard digits.count == 3 else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}

// MARK: - C callbacks. Each receives the exchange (or upload) as an unretained pointer.

func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                       _ user: UnsafeMutableRawPointer?) -> Int {
    let (total, overflow) = size.multipliedReportingOverflow(by: count)
    guard let user, !overflow else { return 0 }
    if total == 0 { return 0 }
    guard let data else { return 0 }
    let exchange = Unmanaged<CurlExchange>.fromOpaque(user).takeUnretainedValue()
    let accepted = exchange.receiveBody(UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: total))
    // Returning anything other than `total` makes libcurl stop with CURLE_WRITE_ERROR.
    return accepted ? total : 0
}

func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                        _ user: UnsafeMutableRawPointer?) -> Int {
    let (total, overflow) = size.multipliedReportingOverflow(by: count)
    guard let user, !overflow else { return 0 }
    if total == 0 { return 0 }
    guard let data else { return 0 }
    let exchange = Unmanaged<CurlExchange>.fromOpaque(user).takeUnretainedValue()
    let line = UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: total)
    return exchange.receiveHeaderLine(line) ? total : 0
}

/// libcurl's progress callback (`CURLOPT_XFERINFOFUNCTION`), called at least once a second while a
/// transfer runs, data or not: non-zero stops it.
func curlProgressCallback(_ user: UnsafeMutableRawPointer?, _ downloadTotal: curl_off_t, _ downloaded: curl_off_t,
                          _ uploadTotal: curl_off_t, _ uploaded: curl_off_t) -> Int32 {
    guard let user else { return 0 }
    let exchange = Unmanaged<CurlExchange>.fromOpaque(user).takeUnretainedValue()
    return exchange.mayContinue() ? 0 : 1
}

func curlReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                      _ user: UnsafeMutableRawPointer?) -> Int {
    let (capacity, overflow) = size.multipliedReportingOverflow(by: count)
    guard let user, let buffer, !overflow else { return Int(CURL_READFUNC_ABORT) }
    let upload = Unmanaged<CurlUpload>.fromOpaque(user).takeUnretainedValue()
    return upload.read(into: UnsafeMutableRawPointer(buffer), capacity: capacity) ?? Int(CURL_READFUNC_ABORT)
}

func curlSeekCallback(_ user: UnsafeMutableRawPointer?, _ offset: curl_off_t, _ origin: Int32) -> Int32 {
    guard let user else { return Int32(CURL_SEEKFUNC_FAIL) }
    let upload = Unmanaged<CurlUpload>.fromOpaque(user).takeUnretainedValue()
    // libcurl only rewinds with SEEK_SET (to 0, to resend the body on a fresh connection).
    guard origin == SEEK_SET, offset >= 0, offset <= upload.length else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
    upload.position = Int64(offset)
    return Int32(CURL_SEEKFUNC_OK)
}
