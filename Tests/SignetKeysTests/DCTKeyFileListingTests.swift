import Foundation
import SignetKeys
import XCTest

/// Which files `DCTKeyFile.files(at:)` offers for import.
final class DCTKeyFileListingTests: XCTestCase {
    func testTrustDirectoriesLegacyLayoutsLinksAndSingleFiles() throws {
        let work = NSTemporaryDirectory() + "/signet-dct-files-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let fm = FileManager.default
        let trust = work + "/trust"
        try fm.createDirectory(atPath: trust + "/private/tuf_keys/example.com/app", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: work + "/elsewhere", withIntermediateDirectories: true)
        for file in ["/private/root1.key", "/private/tuf_keys/example.com/app/targets.key", "/private/notes.txt", "/elsewhere/outside.key"] {
            XCTAssertTrue(fm.createFile(atPath: (file.hasPrefix("/elsewhere") ? work : trust) + file, contents: Data("k".utf8)))
        }
        // A link inside the tree is not followed (it could lead anywhere, or in a loop).
        try fm.createSymbolicLink(atPath: trust + "/private/link", withDestinationPath: work + "/elsewhere")
        try fm.createSymbolicLink(atPath: trust + "/private/loop", withDestinationPath: trust + "/private")
        // Nor is a link named like a key file, and a FIFO named like one is not offered (reading it
        // would wait for a writer).
        try fm.createSymbolicLink(atPath: trust + "/private/aaa-link.key", withDestinationPath: work + "/elsewhere/outside.key")
        XCTAssertEqual(mkfifo(trust + "/private/aaa-fifo.key", 0o600), 0)

        let expected = [trust + "/private/root1.key", trust + "/private/tuf_keys/example.com/app/targets.key"]
        XCTAssertEqual(DCTKeyFile.files(at: trust), expected)
        // The trust directory itself may be a link.
        try fm.createSymbolicLink(atPath: work + "/trust-link", withDestinationPath: trust)
        XCTAssertEqual(DCTKeyFile.files(at: work + "/trust-link"), expected.map { $0.replacingOccurrences(of: trust, with: work + "/trust-link") })
        // A folder of key files without private/, a single file, a missing path.
        XCTAssertEqual(DCTKeyFile.files(at: work + "/elsewhere"), [work + "/elsewhere/outside.key"])
        XCTAssertEqual(DCTKeyFile.files(at: trust + "/private/notes.txt"), [trust + "/private/notes.txt"])
        XCTAssertEqual(DCTKeyFile.files(at: work + "/missing"), [])
        // A FIFO named on its own is refused at once, not waited on.
        XCTAssertThrowsError(try DCTKeyFile.read(trust + "/private/aaa-fifo.key")) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }
}
