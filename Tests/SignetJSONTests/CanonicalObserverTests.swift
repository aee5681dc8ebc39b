import Glibc
import SignetJSON
import XCTest

/// `CanonicalOutputObserver`: what it is told while the canonical form is written must let a follower
/// keep an exact copy of the output, rewrites included.
final class CanonicalObserverTests: XCTestCase {
    /// Keeps a copy of the announced output, and checks at every call that the memory still holds it.
    final class Mirror: CanonicalOutputObserver, @unchecked Sendable {
        var copy: [UInt8] = []
        var writtenCalls = 0
        var rewrites: [Int] = []
        var endings: [[UInt8]?] = []
        var problems: [String] = []

        private func stillHolds(_ start: UnsafePointer<UInt8>, upTo count: Int) -> Bool {
            count <= copy.count && memcmp(start, copy, count) == 0
        }

        func written(_ start: UnsafePointer<UInt8>, count: Int) {
            self.start = start
            writtenCalls += 1
            if count < copy.count { problems.append("announced \(count) after \(copy.count)") }
            if !stillHolds(start, upTo: copy.count) { problems.append("announced bytes changed without a rewrite") }
            copy += UnsafeBufferPointer(start: start + copy.count, count: max(0, count - copy.count))
        }

        private var start: UnsafePointer<UInt8>?

        func willRewrite(from offset: Int) {
            // Announced only before the bytes change: they must still be what was announced.
            if let start, !stillHolds(start, upTo: copy.count) { problems.append("announced bytes changed before the rewrite was announced") }
            rewrites.append(offset)
            if offset < copy.count { copy.removeLast(copy.count - offset) }
        }

        func ended(_ start: UnsafePointer<UInt8>?, count: Int) {
            guard let start else { return endings.append(nil) }
            if !stillHolds(start, upTo: copy.count) { problems.append("the result differs from what was announced") }
            endings.append(Array(UnsafeBufferPointer(start: start, count: count)))
        }
    }

    /// A `signed`-style document with `n` entries of about 80 bytes; `order` picks the key order.
    private func document(entries n: Int, shuffledInner: Bool = false, reversedOuter: Bool = false) -> [UInt8] {
        var entries: [String] = []
        for i in 0..<n {
            let number = String(reversedOuter ? n - i : i)
            let name = "artifact-" + String(repeating: "0", count: max(0, 6 - number.count)) + number
            let hashes = #"{"length": \#(i), "sha256": "\#(String(repeating: "ab", count: 32))"}"#
            if shuffledInner && i == 100 {
                // One entry with a large object in descending key order: announced inside, sorted at its end.
                let custom = (0..<5_000).reversed().map { #""note-\#($0)": "\#(String(repeating: "x", count: 60))""# }
                entries.append(#""\#(name)": {"custom": {\#(custom.joined(separator: ", "))}, "hashes": \#(hashes)}"#)
            } else {
                entries.append(#""\#(name)": {"hashes": \#(hashes)}"#)
            }
        }
        return Array(#"{"signatures": [], "signed": {"_type": "targets", "targets": {\#(entries.joined(separator: ",\n "))}}}"#.utf8)
    }

    private func check(_ input: [UInt8], expectRewrites: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let mirror = Mirror()
        let result = try CanonicalJSON.canonicalize(input, path: ["signed"], observer: mirror)
        XCTAssertEqual(result, try CanonicalJSON.canonicalize(input, path: ["signed"]), file: file, line: line)
        XCTAssertEqual(mirror.problems, [], file: file, line: line)
        XCTAssertGreaterThan(mirror.writtenCalls, 1, "a large output is announced in steps", file: file, line: line)
        XCTAssertEqual(mirror.endings, [result], "ended once, with the result", file: file, line: line)
        XCTAssertEqual(!mirror.rewrites.isEmpty, expectRewrites, file: file, line: line)
    }

    func testSortedOutputIsAnnouncedAsItIsWrittenAndNeverRewritten() throws {
        try check(document(entries: 20_000), expectRewrites: false)
    }

    func testMembersOutOfOrderAreAnnouncedAsRewrites() throws {
        // An object out of order inside, sorted when it closes, after part of it was announced ...
        try check(document(entries: 20_000, shuffledInner: true), expectRewrites: true)
        // ... and the large object itself, sorted only at its end, long after its first bytes were announced.
        let mirror = Mirror()
        let input = document(entries: 20_000, reversedOuter: true)
        let result = try CanonicalJSON.canonicalize(input, path: ["signed"], observer: mirror)
        XCTAssertEqual(mirror.problems, [])
        XCTAssertTrue(mirror.rewrites.contains { $0 < 1000 }, "the outer object's rewrite reaches back to its start")
        XCTAssertEqual(mirror.endings, [result])
    }

    func testRefusedDocumentsEndWithoutAResult() throws {
        var broken = document(entries: 20_000)
        broken.removeLast()   // the closing brace
        for input in [broken, Array("{\"signed\": 1.5e3}".utf8), Array("{\"other\": {}}".utf8), Array("".utf8)] {
            let mirror = Mirror()
            XCTAssertThrowsError(try CanonicalJSON.canonicalize(input, path: ["signed"], observer: mirror))
            XCTAssertEqual(mirror.endings.count, 1)
            XCTAssertEqual(mirror.endings.first ?? [], nil, "a refused document ends with no result")
        }
    }
}
