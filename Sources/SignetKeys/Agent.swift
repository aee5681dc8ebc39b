import FoundationEssentials
import SignetPlatform
#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto
import SignetFiles

/// Errors of the signing agent and of talking to it.
public enum AgentError: Error, Sendable, CustomStringConvertible {
    /// No agent answers at this socket.
    case notRunning(socket: String, detail: String)
    /// The agent answered with an error.
    case refused(String)
    /// The conversation broke (malformed frame, timeout, wrong peer).
    case protocolError(String)
    /// The socket could not be set up.
    case socket(path: String, detail: String)

    public var description: String {
        switch self {
        case .notRunning(let path, let detail): return "no signing agent at \(path) (\(detail)); start one with `signet agent start`"
        case .refused(let message): return "the signing agent refused: \(message)"
        case .protocolError(let message): return "signing agent: \(message)"
        case .socket(let path, let detail): return "\(path): \(detail)"
        }
    }
}

/// The agent's wire format, over a Unix stream socket.
///
/// A frame is a 4-byte big-endian length (at most ``maxFrame``) and a body: one byte (an operation in a
/// request, a status in a reply: 0 ok, 1 error), then fields, each a 4-byte big-endian length and its
/// bytes. Requests: `list`; `add` (key ID, passphrase)…; `sign` key ID, message; `lock`; `stop`.
/// Replies to `list`: "pid timeout secondsLeft", then (key ID, DER public key) pairs; to `add`: (key ID,
/// "" or the error) pairs; to `sign`: the signature; an error reply: its message.
public enum AgentWire {
    public static let maxFrame = 64 << 20
    static let list: UInt8 = 1, add: UInt8 = 2, sign: UInt8 = 3, lock: UInt8 = 4, stop: UInt8 = 5
    static let ok: UInt8 = 0, failed: UInt8 = 1
    /// How long either side waits for the other's next byte.
    static let ioTimeoutSeconds = 60

    /// Encodes a body; secrets given as `SecretBytes` are copied in and the caller wipes the result.
    static func body(_ code: UInt8, _ fields: [[UInt8]], secrets: [(after: Int, SecretBytes)] = []) -> [UInt8] {
        var out: [UInt8] = [code]
        func append(_ count: Int) {
            out += [UInt8(truncatingIfNeeded: count >> 24), UInt8(truncatingIfNeeded: count >> 16), UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
        }
        var secretIndex = 0
        for (i, f) in fields.enumerated() {
            append(f.count)
            out += f
            while secretIndex < secrets.count, secrets[secretIndex].after == i {
                let secret = secrets[secretIndex].1
                append(secret.count)
                secret.withUnsafeBytes { out.append(contentsOf: $0) }
                secretIndex += 1
            }
        }
        return out
    }

    /// Splits a body into its code and fields.
    static func parse(_ body: [UInt8]) throws(AgentError) -> (UInt8, [[UInt8]]) {
        guard let code = body.first else { throw .protocolError("empty message") }
        var fields: [[UInt8]] = []
        var i = 1
        while i < body.count {
            guard body.count - i >= 4 else { throw .protocolError("truncated field length") }
            let n = Int(body[i]) << 24 | Int(body[i + 1]) << 16 | Int(body[i + 2]) << 8 | Int(body[i + 3])
            i += 4
            guard n <= body.count - i else { throw .protocolError("field of \(n) bytes overruns the message") }
            fields.append(Array(body[i..<(i + n)]))
            i += n
        }
        return (code, fields)
    }

    static func send(_ fd: Int32, _ body: [UInt8]) throws(AgentError) {
        guard body.count <= maxFrame else { throw .protocolError("message of \(body.count) bytes exceeds \(maxFrame)") }
        let n = body.count
        let header: [UInt8] = [UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        try writeAll(fd, header)
        try writeAll(fd, body)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(AgentError) {
        var offset = 0
        while offset < bytes.count {
            let w = bytes.withUnsafeBytes { p in Glibc.send(fd, p.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if w < 0 {
                if errno == EINTR { continue }
                throw .protocolError("cannot send: \(String(cString: strerror(errno)))")
            }
            offset += w
        }
    }

    /// Reads one frame; nil at a clean end of stream before its first byte.
    static func receive(_ fd: Int32) throws(AgentError) -> [UInt8]? {
        guard let header = try readExactly(fd, 4, allowEOF: true) else { return nil }
        let n = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard n > 0, n <= maxFrame else { throw .protocolError("announced message of \(n) bytes (limit \(maxFrame))") }
        return try readExactly(fd, n, allowEOF: false)
    }

    private static func readExactly(_ fd: Int32, _ count: Int, allowEOF: Bool) throws(AgentError) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let r = out.withUnsafeMutableBytes { p in recv(fd, p.baseAddress.map { $0 + offset }, count - offset, 0) }
            if r == 0 {
                if allowEOF && offset == 0 { return nil }
                throw .protocolError("connection closed in the middle of a message")
            }
            if r < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .protocolError("no answer within \(ioTimeoutSeconds) s") }
                throw .protocolError("cannot receive: \(String(cString: strerror(errno)))")
            }
            offset += r
        }
        return out
    }

    static func setTimeout(_ fd: Int32, seconds: Int = ioTimeoutSeconds) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The user ID and process ID of the process at the other end of a connected Unix socket, as the
    /// kernel recorded them (`SO_PEERCRED`: cannot be forged by the peer).
    static func peer(_ fd: Int32) -> (uid: uid_t, pid: pid_t)? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0, Int(length) == MemoryLayout<(Int32, UInt32, UInt32)>.size else { return nil }
        return (cred.1, cred.0)
    }

