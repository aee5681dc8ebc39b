import CCurl
import FoundationEssentials
import Glibc

// Owners of libcurl resources: the one-time global initialisation, the share object (DNS and
// TLS session caches shared between easy handles, guarded by mutexes) and the easy handles.

/// Whether `curl_global_init` succeeded. A global `let` is initialised lazily, exactly once
/// and thread-safely, which is what libcurl requires of its global initialisation. It is never
/// undone: other code in the process (FoundationNetworking) may use libcurl too.
let curlGlobalInitSucceeded: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

/// The lowest libcurl accepted: 7.85.0 added `CURLOPT_PROTOCOLS_STR`, which restricts
/// transfers and redirects to http and https.
let minimumCurlVersion: UInt32 = 0x07_55_00

/// The running libcurl's version number (0xXXYYZZ) and text, or nil if libcurl gives none.
func runningCurlVersion() -> (number: UInt32, text: String)? {
    guard let info = signet_curl_version_info() else { return nil }
    let text = info.pointee.version.map { String(cString: $0) } ?? "unknown"
    return (info.pointee.version_num, text)
}

/// Number of `curl_lock_data` kinds; one mutex each.
private let shareLockCount = Int(CURL_LOCK_DATA_LAST.rawValue)

private func shareLock(_ handle: UnsafeMutableRawPointer?, _ data: curl_lock_data,
                       _ access: curl_lock_access, _ user: UnsafeMutableRawPointer?) {
    let index = Int(data.rawValue)
    guard let user, index >= 0, index < shareLockCount else { return }
    pthread_mutex_lock(user.assumingMemoryBound(to: pthread_mutex_t.self) + index)
}

private func shareUnlock(_ handle: UnsafeMutableRawPointer?, _ data: curl_lock_data,
                         _ user: UnsafeMutableRawPointer?) {
    let index = Int(data.rawValue)
    guard let user, index >= 0, index < shareLockCount else { return }
    pthread_mutex_unlock(user.assumingMemoryBound(to: pthread_mutex_t.self) + index)
}

/// A `CURLSH` sharing the DNS cache and TLS session cache among one transport's easy handles.
/// The connection cache is not shared (libcurl does not support sharing it across threads);
/// each pooled easy handle keeps its own live connections instead.
final class CurlShare: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let locks: UnsafeMutablePointer<pthread_mutex_t>

    /// Returns nil if libcurl cannot create or configure the share.
    init?() {
        guard let share = curl_share_init() else { return nil }
        locks = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: shareLockCount)
        for index in 0..<shareLockCount {
            (locks + index).initialize(to: pthread_mutex_t())
            pthread_mutex_init(locks + index, nil)
        }
        handle = share
        let configured =
            signet_curl_share_setopt_pointer(share, CURLSHOPT_USERDATA, UnsafeMutableRawPointer(locks)) == CURLSHE_OK
            && signet_curl_share_setopt_lock_callback(share, CURLSHOPT_LOCKFUNC, shareLock) == CURLSHE_OK
            && signet_curl_share_setopt_unlock_callback(share, CURLSHOPT_UNLOCKFUNC, shareUnlock) == CURLSHE_OK
            && signet_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue)) == CURLSHE_OK
            && signet_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue)) == CURLSHE_OK
        if !configured { return nil }
    }

    deinit {
        // Every easy handle using the share is cleaned up before this runs (the transport
        // releases its pool first), so libcurl no longer calls the lock functions.
        curl_share_cleanup(handle)
        for index in 0..<shareLockCount {
            pthread_mutex_destroy(locks + index)
        }
        locks.deinitialize(count: shareLockCount)
        locks.deallocate()
    }
}

/// One `CURL` easy handle and its error buffer. Reused across requests (after
/// `curl_easy_reset`, which keeps live connections for reuse).
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Returns nil if libcurl cannot allocate a handle.
    init?() {
        guard let easy = curl_easy_init() else { return nil }
        handle = easy
        errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// The message libcurl left in the error buffer, or its generic text for `code`.
    func message(for code: CURLcode) -> String {
        let detailed = String(cString: errorBuffer).trimmingASCIIWhitespace()
        if !detailed.isEmpty { return detailed }
        guard let generic = curl_easy_strerror(code) else { return "libcurl error \(code.rawValue)" }
        return String(cString: generic)
    }
}

/// Scheme, host and port of an http(s) URL as libcurl parses it. Origins are compared with
/// libcurl's own parser so that the origin we judge is the one libcurl connects to.
struct CurlOrigin: Equatable {
    var scheme: String
    var host: String
    var port: String

    /// Parses an absolute `http://` or `https://` URL; nil for anything else.
    init?(_ url: String) {
        guard let parsed = CurlURLHandle(url),
              let scheme = parsed.part(CURLUPART_SCHEME)?.lowercased(),
              scheme == "http" || scheme == "https",
              let host = parsed.part(CURLUPART_HOST), !host.isEmpty,
              let port = parsed.part(CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT))
        else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }

    /// `reference` (a `Location` value, absolute or relative) resolved against `base`
    /// (RFC 3986 §5), or nil if either cannot be parsed.
    static func resolve(_ reference: String, against base: String) -> String? {
        guard let parsed = CurlURLHandle(base),
              curl_url_set(parsed.handle, CURLUPART_URL, reference, 0) == CURLUE_OK
        else { return nil }
        return parsed.part(CURLUPART_URL)
    }

    /// `url` without user name and password, or nil if it cannot be parsed. Used when a redirect
    /// leaves the origin, so that no credentials travel to the new one.
    static func removingCredentials(_ url: String) -> String? {
        guard let parsed = CurlURLHandle(url),
              curl_url_set(parsed.handle, CURLUPART_USER, nil, 0) == CURLUE_OK,
              curl_url_set(parsed.handle, CURLUPART_PASSWORD, nil, 0) == CURLUE_OK,
              curl_url_set(parsed.handle, CURLUPART_OPTIONS, nil, 0) == CURLUE_OK
        else { return nil }
        return parsed.part(CURLUPART_URL)
    }
}

/// A `CURLU` parse of one URL, freed on `deinit`.
private final class CurlURLHandle {
    let handle: OpaquePointer

    init?(_ url: String) {
        guard let created = curl_url() else { return nil }
        handle = created
        if curl_url_set(handle, CURLUPART_URL, url, 0) != CURLUE_OK { return nil }
    }

    deinit { curl_url_cleanup(handle) }

    func part(_ which: CURLUPart, flags: UInt32 = 0) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
