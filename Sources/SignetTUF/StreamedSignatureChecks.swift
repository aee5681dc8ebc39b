import SignetCrypto
import SignetJSON
import SignetPlatform

/// Ed25519 signatures of a large targets file, checked while its canonical form is being written.
///
/// A signature covers the canonical form of `signed`, which exists only once the file has been scanned
/// to the end; hashing those bytes afterwards (SHA-512, about 35 ms for the 21 MB of a 100 000-target
/// role) left one core idle. Here a thread of its own feeds each signature's SHA-512 with the canonical
/// output as `CanonicalJSON.canonicalize` announces it, so the hash is done when the output is.
///
/// Nothing here decides on its own what is trusted:
/// - Which signatures to start on is a guess read from the start of the file (`leadingSignatures`,
///   when `signatures` comes first, as python-tuf and Signet write it). A result is used by
///   `validSigners` only for the same key ID, the same signature text and the same key material as
///   the strict parse of the whole file gives, and only over a message of the hashed length.
/// - Only the bytes `ended` reports as the result count. Announced bytes that are rewritten afterwards
///   (an object whose keys were out of order), output that moved, or a refused document discard every
///   result, and the usual check over the finished canonical form applies.
final class StreamedSignatureChecks: CanonicalOutputObserver, @unchecked Sendable {
    /// One signature being checked; `check` is fed only by the hashing thread until it ends.
    private struct Entry {
        let keyID: ByteKey
        let sig: String
        let identity: [UInt8]
        let check: Ed25519StreamingCheck
    }

    /// What one finished check found.
    struct Verdict {
        let sig: String
        let identity: [UInt8]
        let messageLength: Int
        let valid: Bool
    }

    /// Verdicts count only for messages this long or longer: from there on `Ed25519PublicKey` checks
    /// exactly as `Ed25519StreamingCheck` does, so the answer is the same.
    static let minimumMessage = Ed25519StreamingCheck.sameAsOneCallFrom

    /// At most this many signatures are followed; more (a role with many signers) are checked as usual.
    static let maximumChecks = 8

    private let entries: [Entry]
    private let condition = Condition()
    // Everything below is guarded by `condition`.
    private var start: UnsafePointer<UInt8>?
    private var announced = 0
    private var hashed = 0
    private var reading = false
    private var invalid = false
    private var ended = false
    private var threadDone = false
    private var results: [ByteKey: Verdict]?

    private init(entries: [Entry]) {
        self.entries = entries
    }

    /// Starts following a file of `bytes` whose signatures must come from `role` with `keys`, or nil when
    /// there is nothing to follow (no Ed25519 signature of the role found at the start of the file).
    /// The caller must call `cancel` once the file has been parsed, whatever happened.
    static func start(bytes: [UInt8], role: RoleKeys, keys: [ByteKey: Key]) -> StreamedSignatureChecks? {
        var listed: [ByteKey: String] = [:]
        for (id, sig) in leadingSignatures(bytes) where listed[ByteKey(id)] == nil { listed[ByteKey(id)] = sig }
        var entries: [Entry] = []
        for id in role.keyIDs where entries.count < maximumChecks {
            let keyID = ByteKey(id)
            guard let sig = listed[keyID], let key = keys[keyID], case .ed25519(let publicKey) = key.verifier,
                  let raw = Hex.decode(sig), let check = Ed25519StreamingCheck(signature: raw, publicKey: publicKey),
                  !entries.contains(where: { $0.keyID == keyID })
            else { continue }
            entries.append(Entry(keyID: keyID, sig: sig, identity: key.identity, check: check))
        }
        guard !entries.isEmpty else { return nil }
        let checks = StreamedSignatureChecks(entries: entries)
        // Without a thread of its own (the process is out of threads), the usual check does the work.
        guard tryStartThread({ checks.hashLoop() }) else { return nil }
        return checks
    }

