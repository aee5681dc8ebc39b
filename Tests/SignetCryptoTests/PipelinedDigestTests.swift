import XCTest
@testable import SignetCrypto

final class PipelinedDigestTests: XCTestCase {
    func testMatchesOneShotAndFeedsConsumerInOrder() throws {
        var rng = SplitMix(seed: 11)
        let data = (0..<3_000_001).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        nonisolated(unsafe) var consumed: [UInt8] = []
        let p = try PipelinedDigest([.sha256, .sha512], blockSize: 64 * 1024, depth: 3) { chunk in consumed.append(contentsOf: chunk) }
        var i = 0, step = 1
        while i < data.count {
            let end = min(data.count, i + step)
            try data[i..<end].withUnsafeBytes { try p.update($0) }
            i = end
            step = (step * 7 + 3) % 100_000 + 1
        }
        let digests = try p.finalize()
        XCTAssertEqual(digests, [try Digest.compute(.sha256, over: data), try Digest.compute(.sha512, over: data)])
        XCTAssertEqual(consumed, data)
        XCTAssertEqual(p.byteCount, Int64(data.count))
    }

    func testConsumerErrorSurfaces() throws {
        struct Boom: Error {}
        let p = try PipelinedDigest([.sha256], blockSize: 4096, depth: 2) { _ in throw Boom() }
        let block = [UInt8](repeating: 1, count: 4096)
        var thrown = false
        for _ in 0..<100 {
            do { try block.withUnsafeBytes { try p.update($0) } } catch { thrown = true; break }
        }
        if !thrown { XCTAssertThrowsError(try p.finalize()) } else { XCTAssertTrue(thrown) }
    }
}
