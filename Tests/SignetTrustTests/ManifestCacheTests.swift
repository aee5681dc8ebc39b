import Foundation
import SignetCrypto
import SignetTestSupport
import SignetTrust
import XCTest

/// Kept manifests are used only when they are exactly the bytes of the digest asked for.
final class ManifestCacheTests: XCTestCase {
    func testKeptBytesAreUsedOnlyWhenTheyHashToTheDigest() throws {
        let dir = try TestProcesses.temporaryDirectory("signet-manifests")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = ManifestCache(directory: dir + "/m", limit: 3)
        let a = Array(#"{"schemaVersion":2,"a":1}"#.utf8), b = Array(#"{"schemaVersion":2,"b":2}"#.utf8)
        let da = try SHA256.hash(a), db = try SHA256.hash(b)
        XCTAssertNil(cache.bytes(digest: da, length: Int64(a.count)))
        cache.keep(a, digest: da)
        XCTAssertEqual(cache.bytes(digest: da, length: Int64(a.count)), a)
        XCTAssertNil(cache.bytes(digest: da, length: Int64(a.count) - 1), "another signed length is a miss")
        // Another manifest's bytes under this digest's name, or garbage: a miss.
        try Data(b).write(to: URL(fileURLWithPath: dir + "/m/" + da.hex))
        XCTAssertNil(cache.bytes(digest: da, length: Int64(b.count)))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/m/" + da.hex))
        XCTAssertNil(cache.bytes(digest: da, length: 7))
        // At most `limit` entries; the oldest go first.
        cache.keep(b, digest: db)
        for i in 0..<4 {
            let x = Array("{\"n\":\(i)}".utf8)
            Thread.sleep(forTimeInterval: 0.02)
            cache.keep(x, digest: try SHA256.hash(x))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/m").count, 3)
        XCTAssertNil(cache.bytes(digest: db, length: Int64(b.count)), "the oldest entry was dropped")
    }
}
