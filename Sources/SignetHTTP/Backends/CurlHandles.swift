import CCurl
import FoundationEssentials
import Glibc
import SignetPlatform

// Owners of libcurl resources: the library itself (loaded when first needed) and its one-time
// global initialisation, the share object (DNS and TLS session caches shared between easy handles,
// guarded by mutexes) and the easy handles.

/// libcurl's functions, or why they could not be had. libcurl is loaded by its soname with `dlopen`
/// the first time anything needs it (the CCurl shim says why), found the way the dynamic linker finds
/// a library the program names; its functions are looked up once. A global `let` is initialised
/// lazily, exactly once and thread-safely; the library is never unloaded, and the table is never
/// written after it is filled.
nonisolated(unsafe) let curlLibrary: Result<UnsafePointer<signet_curl>, CurlUnavailable> = {
    let soname = "libcurl.so.4"
    guard let library = dlopen(soname, RTLD_LAZY | RTLD_LOCAL) else {
        let why = dlerror().map { String(cString: $0) } ?? "unknown error"
        return .failure(CurlUnavailable(detail: "cannot load libcurl (\(soname)): \(why); install libcurl 7.85.0 or newer (Debian: libcurl4)"))
    }
    let api = UnsafeMutablePointer<signet_curl>.allocate(capacity: 1)
    api.initialize(to: signet_curl())
    if let missing = signet_curl_resolve(library, api) {
        return .failure(CurlUnavailable(detail: "the loaded \(soname) has no \(String(cString: missing)); libcurl 7.85.0 or newer is required"))
    }
    return .success(UnsafePointer(api))
}()

/// Why libcurl cannot be used.
struct CurlUnavailable: Error {
    let detail: String
}

/// libcurl's functions, when loaded; nil otherwise (``curlLibrary`` says why).
var loadedCurl: UnsafePointer<signet_curl>? { try? curlLibrary.get() }

