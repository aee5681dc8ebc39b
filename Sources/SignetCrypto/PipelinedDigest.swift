import FoundationEssentials
import Glibc
import SignetPlatform

/// Hashing (and optionally writing) on a second thread while the caller keeps receiving.
///
/// `update` copies bytes into fixed-size blocks; full blocks go to a worker thread that feeds every
/// digest and then the optional `consumer` (for example a file writer). At most `depth` blocks are in
/// flight, so memory stays at `depth × blockSize` and a slow consumer slows the producer down
/// (back-pressure). Use one instance per stream, from one producer thread.
public final class PipelinedDigest: @unchecked Sendable {
    private let hashers: [StreamingDigest]
    private let consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    private let blockSize: Int
    private let condition = Condition()
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var full: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var all: [UnsafeMutableRawBufferPointer] = []
    private var current: UnsafeMutableRawBufferPointer?
    private var filled = 0
    private var finished = false
    private var workerDone = false
    private var failure: Error?
    /// Bytes accepted so far.
    public private(set) var byteCount: Int64 = 0

    /// Starts the worker.
    /// - Throws: `CryptoError.library` if a digest cannot be created.
    public init(_ algorithms: [DigestAlgorithm], blockSize: Int = 1 << 20, depth: Int = 4,
                consumer: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws(CryptoError) {
        var hashers: [StreamingDigest] = []
        for a in algorithms { hashers.append(try StreamingDigest(a)) }
        self.hashers = hashers
        self.consumer = consumer
        self.blockSize = max(blockSize, 4096)
        for _ in 0..<max(depth, 2) {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: self.blockSize, alignment: 64)
            all.append(b)
            free.append(b)
        }
        startThread(stackSize: 1 << 20) { [self] in self.work() }
    }

    deinit {
        condition.lock()
        finished = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        condition.unlock()
        for b in all { b.deallocate() }
    }

    /// Adds bytes. Blocks while all blocks are in flight.
    /// - Throws: the consumer's error, once the worker has hit one.
    public func update(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        byteCount += Int64(bytes.count)
        while offset < bytes.count {
            if current == nil {
                condition.lock()
                while free.isEmpty && failure == nil { condition.wait() }
                if let failure { condition.unlock(); throw failure }
                current = free.removeLast()
                condition.unlock()
                filled = 0
            }
            guard let block = current, let src = bytes.baseAddress, let dst = block.baseAddress else { return }
            let n = min(blockSize - filled, bytes.count - offset)
            (dst + filled).copyMemory(from: src + offset, byteCount: n)
            filled += n
            offset += n
            if filled == blockSize { submit() }
        }
    }

    private func submit() {
        guard let block = current else { return }
        condition.lock()
        full.append((block, filled))
        condition.broadcast()
        condition.unlock()
        current = nil
        filled = 0
    }

    /// Waits for the worker and returns the digests in the order of `algorithms`.
    /// - Throws: the consumer's error, if any.
    public func finalize() throws -> [Digest] {
        if filled > 0 { submit() }
        if let block = current {
            condition.lock(); free.append(block); condition.unlock()
            current = nil
        }
        condition.lock()
        finished = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        return hashers.map { $0.finalize() }
    }

    private func work() {
        condition.lock()
        while true {
            while full.isEmpty && !finished { condition.wait() }
            if full.isEmpty && finished { break }
            let (block, count) = full.removeFirst()
            let failed = failure != nil
            condition.unlock()
            if !failed {
                let chunk = UnsafeRawBufferPointer(rebasing: block[0..<count])
                for h in hashers { h.update(chunk) }
                do { try consumer?(chunk) } catch {
                    condition.lock(); failure = error; condition.unlock()
                }
            }
            condition.lock()
            free.append(block)
            condition.broadcast()
        }
        workerDone = true
        condition.broadcast()
        condition.unlock()
    }
}
