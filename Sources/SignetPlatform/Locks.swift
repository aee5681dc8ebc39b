import Glibc

/// A mutual-exclusion lock over a `pthread_mutex_t`. Signet's modules use it instead of Foundation's
/// `NSLock` so that the command-line tool does not link CoreFoundation (see docs/performance.md,
/// start-up).
public final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }

    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A lock with a condition variable (`pthread_cond_t`), used as Foundation's `NSCondition` is:
/// `lock()`, then `wait()` in a loop over the predicate, `signal()`/`broadcast()` after a change, `unlock()`.
public final class Condition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        let m = pthread_mutex_init(mutex, nil)
        let c = pthread_cond_init(cond, nil)
        precondition(m == 0 && c == 0, "pthread_mutex_init/pthread_cond_init failed: \(m)/\(c)")
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deinitialize(count: 1)
        cond.deallocate()
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }

    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Releases the lock until signalled, then takes it again. Callers loop over their predicate.
    public func wait() { pthread_cond_wait(cond, mutex) }

    public func signal() { pthread_cond_signal(cond) }

    public func broadcast() { pthread_cond_broadcast(cond) }
}