/// Whether `curl_global_init` succeeded, for a libcurl recent enough to be used at all (its version
/// is read first: `curl_version_info` needs no initialisation). A global `let` is initialised lazily,
/// exactly once and thread-safely, which is what libcurl requires of its global initialisation. It is
/// never undone (the library stays loaded for the life of the process).
let curlGlobalInitSucceeded: Bool = {
    guard let curl = loadedCurl, let version = runningCurlVersion(), version.number >= minimumCurlVersion else { return false }
    return signet_curl_global_init(curl, Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}()

/// Set (by the main thread, before the thread starts) when ``startLoadingCurl()`` started loading.
nonisolated(unsafe) private var curlLoadingStarted = false

/// Starts loading and initialising libcurl on a thread of its own, so that a command that will make
/// requests does its other start-up work meanwhile; the first transport waits for it to end. Loading
/// is the same work whichever thread does it first. Call from the main thread, before other threads.
public func startLoadingCurl() {
    curlLoadingStarted = true
    _ = tryStartThread(stackSize: 1 << 20) { _ = curlGlobalInitSucceeded }
}

/// Waits for loading started by ``startLoadingCurl()`` to end (so that a process exiting through
/// `exit`, whose handlers clean up the TLS libraries, never does so while they are being set up);
/// returns at once when nothing was started.
public func waitForCurlLoading() {
    if curlLoadingStarted { _ = curlGlobalInitSucceeded }
}

/// The lowest libcurl accepted: 7.85.0 added `CURLOPT_PROTOCOLS_STR`, which restricts
/// transfers and redirects to http and https.
let minimumCurlVersion: UInt32 = 0x07_55_00

/// The running libcurl's version number (0xXXYYZZ) and text, or nil if libcurl gives none.
func runningCurlVersion() -> (number: UInt32, text: String)? {
    guard let curl = loadedCurl, let info = signet_curl_version_info(curl) else { return nil }
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
    private let curl: UnsafePointer<signet_curl>
    private let locks: UnsafeMutablePointer<pthread_mutex_t>

    /// Returns nil if libcurl cannot create or configure the share.
    init?(_ curl: UnsafePointer<signet_curl>) {
        guard let share = signet_curl_share_init(curl) else { return nil }
        self.curl = curl
        locks = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: shareLockCount)
        for index in 0..<shareLockCount {
            (locks + index).initialize(to: pthread_mutex_t())
            pthread_mutex_init(locks + index, nil)
        }
        handle = share
        let configured =
            signet_curl_share_setopt_pointer(curl, share, CURLSHOPT_USERDATA, UnsafeMutableRawPointer(locks)) == CURLSHE_OK
            && signet_curl_share_setopt_lock_callback(curl, share, CURLSHOPT_LOCKFUNC, shareLock) == CURLSHE_OK
            && signet_curl_share_setopt_unlock_callback(curl, share, CURLSHOPT_UNLOCKFUNC, shareUnlock) == CURLSHE_OK
            && signet_curl_share_setopt_int(curl, share, CURLSHOPT_SHARE, Int32(CURL_LOCK_DATA_DNS.rawValue)) == CURLSHE_OK
            && signet_curl_share_setopt_int(curl, share, CURLSHOPT_SHARE, Int32(CURL_LOCK_DATA_SSL_SESSION.rawValue)) == CURLSHE_OK
        if !configured { return nil }
    }

    deinit {
        // Every easy handle using the share is cleaned up before this runs (the transport
        // releases its pool first), so libcurl no longer calls the lock functions.
        signet_curl_share_cleanup(curl, handle)
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
    let curl: UnsafePointer<signet_curl>
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Returns nil if libcurl cannot allocate a handle.
    init?(_ curl: UnsafePointer<signet_curl>) {
        guard let easy = signet_curl_easy_init(curl) else { return nil }
        handle = easy
        self.curl = curl
        errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        signet_curl_easy_cleanup(curl, handle)
        errorBuffer.deallocate()
    }

    /// The message libcurl left in the error buffer, or its generic text for `code`.
    func message(for code: CURLcode) -> String {
        let detailed = String(cString: errorBuffer).trimmingASCIIWhitespace()
        if !detailed.isEmpty { return detailed }
        guard let generic = signet_curl_easy_strerror(curl, code) else { return "libcurl error \(code.rawValue)" }
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
              signet_curl_url_set(parsed.curl, parsed.handle, CURLUPART_URL, reference, 0) == CURLUE_OK
        else { return nil }
        return parsed.part(CURLUPART_URL)
    }

    /// `url` without user name and password, or nil if it cannot be parsed. Used when a redirect
    /// leaves the origin, so that no credentials travel to the new one.
    static func removingCredentials(_ url: String) -> String? {
        guard let parsed = CurlURLHandle(url),
              signet_curl_url_set(parsed.curl, parsed.handle, CURLUPART_USER, nil, 0) == CURLUE_OK,
              signet_curl_url_set(parsed.curl, parsed.handle, CURLUPART_PASSWORD, nil, 0) == CURLUE_OK,
              signet_curl_url_set(parsed.curl, parsed.handle, CURLUPART_OPTIONS, nil, 0) == CURLUE_OK
        else { return nil }
        return parsed.part(CURLUPART_URL)
    }
}

/// A `CURLU` parse of one URL, freed on `deinit`.
private final class CurlURLHandle {
    let handle: OpaquePointer
    let curl: UnsafePointer<signet_curl>

    /// Nil when `url` does not parse, or libcurl is not loaded.
    init?(_ url: String) {
        guard let curl = loadedCurl, let created = signet_curl_url(curl) else { return nil }
        handle = created
        self.curl = curl
        if signet_curl_url_set(curl, handle, CURLUPART_URL, url, 0) != CURLUE_OK { return nil }
    }

    deinit { signet_curl_url_cleanup(curl, handle) }

    func part(_ which: CURLUPart, flags: UInt32 = 0) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        guard signet_curl_url_get(curl, handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { signet_curl_free(curl, value) }
        return String(cString: value)
    }
}
