import Foundation
import SignetCrypto
import SignetTUF
@testable import SignetTrust
import XCTest

/// Which roles of a trust index are taken for succinct hash bins when fetching ahead.
final class FetchAheadTests: XCTestCase {
    func roles(_ prefix: String, bins: Int, width: Int, extra: [String] = []) -> Set<String> {
        Set(["root", "timestamp", "snapshot", "targets", prefix] + (0..<bins).map { n in
            let hex = String(n, radix: 16)
            return prefix + "-" + String(repeating: "0", count: max(0, width - hex.count)) + hex
        } + extra)
    }

    func testBinsAreRecognisedAndTheTagsBinFollowsTAP15() throws {
        let bins = try XCTUnwrap(IndexTransport.hashBins(roles: roles("releases", bins: 64, width: 2)))
        XCTAssertEqual(bins.bitLength, 6)
        XCTAssertEqual(bins.namePrefix, "releases")
        // The first 6 bits of SHA-256("t1024"), computed independently.
        let digest = try SHA256.hash(Array("t1024".utf8)).bytes
        XCTAssertEqual(bins.roleName(for: "t1024"), "releases-" + String(format: "%02x", Int(digest[0] >> 2)))
        XCTAssertEqual(try XCTUnwrap(IndexTransport.hashBins(roles: roles("releases", bins: 2, width: 1))).bitLength, 1)
        XCTAssertEqual(try XCTUnwrap(IndexTransport.hashBins(roles: roles("releases", bins: 4096, width: 3))).bitLength, 12)
    }

    func testAnythingElseIsNotTakenForBins() {
        // No bins; a missing bin; not a power of two; suffixes of mixed width; no parent role listed;
        // two sets of bins.
        XCTAssertNil(IndexTransport.hashBins(roles: ["root", "timestamp", "snapshot", "targets", "releases"]))
        var missing = roles("releases", bins: 64, width: 2)
        missing.remove("releases-2a")
        XCTAssertNil(IndexTransport.hashBins(roles: missing))
        XCTAssertNil(IndexTransport.hashBins(roles: roles("releases", bins: 3, width: 1)))
        XCTAssertNil(IndexTransport.hashBins(roles: roles("releases", bins: 4, width: 2)), "4 bins have 1-digit suffixes")
        var orphan = roles("releases", bins: 8, width: 1)
        orphan.remove("releases")
        XCTAssertNil(IndexTransport.hashBins(roles: orphan))
        XCTAssertNil(IndexTransport.hashBins(roles: roles("releases", bins: 8, width: 1).union(roles("team", bins: 2, width: 1))))
        // Delegated roles that merely end in a hex word are not bins.
        XCTAssertNil(IndexTransport.hashBins(roles: ["releases", "team", "team-a", "team-cafe"]))
    }
}
