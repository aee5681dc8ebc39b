import Glibc

private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Runs `body` on a new detached POSIX thread, now. `stackSize` in bytes (nil: the system default).
/// A thread that cannot be created (the process is out of threads or memory) stops the process with
/// a message: every caller relies on `body` running concurrently with it.
public func startThread(stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
    let status = createThread(stackSize: stackSize, body)
    if status != 0 { fatalError("cannot start a thread: \(String(cString: strerror(status)))") }
}

/// Runs `body` on a new detached POSIX thread, now, if one can be created.
/// - Returns: false when no thread could be created (the process is out of threads or memory);
///   `body` is then never run. For work that has a slower way without a thread of its own.
public func tryStartThread(stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
    createThread(stackSize: stackSize, body) == 0
}

/// Starts `count` threads with stacks of `stackSize` bytes that wait for work: the next bodies given
/// to ``startThread(stackSize:_:)`` or ``tryStartThread(stackSize:_:)`` with an explicit stack no
/// larger run on them, one body each, instead of on threads created then.
///
/// For a process about to load a large library on another thread (`dlopen`): glibc's
/// `pthread_create` sets up the new thread's TLS under a lock that `dlopen` holds while it maps and
/// relocates, so a thread created meanwhile waits for the whole load (about 4 ms for libcurl and
/// its 30 libraries). Threads started here, before the load, are ready without that wait.
/// - Returns: how many were started (fewer when the process is out of threads or memory).
@discardableResult
public func prepareSpareThreads(_ count: Int, stackSize: Int) -> Int {
    var started = 0
    for _ in 0..<max(0, count) {
        spareThreads.reserve(stackSize: stackSize)
        guard pthreadCreate(stackSize: stackSize, { spareThreads.runOne() }) == 0 else {
            spareThreads.unreserve()
            break
        }
        started += 1
    }
    return started
}

/// How many spare threads (``prepareSpareThreads(_:stackSize:)``) have not been handed a body yet.
public var spareThreadsWaiting: Int { spareThreads.waiting }

/// The spare threads' work list: `available` counts spares that have not been handed a body yet.
private final class SpareThreads: @unchecked Sendable {
    private let condition = Condition()
    private var available = 0
    private var stackSize = 0
    private var bodies: [@Sendable () -> Void] = []

    func reserve(stackSize: Int) {
        condition.lock()
        // Every spare can take any body whose stack fits the smallest spare.
        self.stackSize = available == 0 ? stackSize : min(self.stackSize, stackSize)
        available += 1
        condition.unlock()
    }

    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return available
    }

    func unreserve() {
        condition.lock()
        available -= 1
        condition.unlock()
    }

    /// Hands `body` to a spare thread if one is free and its stack is large enough.
    func hand(_ body: @escaping @Sendable () -> Void, stackSize: Int?) -> Bool {
        guard let stackSize else { return false }
        condition.lock()
        defer { condition.unlock() }
        guard available > 0, stackSize <= self.stackSize else { return false }
        available -= 1
        bodies.append(body)
        condition.signal()
        return true
    }

    /// A spare thread's life: wait for one body, run it, end.
    func runOne() {
        condition.lock()
        while bodies.isEmpty { condition.wait() }
        let body = bodies.removeFirst()
        condition.unlock()
        body()
    }
}

private let spareThreads = SpareThreads()

/// Runs `body` on a spare thread (``prepareSpareThreads(_:stackSize:)``) or a new one; the
/// `pthread_create` status (0 when `body` will run).
private func createThread(stackSize: Int?, _ body: @escaping @Sendable () -> Void) -> Int32 {
    if spareThreads.hand(body, stackSize: stackSize) { return 0 }
    return pthreadCreate(stackSize: stackSize, body)
}

/// Creates a detached thread that runs `body`; the `pthread_create` status.
private func pthreadCreate(stackSize: Int?, _ body: @escaping @Sendable () -> Void) -> Int32 {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN))) }
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, &attributes, { context in
        guard let context else { return nil }
        let box = Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue()
        box.body()
        return nil
    }, context)
    if status != 0 { Unmanaged<ThreadBody>.fromOpaque(context).release() }
    return status
}
