import Glibc

/// Why a program could not be run to the end.
public enum ProgramError: Error, Sendable, Equatable, CustomStringConvertible {
    /// It could not be started (not found, not executable, out of resources).
    case cannotStart(program: String, detail: String)
    /// It printed more than the caller allows on standard output; it was killed.
    case outputTooLarge(program: String, limit: Int)
    /// Talking to it failed (a pipe could not be created or read).
    case io(program: String, detail: String)
    /// It had not ended within the time allowed; it was killed.
    case timedOut(program: String, seconds: Int)

    public var description: String {
        switch self {
        case .cannotStart(let program, let detail): return "cannot run \(program): \(detail)"
        case .outputTooLarge(let program, let limit): return "\(program) printed more than \(limit) bytes"
        case .io(let program, let detail): return "\(program): \(detail)"
        case .timedOut(let program, let seconds): return "\(program) did not finish within \(seconds) s"
        }
    }
}

/// What a program that ran to its end left.
public struct ProgramResult: Sendable {
    /// The exit code; 128 + the signal number when a signal ended it (as shells report it).
    public var status: Int32
    /// Its standard output (empty when it was not captured).
    public var output: [UInt8]
    /// The first bytes of its standard error (empty when they were discarded).
    public var errorOutput: [UInt8]
}

private func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Decodes a `waitpid` status: the exit code, or 128 + the signal number.
private func exitCode(_ status: Int32) -> Int32 {
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return body(pointers)
}

/// The open descriptors above 2 without close-on-exec (a connection a library opened, say), which the
/// child must not inherit.
private func inheritableDescriptors() -> [Int32] {
    var found: [Int32] = []
    _ = forEachDirectoryEntry("/proc/self/fd") { name, own in
        guard let fd = Int32(name), fd > 2, fd != own else { return }
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 && flags & FD_CLOEXEC == 0 { found.append(fd) }
    }
    return found
}

/// Starts `executable` with `arguments` (argv[0] is the executable's path) and the caller's environment.
/// `setup` adds the file actions for descriptors 0–2; every other descriptor is closed in the child.
private func spawn(_ executable: String, _ arguments: [String],
                   _ setup: (inout posix_spawn_file_actions_t) -> Void) throws(ProgramError) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    setup(&actions)
    for fd in inheritableDescriptors() { posix_spawn_file_actions_addclose(&actions, fd) }
    // The child starts with every signal at its default action and none blocked: dispositions this
    // process set (SIGINT and SIGTERM ignored while its own handlers run, SIGPIPE ignored while it
    // feeds a program) would otherwise carry over, and a helper could not be interrupted.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var all = sigset_t(), none = sigset_t()
    sigfillset(&all)
    sigemptyset(&none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var pid: pid_t = 0
    let status = withCStrings([executable] + arguments) { argv in
        argv.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return EINVAL }
            return posix_spawn(&pid, executable, &actions, &attributes, base, environ)
        }
    }
    guard status == 0 else { throw .cannotStart(program: executable, detail: errnoText(status)) }
    return pid
}

private func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return 127 }
    }
    return exitCode(status)
}