    /// A `sockaddr_un` for `path`.
    /// - Throws: `AgentError.socket` when the path does not fit (108 bytes on Linux).
    static func address(_ path: String) throws(AgentError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw .socket(path: path, detail: "socket path of \(bytes.count) bytes is longer than the system allows (\(capacity - 1)); set SIGNET_AGENT_SOCKET to a shorter path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}

/// What a running agent holds.
public struct AgentStatus: Sendable {
    public let pid: Int
    /// Idle timeout in seconds (0: never).
    public let idleTimeout: Int
    /// Seconds until the keys are forgotten if unused (nil without a timeout or without keys).
    public let secondsLeft: Int?
    /// Key IDs and public keys of the keys held.
    public let keys: [(keyID: String, publicKey: PublicKey)]
}

/// Talks to the agent at a socket. Every request is a short connection; the agent is checked to run as
/// this user (peer credentials) before anything is sent, and every signature it returns is verified
/// against the key file's public key before use (see `PrivateKey.remote`).
public struct AgentClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Throws when the socket path cannot be used (longer than a Unix socket address holds).
    public func checkSocketPath() throws(AgentError) {
        _ = try AgentWire.address(socketPath)
    }

    /// `$SIGNET_AGENT_SOCKET`, else `home/agent.sock`.
    public static func defaultSocketPath(home: String) -> String {
        if let s = Environment.nonEmpty("SIGNET_AGENT_SOCKET") { return s }
        return (home.hasSuffix("/") ? String(home.dropLast()) : home) + "/agent.sock"
    }

    /// Sends one request and returns the reply's fields.
    func request(_ body: [UInt8]) throws(AgentError) -> [[UInt8]] {
        var address = try AgentWire.address(socketPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(path: socketPath, detail: "cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw .notRunning(socket: socketPath, detail: String(cString: strerror(errno))) }
        guard let peer = AgentWire.peer(fd), peer.uid == geteuid() else {
            throw .protocolError("the process at \(socketPath) does not run as this user; not using it")
        }
        AgentWire.setTimeout(fd)
        try AgentWire.send(fd, body)
        guard var reply = try AgentWire.receive(fd) else { throw .protocolError("the agent closed the connection without answering") }
        defer { SecretBytes.wipe(&reply) }
        let (status, fields) = try AgentWire.parse(reply)
        guard status == AgentWire.ok else {
            throw .refused(fields.first.map { String(decoding: $0, as: UTF8.self) } ?? "no reason given")
        }
        return fields
    }

    /// What the agent holds.
    public func status() throws(AgentError) -> AgentStatus {
        let fields = try request(AgentWire.body(AgentWire.list, []))
        guard let head = fields.first else { throw .protocolError("empty list reply") }
        let numbers = String(decoding: head, as: UTF8.self).split(separator: " ").map { Int($0) }
        guard numbers.count == 3, let pid = numbers[0], let timeout = numbers[1], let left = numbers[2] else {
            throw .protocolError("malformed list reply")
        }
        var keys: [(String, PublicKey)] = []
        var i = 1
        while i + 1 < fields.count {
            guard let key = try? PublicKey(spkiDER: fields[i + 1]) else { throw .protocolError("malformed public key in list reply") }
            keys.append((String(decoding: fields[i], as: UTF8.self), key))
            i += 2
        }
        return AgentStatus(pid: pid, idleTimeout: timeout, secondsLeft: left < 0 ? nil : left, keys: keys)
    }

    /// Asks the agent to unlock keys from its key store with the given passphrases. The passphrases
    /// cross the socket; the private keys never do. Returns each key ID with nil or the error.
    public func add(_ keys: [(keyID: String, passphrase: SecretBytes)]) throws(AgentError) -> [(keyID: String, error: String?)] {
        var fields: [[UInt8]] = []
        var secrets: [(after: Int, SecretBytes)] = []
        for (i, k) in keys.enumerated() {
            fields.append(Array(k.keyID.utf8))
            secrets.append((i, k.passphrase))
        }
        var body = AgentWire.body(AgentWire.add, fields, secrets: secrets)
        defer { SecretBytes.wipe(&body) }
        let reply = try request(body)
        var out: [(String, String?)] = []
        var i = 0
        while i + 1 < reply.count {
            let error = String(decoding: reply[i + 1], as: UTF8.self)
            out.append((String(decoding: reply[i], as: UTF8.self), error.isEmpty ? nil : error))
            i += 2
        }
        return out
    }

    /// Signs `message` with a key the agent holds.
    public func sign(keyID: String, message: [UInt8]) throws(AgentError) -> [UInt8] {
        let fields = try request(AgentWire.body(AgentWire.sign, [Array(keyID.utf8), message]))
        guard fields.count == 1 else { throw .protocolError("malformed sign reply") }
        return fields[0]
    }

    /// Makes the agent forget every key.
    public func lock() throws(AgentError) { _ = try request(AgentWire.body(AgentWire.lock, [])) }

    /// Makes the agent forget every key and exit.
    public func stop() throws(AgentError) { _ = try request(AgentWire.body(AgentWire.stop, [])) }

    /// A signing key whose private half stays in the agent: signatures are requested per message and
    /// checked against `entry`'s public key (read from the key file, not from the agent).
    public func remoteKey(for entry: KeyringEntry) -> PrivateKey {
        let client = self
        let id = entry.keyID
        return .remote(RemoteSigningKey(publicKey: entry.publicKey) { (message: [UInt8]) throws(CryptoError) -> [UInt8] in
            do { return try client.sign(keyID: id, message: message) } catch {
                throw CryptoError.library(operation: "signing with key \(id.prefix(12)) through the agent", detail: "\(error)")
            }
        })
    }
}

/// The signing agent: holds unlocked keys in memory and signs with them for processes of the same user.
///
/// Keys come only from the agent's own key store (a client sends key IDs and passphrases, never key
/// material), live in locked memory once `SecretMemory.hardenProcess()` ran, and are forgotten after
/// `idleTimeout` seconds without a signature, on `lock`, and on `stop`. Connections from other users
/// are refused on their peer credentials, whatever the socket's permissions say.
public final class AgentServer: @unchecked Sendable {
    public let socketPath: String
    let home: String
    let idleTimeout: Int
    let log: @Sendable (String) -> Void
    private let lock = Lock()
    private var keys: [String: (PrivateKey, KeyringEntry)] = [:]
    private var lastUse = Date()
    private var stopping = false
    private var listener: Int32 = -1

    /// - Parameters:
    ///   - idleTimeout: seconds without a signature (or an add) after which every key is forgotten; 0
    ///     keeps them until `lock` or `stop`.
    public init(home: String, socketPath: String, idleTimeout: Int, log: @escaping @Sendable (String) -> Void) {
        self.home = home
        self.socketPath = socketPath
        self.idleTimeout = idleTimeout
        self.log = log
    }

    /// Creates the socket (mode 0600; a stale socket left by a killed agent is replaced, a live agent or
    /// any other file at the path is an error).
    /// - Throws: `AgentError.socket`.
    public func listen() throws(AgentError) {
        var address = try AgentWire.address(socketPath)
        var info = stat()
        if lstat(socketPath, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw .socket(path: socketPath, detail: "exists and is not a socket; not replacing it")
            }
            if (try? AgentClient(socketPath: socketPath).status()) != nil {
                throw .socket(path: socketPath, detail: "an agent is already running there (`signet agent stop` ends it)")
            }
            unlink(socketPath)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(path: socketPath, detail: "cannot create a socket: \(String(cString: strerror(errno)))") }
        // The socket is created 0600: no moment exists in which another user could connect.
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        guard bound == 0 else {
            let detail = String(cString: strerror(errno))
            close(fd)
            throw .socket(path: socketPath, detail: "cannot bind: \(detail)")
        }
        chmod(socketPath, 0o600)
        guard Glibc.listen(fd, 16) == 0 else {
            let detail = String(cString: strerror(errno))
            close(fd)
            unlink(socketPath)
            throw .socket(path: socketPath, detail: "cannot listen: \(detail)")
        }
        listener = fd
    }

    /// Serves until `stop`. Call `listen()` first.
    public func serve() {
        startThread { [self] in
            while true {
                sleep(1)
                lock.lock()
                if stopping { lock.unlock(); return }
                if idleTimeout > 0, !keys.isEmpty, Date().timeIntervalSince(lastUse) >= Double(idleTimeout) {
                    let n = keys.count
                    keys.removeAll()
                    lock.unlock()
                    log("forgot \(n) key(s) after \(idleTimeout) s without use")
                    continue
                }
                lock.unlock()
            }
        }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                lock.lock()
                let done = stopping
                lock.unlock()
                if done { break }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { sleep(1); continue }
                if errno == ECONNABORTED { continue }
                log("accept failed: \(String(cString: strerror(errno)))")
                break
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            startThread { [self] in handle(client) }
        }
        close(listener)
        forgetAll()
    }

    /// Forgets every key (their memory is zeroed as the last references go).
    public func forgetAll() {
        lock.lock()
        keys.removeAll()
        lock.unlock()
    }

    private func handle(_ fd: Int32) {
        defer { close(fd) }
        guard let peer = AgentWire.peer(fd) else { return }
        guard peer.uid == geteuid() else {
            log("refused a connection from user \(peer.uid) (process \(peer.pid)): the agent serves only user \(geteuid())")
            AgentWire.setTimeout(fd, seconds: 1)
            try? AgentWire.send(fd, AgentWire.body(AgentWire.failed, [Array("this agent serves only user \(geteuid())".utf8)]))
            // Close gracefully so the refusal is read rather than lost to a reset: stop writing, then
            // discard (unparsed) whatever the peer already sent, bounded in bytes and time.
            shutdown(fd, Int32(SHUT_WR))
            var scratch = [UInt8](repeating: 0, count: 4096)
            var discarded = 0
            while discarded < 1 << 20 {
                let n = read(fd, &scratch, scratch.count)
                if n <= 0 { break }
                discarded += n
            }
            return
        }
        AgentWire.setTimeout(fd)
        while true {
            let frame: [UInt8]?
            do { frame = try AgentWire.receive(fd) } catch { return }
            guard var request = frame else { return }
            var reply: [UInt8]
            do {
                reply = try respond(to: request)
            } catch {
                reply = AgentWire.body(AgentWire.failed, [Array("\(error)".utf8)])
            }
            SecretBytes.wipe(&request)
            let sent = (try? AgentWire.send(fd, reply)) != nil
            SecretBytes.wipe(&reply)
            lock.lock()
            let done = stopping
            lock.unlock()
            if done {
                shutdown(listener, Int32(SHUT_RDWR))
                return
            }
            if !sent { return }
        }
    }

    private func respond(to request: [UInt8]) throws -> [UInt8] {
        var (op, fields) = try AgentWire.parse(request)
        defer { for i in fields.indices { SecretBytes.wipe(&fields[i]) } }
        switch op {
        case AgentWire.list:
            lock.lock()
            let held = keys.sorted { $0.key < $1.key }
            let left = idleTimeout > 0 && !held.isEmpty ? max(0, idleTimeout - Int(Date().timeIntervalSince(lastUse))) : -1
            lock.unlock()
            var out: [[UInt8]] = [Array("\(getpid()) \(idleTimeout) \(left)".utf8)]
            for (id, (_, entry)) in held {
                out.append(Array(id.utf8))
                out.append(try entry.publicKey.spkiDER())
            }
            return AgentWire.body(AgentWire.ok, out)
        case AgentWire.add:
            guard fields.count % 2 == 0, !fields.isEmpty else { throw Refusal("add takes key ID and passphrase pairs") }
            // One derivation cache per request: a passphrase shared by several keys costs one Argon2id
            // run, and nothing derived from it outlives the request.
            let derivations = KeyDerivationCache()
            defer { derivations.clear() }
            let ring = try Keyring(home: home, derivations: derivations)
            var out: [[UInt8]] = []
            var i = 0
            while i + 1 < fields.count {
                let id = String(decoding: fields[i], as: UTF8.self)
                let passphrase = SecretBytes(consuming: &fields[i + 1])
                out.append(Array(id.utf8))
                do {
                    let entry = try ring.find(id)
                    guard entry.keyID == id else { throw KeyringError.notFound(id) }
                    let key = try ring.unlock(entry, passphrase: passphrase)
                    lock.lock()
                    keys[id] = (key, entry)
                    lastUse = Date()
                    lock.unlock()
                    log("holding key \(id.prefix(12))\(entry.label("role").map { " (\($0))" } ?? "")")
                    out.append([])
                } catch {
                    out.append(Array("\(error)".utf8))
                }
                i += 2
            }
            return AgentWire.body(AgentWire.ok, out)
        case AgentWire.sign:
            guard fields.count == 2 else { throw Refusal("sign takes a key ID and a message") }
            let id = String(decoding: fields[0], as: UTF8.self)
            lock.lock()
            let held = keys[id]
            if held != nil { lastUse = Date() }
            lock.unlock()
            guard let (key, _) = held else {
                throw Refusal("key \(id.prefix(12)) is not held (never added, or forgotten after the idle timeout or `signet agent lock`)")
            }
            return AgentWire.body(AgentWire.ok, [try key.sign(fields[1])])
        case AgentWire.lock:
            lock.lock()
            let n = keys.count
            lock.unlock()
            forgetAll()
            log("locked: forgot \(n) key(s)")
            return AgentWire.body(AgentWire.ok, [])
        case AgentWire.stop:
            forgetAll()
            lock.lock()
            stopping = true
            lock.unlock()
            log("stopping")
            unlink(socketPath)
            return AgentWire.body(AgentWire.ok, [])
        default:
            throw Refusal("unknown operation \(op)")
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
