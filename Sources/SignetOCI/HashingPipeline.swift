import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto

/// Moves hashing and storing of a large download off the network thread.
///
/// The network thread (libcurl's write callback) only copies each chunk into one of a few fixed
/// slots; a helper thread hashes every full slot and hands it to the consumer (which writes it to
/// disk), in order. When all slots are full the network thread waits, so memory stays at
/// `slotCount × slotSize` however fast the network is, and a slow disk slows the download instead
/// of buffering it. On a machine with two or more cores, receiving and hashing then overlap.
final class HashingPipeline: @unchecked Sendable {
    static let slotSize = 1 << 20
    static let slotCount = 8

    private let condition = Condition()
    private let slots: [UnsafeMutableRawBufferPointer]
    private var fills: [Int]
    private var head = 0
    private var ready = 0
    private var producerFill = 0
    private var stopping = false
    private var consumerExited = false
    private var failure: OCIError?
    private var hasher: StreamingDigest
    private var count: Int64 = 0
    private let algorithm: DigestAlgorithm
    /// Dropped in `close()`, so that nothing holds the consumer once the pipeline is closed.
    private var consume: ((UnsafeRawBufferPointer) throws -> Void)?

    /// Starts the helper thread. `consume` runs on it, one call at a time, in order.
    init(algorithm: DigestAlgorithm, consume: @escaping (UnsafeRawBufferPointer) throws -> Void) throws(OCIError) {
        self.algorithm = algorithm
        self.hasher = try makeHasher(algorithm)
        self.consume = consume
        self.slots = (0..<HashingPipeline.slotCount).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: HashingPipeline.slotSize, alignment: 64)
        }
        self.fills = Array(repeating: 0, count: HashingPipeline.slotCount)
        startThread(stackSize: 256 * 1024) { [self] in self.consumerLoop() }
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    /// Network side: copies `chunk` into slots, waiting for a free slot when necessary.
    /// - Throws: the consumer's error once it failed (which aborts the download).
    func feed(_ chunk: UnsafeRawBufferPointer) throws(OCIError) {
        guard var source = chunk.baseAddress else { return }
        var remaining = chunk.count
        while remaining > 0 {
            let slot = try currentSlot()
            let take = min(remaining, HashingPipeline.slotSize - producerFill)
            guard let base = slot.baseAddress else { throw .io(path: "(download)", detail: "buffer allocation failed") }
            (base + producerFill).copyMemory(from: source, byteCount: take)
            producerFill += take
            source += take
            remaining -= take
            if producerFill == HashingPipeline.slotSize {
                try publish()
            }
        }
    }

    /// Network side: publishes the last partial slot, waits until everything was hashed and
    /// consumed, and returns the digest and byte count.
    /// - Throws: the consumer's error.
    func finish() throws(OCIError) -> (Digest, Int64) {
        if producerFill > 0 { try publish() }
        condition.lock()
        while ready > 0 && failure == nil { condition.wait() }
        let error = failure
        let result = (hasher.finalize(), count)
        condition.unlock()
        if let error { throw error }
        return result
    }

    /// Network side, before a retried download: waits until the consumer is idle, then starts
    /// the hash and the count again (the caller then resets the consumer's own state).
    func reset() throws(OCIError) {
        condition.lock()
        defer { condition.unlock() }
        while ready > 0 { condition.wait() }
        if let failure { throw failure }
        producerFill = 0
        count = 0
        hasher = try makeHasher(algorithm)
    }

    /// Stops the helper thread and waits for it to exit. Call exactly once, after `finish` or on failure.
    func close() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !consumerExited { condition.wait() }
        consume = nil
        condition.unlock()
    }

    // MARK: - Internals

    /// The slot the producer fills now, waiting while every slot is queued.
    private func currentSlot() throws(OCIError) -> UnsafeMutableRawBufferPointer {
        if producerFill > 0 {
            condition.lock()
            let index = (head + ready) % slots.count
            condition.unlock()
            return slots[index]
        }
        condition.lock()
        defer { condition.unlock() }
        while ready == slots.count && failure == nil { condition.wait() }
        if let failure { throw failure }
        return slots[(head + ready) % slots.count]
    }

    private func publish() throws(OCIError) {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        fills[(head + ready) % slots.count] = producerFill
        ready += 1
        producerFill = 0
        condition.broadcast()
    }

    private func consumerLoop() {
        condition.lock()
        while true {
            while ready == 0 && !stopping { condition.wait() }
            if ready == 0 && stopping { break }
            let index = head
            let length = fills[index]
            let failed = failure != nil
            let consume = self.consume
            condition.unlock()
            if !failed {
                let bytes = UnsafeRawBufferPointer(rebasing: slots[index][0..<length])
                hasher.update(bytes)
                count += Int64(length)
                do {
                    try consume?(bytes)
                } catch {
                    condition.lock()
                    failure = (error as? OCIError) ?? .io(path: "(download)", detail: "\(error)")
                    condition.unlock()
                }
            }
            condition.lock()
            head = (head + 1) % slots.count
            ready -= 1
            condition.broadcast()
        }
        consumerExited = true
        condition.broadcast()
        condition.unlock()
    }
}