/// Runs `executable` to its end: `input` is written to its standard input, which is then closed;
/// standard output is captured up to `outputLimit` bytes (more kills the program and throws
/// `outputTooLarge`; nil discards it); the first `errorLimit` bytes of standard error are kept (nil
/// discards it). The three streams are served together, so a program that answers before it has read
/// all its input cannot block on a full pipe; one that stops reading early only ends the input. With
/// `timeoutSeconds`, a program still running after that long is killed and `timedOut` thrown.
public func runProgram(_ executable: String, arguments: [String], input: [UInt8] = [],
                       outputLimit: Int?, errorLimit: Int?, timeoutSeconds: Int? = nil) throws(ProgramError) -> ProgramResult {
    let deadline = timeoutSeconds.map { monotonicMilliseconds() + Int64($0) * 1000 }
    /// Milliseconds left before the deadline (-1: none, for poll).
    func remaining() -> Int32 {
        guard let deadline else { return -1 }
        return Int32(clamping: max(0, deadline - monotonicMilliseconds()))
    }
    func makePipe() throws(ProgramError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .io(program: executable, detail: "pipe: \(errnoText())") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
    let stdinPipe = try makePipe()
    var open: [Int32] = [stdinPipe.read, stdinPipe.write]
    defer { for fd in open where fd >= 0 { close(fd) } }
    let stdoutPipe = try outputLimit.map { _ throws(ProgramError) in try makePipe() }
    if let p = stdoutPipe { open += [p.read, p.write] }
    let stderrPipe = try errorLimit.map { _ throws(ProgramError) in try makePipe() }
    if let p = stderrPipe { open += [p.read, p.write] }

    let pid = try spawn(executable, arguments) { actions in
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        if let p = stdoutPipe { posix_spawn_file_actions_adddup2(&actions, p.write, 1) } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if let p = stderrPipe { posix_spawn_file_actions_adddup2(&actions, p.write, 2) } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
    }
    // The parent keeps only its ends.
    func closeOwn(_ fd: Int32) {
        close(fd)
        if let i = open.firstIndex(of: fd) { open[i] = -1 }
    }
    closeOwn(stdinPipe.read)
    if let p = stdoutPipe { closeOwn(p.write) }
    if let p = stderrPipe { closeOwn(p.write) }

    var inputFD: Int32 = stdinPipe.write
    var written = 0
    if input.isEmpty { closeOwn(inputFD); inputFD = -1 } else {
        // A program that exits without reading its input must give EPIPE here, not end this process.
        signal(SIGPIPE, SIG_IGN)
        _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
    }
    var outFD: Int32 = stdoutPipe?.read ?? -1
    var errFD: Int32 = stderrPipe?.read ?? -1
    var output: [UInt8] = []
    var errorOutput: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    // The read buffer may have held a credential helper's answer; it is cleared before it is freed.
    defer { buffer.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
    var failure: ProgramError?

    while failure == nil && (inputFD >= 0 || outFD >= 0 || errFD >= 0) {
        var fds: [pollfd] = []
        if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
        if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
        if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), remaining())
        if ready == 0, let timeoutSeconds {
            failure = .timedOut(program: executable, seconds: timeoutSeconds)
            break
        }
        if ready < 0 {
            if errno == EINTR { continue }
            failure = .io(program: executable, detail: "poll: \(errnoText())")
            break
        }
        for entry in fds where entry.revents != 0 {
            if entry.fd == inputFD {
                let n = input.withUnsafeBytes { raw in
                    write(inputFD, raw.baseAddress.map { $0 + written }, input.count - written)
                }
                if n > 0 { written += n }
                // Done, or the program closed its input (EPIPE).
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    closeOwn(inputFD); inputFD = -1
                }
                continue
            }
            let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 {
                closeOwn(entry.fd)
                if entry.fd == outFD { outFD = -1 } else { errFD = -1 }
                continue
            }
            if entry.fd == outFD, let limit = outputLimit {
                if output.count + n > limit {
                    failure = .outputTooLarge(program: executable, limit: limit)
                    break
                }
                output += buffer[0..<n]
            } else if let limit = errorLimit {
                errorOutput += buffer[0..<min(n, max(0, limit - errorOutput.count))]
            }
        }
    }
    // Its streams are closed; it may still run (with them handed to a child of its own, say).
    var status: Int32?
    while failure == nil && status == nil {
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, deadline == nil ? 0 : WNOHANG)
        if result == pid { status = exitCode(raw) } else if result < 0 && errno != EINTR { status = 127 } else if result == 0 {
            if remaining() == 0, let timeoutSeconds { failure = .timedOut(program: executable, seconds: timeoutSeconds) } else { usleep(2_000) }
        }
    }
    if let failure {
        kill(pid, SIGKILL)
        _ = waitForExit(pid)
        throw failure
    }
    return ProgramResult(status: status ?? 127, output: output, errorOutput: errorOutput)
}

private func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// A program started in the background with its standard streams on /dev/null.
public struct BackgroundProgram: Sendable {
    public let pid: pid_t

    /// Starts `executable` with `arguments`.
    public init(_ executable: String, arguments: [String]) throws(ProgramError) {
        pid = try spawn(executable, arguments) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
    }

    /// Its exit code once it has ended (and is reaped), nil while it runs.
    public func exitStatus() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return exitCode(status) }
        return result < 0 ? 127 : nil
    }
}

/// Writes all of `bytes` to descriptor `fd`, retrying after interruptions; errors are ignored (the
/// streams these serve have nowhere else to report to).
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
        if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
}

/// Writes `text` to standard error, unbuffered.
public func writeStandardError(_ text: String) { writeAll(2, Array(text.utf8)) }

/// Writes `bytes` to standard error, unbuffered.
public func writeStandardError(_ bytes: some Collection<UInt8>) { writeAll(2, Array(bytes)) }