    /// The `signatures` list when it is the first member of the top-level object (within the first
    /// 64 KiB), as (key ID, signature) pairs; otherwise empty. A best guess only: see the type's comment.
    static func leadingSignatures(_ bytes: [UInt8]) -> [(String, String)] {
        bytes.withUnsafeBytes { raw -> [(String, String)] in
            var i = 0
            func skipSpace() {
                while i < raw.count, raw[i] == 0x20 || raw[i] == 0x0a || raw[i] == 0x0d || raw[i] == 0x09 { i += 1 }
            }
            func expect(_ text: String) -> Bool {
                for byte in text.utf8 {
                    guard i < raw.count, raw[i] == byte else { return false }
                    i += 1
                }
                return true
            }
            skipSpace()
            guard expect("{") else { return [] }
            skipSpace()
            guard expect("\"signatures\"") else { return [] }
            skipSpace()
            guard expect(":") else { return [] }
            skipSpace()
            guard i < raw.count, raw[i] == UInt8(ascii: "[") else { return [] }
            let open = i
            let limit = min(raw.count, open + (64 << 10))
            var attempts = 0
            // The list ends at one of the following `]`: try each (a `]` inside a string fails to parse).
            for close in (open + 1)..<max(limit, open + 1) where raw[close] == UInt8(ascii: "]") {
                attempts += 1
                if attempts > 32 { break }
                guard case .array(let items)? = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[open...close])) else { continue }
                return items.compactMap { item in
                    guard case .string(let id)? = item["keyid"], case .string(let sig)? = item["sig"] else { return nil }
                    return (id, sig)
                }
            }
            return []
        }
    }

    /// The hashing thread: feeds every check the announced bytes it has not had yet, until the output
    /// ended (everything hashed) or nothing announced can count any more.
    private func hashLoop() {
        condition.lock()
        while true {
            while !invalid && !ended && announced <= hashed { condition.wait() }
            if invalid { break }
            if announced > hashed && start == nil {
                // Not reachable through `written`/`ended`, which set both together; never spin on it.
                invalid = true
                break
            }
            if announced > hashed, let start {
                let from = hashed, to = announced
                reading = true
                condition.unlock()
                let piece = UnsafeRawBufferPointer(start: start + from, count: to - from)
                for entry in entries { entry.check.update(piece) }
                condition.lock()
                hashed = to
                reading = false
                condition.broadcast()
                continue
            }
            if ended { break }
        }
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    func written(_ start: UnsafePointer<UInt8>, count: Int) {
        condition.lock()
        defer { condition.unlock() }
        guard !invalid else { return }
        if let known = self.start, known != start {
            invalid = true
        } else {
            self.start = start
            announced = max(announced, count)
        }
        condition.broadcast()
    }

    func willRewrite(from offset: Int) {
        condition.lock()
        defer { condition.unlock() }
        while reading { condition.wait() }
        if hashed > offset { invalid = true }
        announced = min(announced, offset)
        condition.broadcast()
    }

    func ended(_ start: UnsafePointer<UInt8>?, count: Int) {
        condition.lock()
        defer { condition.unlock() }
        guard !ended else { return }
        if let start, self.start == nil || self.start == start, !invalid {
            self.start = start
            announced = count
        } else {
            invalid = true
        }
        ended = true
        condition.broadcast()
        while !threadDone { condition.wait() }
        guard !invalid, hashed == count else { return }
        var verdicts: [ByteKey: Verdict] = [:]
        for entry in entries where entry.check.messageLength == Int64(count) {
            verdicts[entry.keyID] = Verdict(sig: entry.sig, identity: entry.identity, messageLength: count, valid: entry.check.finish())
        }
        results = verdicts
    }

    /// Ends the checks if the canonical form was never produced with them; waits for the hashing thread.
    func cancel() { ended(nil, count: 0) }

    /// The finished checks by key ID, or empty when nothing counts (see the type's comment).
    var verdicts: [ByteKey: Verdict] {
        condition.lock()
        defer { condition.unlock() }
        return results ?? [:]
    }
}
