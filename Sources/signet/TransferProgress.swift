import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetOCI

/// Draws transfer progress on standard error when it is a terminal: one line per active blob
/// (role, short digest, bar, bytes, rate) and a total line, redrawn at most ten times a second.
/// Silent when standard error is not a terminal. Safe to call from several threads.
final class TransferProgress: @unchecked Sendable {
    private struct Item {
        var role: String
        var size: Int64
        var done: Int64 = 0
        var started: Double
        var finished: String?
    }

    private let lock = Lock()
    private let enabled: Bool
    private let verb: String
    private var items: [Digest: Item] = [:]
    private var order: [Digest] = []
    private var totalBytes: Int64 = 0
    private var blobCount = 0
    private var linesDrawn = 0
    private var lastDraw = 0.0
    private let start = monotonicSeconds()

    /// A display for an operation called `verb` ("pull", "push"); draws only when `enabled`.
    init(verb: String, enabled: Bool) {
        self.verb = verb
        self.enabled = enabled
    }

    /// The event callback to hand to the library.
    var handler: (@Sendable (TransferEvent) -> Void)? {
        guard enabled else { return nil }
        return { [self] event in self.handle(event) }
    }

    private func handle(_ event: TransferEvent) {
        lock.lock()
        defer { lock.unlock() }
        let now = monotonicSeconds()
        var force = false
        switch event {
        case .plan(let blobs, let bytes):
            blobCount = blobs
            totalBytes = bytes
        case .started(let digest, let size, let role):
            if items[digest] == nil { order.append(digest) }
            items[digest] = Item(role: role, size: size, started: now)
            force = true
        case .progress(let digest, let bytes):
            items[digest]?.done = bytes
        case .finished(let digest, let detail):
            if var item = items[digest] {
                item.done = item.size
                item.finished = detail
                items[digest] = item
            }
            force = true
        }
        if force || now - lastDraw >= 0.1 {
            lastDraw = now
            draw(now: now)
        }
    }

    /// Draws the final state and a summary line.
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        draw(now: monotonicSeconds())
    }

    private func draw(now: Double) {
        var lines: [String] = []
        let active = order.filter { items[$0]?.finished == nil }
        for digest in active.prefix(8) {
            guard let item = items[digest] else { continue }
            let rate = Double(item.done) / max(now - item.started, 0.001)
            lines.append("  " + item.role.padded(to: 7) + "\(digest.hex.prefix(12)) "
                + bar(item.done, item.size) + " \(formatBytes(item.done)) / \(formatBytes(item.size))  \(formatBytes(Int64(rate)))/s")
        }
        let done = items.values.reduce(Int64(0)) { $0 + $1.done }
        let finished = items.values.filter { $0.finished != nil }.count
        let elapsed = max(now - start, 0.001)
        lines.append("\(verb): \(finished)/\(blobCount) blobs " + bar(done, totalBytes)
            + " \(formatBytes(done)) / \(formatBytes(totalBytes))  \(formatBytes(Int64(Double(done) / elapsed)))/s")
        var text = ""
        if linesDrawn > 0 { text += "\u{1B}[\(linesDrawn)A" }
        for line in lines { text += "\r\u{1B}[2K" + line + "\n" }
        // Clear lines left over from a taller previous frame.
        if linesDrawn > lines.count {
            for _ in 0..<(linesDrawn - lines.count) { text += "\r\u{1B}[2K\n" }
            text += "\u{1B}[\(linesDrawn - lines.count)A"
        }
        linesDrawn = lines.count
        writeStandardError(text.utf8)
    }

    private func bar(_ done: Int64, _ total: Int64) -> String {
        let width = 20
        let filled = total > 0 ? Int(Double(width) * Double(min(done, total)) / Double(total)) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }
}
