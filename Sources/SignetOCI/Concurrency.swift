import FoundationEssentials
import Dispatch
import Glibc
import SignetPlatform

/// Set once when an operation fails, so that its other transfers stop at their next chunk.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = Lock()
    private var cancelled = false
    private let parent: CancellationFlag?

    /// Creates a flag that is not set; it also counts as set once `parent` is.
    public init(parent: CancellationFlag? = nil) {
        self.parent = parent
    }

    /// Whether `cancel()` was called on this flag or its parent.
    public var isCancelled: Bool {
        lock.lock()
        let own = cancelled
        lock.unlock()
        return own || (parent?.isCancelled ?? false)
    }

    /// Sets the flag.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}

/// A result computed on a thread of its own, started at creation and read with `wait()`. For blocking
/// I/O started ahead of the work that needs it: Dispatch's global queue runs about one item per core at
/// a time, so on a small machine the fourth of four requests meant to overlap would wait for the first.
/// The creator waits for the result before it returns, so that no transfer outlives the operation.
public final class BackgroundResult<T: Sendable>: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: Result<T, OCIError> = .failure(.cancelled)

    /// Starts `body` now.
    public init(_ body: @escaping @Sendable () throws(OCIError) -> T) {
        group.enter()
        startThread(stackSize: 1 << 20) { [self] in
            do throws(OCIError) { result = .success(try body()) } catch { result = .failure(error) }
            group.leave()
        }
    }

    /// Waits for `body` to end and returns what it gave.
    public func wait() -> Result<T, OCIError> {
        group.wait()
        return result
    }
}

/// Runs `count` jobs on at most `concurrency` threads (blocking I/O jobs: each thread runs one
/// job at a time). The first job that throws sets the shared cancellation flag; jobs not yet
/// started are skipped; the first error (other than `.cancelled`) is thrown after every thread
/// has finished. Results are returned in job order.
public func runConcurrently<T: Sendable>(_ count: Int, concurrency: Int, cancellation: CancellationFlag? = nil,
                                  _ job: @escaping @Sendable (Int, CancellationFlag) throws(OCIError) -> T) throws(OCIError) -> [T] {
    guard count > 0 else { return [] }
    let state = JobState<T>(count: count, parent: cancellation)
    let workers = max(1, min(concurrency, count))
    let done = DispatchGroup()
    let work: @Sendable () -> Void = {
        while let index = state.next() {
            do throws(OCIError) {
                let value = try job(index, state.flag)
                state.store(value, at: index)
            } catch {
                state.fail(error)
            }
        }
    }
    for _ in 1..<workers {
        done.enter()
        startThread(stackSize: 1 << 20) {
            work()
            done.leave()
        }
    }
    work()
    done.wait()
    return try state.finish()
}

private final class JobState<T: Sendable>: @unchecked Sendable {
    let flag: CancellationFlag
    private let lock = Lock()
    private var nextIndex = 0
    private let count: Int
    private var results: [T?]
    private var firstError: OCIError?

    init(count: Int, parent: CancellationFlag?) {
        self.flag = CancellationFlag(parent: parent)
        self.count = count
        self.results = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        if flag.isCancelled {
            fail(.cancelled)
            return nil
        }
        lock.lock()
        defer { lock.unlock() }
        guard firstError == nil, nextIndex < count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    func store(_ value: T, at index: Int) {
        lock.lock()
        results[index] = value
        lock.unlock()
    }

    func fail(_ error: OCIError) {
        lock.lock()
        if firstError == nil {
            firstError = error
        } else if case .cancelled? = firstError, !isCancellation(error) {
            firstError = error
        }
        lock.unlock()
        flag.cancel()
    }

    func finish() throws(OCIError) -> [T] {
        lock.lock()
        defer { lock.unlock() }
        if let firstError { throw firstError }
        var out: [T] = []
        out.reserveCapacity(count)
        for value in results {
            guard let value else { throw OCIError.cancelled }
            out.append(value)
        }
        return out
    }

    private func isCancellation(_ error: OCIError) -> Bool {
        if case .cancelled = error { return true }
        return false
    }
}
