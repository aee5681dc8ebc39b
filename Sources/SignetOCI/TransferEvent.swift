import SignetCrypto

/// Progress of a pull or push, reported to an optional callback. The callback may be called from
/// several threads at once (one per concurrent transfer) and must be quick.
public enum TransferEvent: Sendable {
    /// The transfer plan: how many blobs and bytes the operation covers.
    case plan(blobs: Int, bytes: Int64)
    /// A blob transfer began. `role` is `config`, `layer` or `manifest`.
    case started(digest: Digest, size: Int64, role: String)
    /// Bytes of a blob done so far (cumulative; it drops back to 0 when a transfer is retried).
    case progress(digest: Digest, bytes: Int64)
    /// A blob is complete: downloaded and verified, reused from the layout, or (push) present,
    /// mounted or uploaded. `detail` says which.
    case finished(digest: Digest, detail: String)
}

/// Throttles `.progress` events of one transfer to about one per `step` bytes.
struct ProgressMeter {
    let digest: Digest
    let sink: (@Sendable (TransferEvent) -> Void)?
    var total: Int64 = 0
    var lastReported: Int64 = 0
    static let step: Int64 = 1 << 20

    init(digest: Digest, sink: (@Sendable (TransferEvent) -> Void)?) {
        self.digest = digest
        self.sink = sink
    }

    mutating func add(_ count: Int) {
        total += Int64(count)
        if total - lastReported >= ProgressMeter.step {
            lastReported = total
            sink?(.progress(digest: digest, bytes: total))
        }
    }

    mutating func reset() {
        total = 0
        lastReported = 0
        sink?(.progress(digest: digest, bytes: 0))
    }

    func flush() {
        sink?(.progress(digest: digest, bytes: total))
    }
}
