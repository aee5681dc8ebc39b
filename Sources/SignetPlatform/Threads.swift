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

/// Creates the thread; the `pthread_create` status (0 when `body` will run).
private func createThread(stackSize: Int?, _ body: @escaping @Sendable () -> Void) -> Int32 {
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
