import Foundation
import SignetCrypto
import SignetTestSupport
import XCTest

/// Versioned storage (`trust init --immutable-tags`) against a front that refuses to overwrite any tag:
/// signing, renewal, root and key rotation, a waiting change, and clients following throughout.
final class ImmutableTagsTests: TrustTestCase {
    func testSigningRotationAndRenewalWithTagsThatNeverMove() throws {
        let proxy = try ImmutableTagProxy(upstream: registry.address)
        let immutable = "\(proxy.address)/team/app"
        // Normal storage cannot live there: its second publish would move _tuf.
        try signet(["trust", "init", "\(proxy.address)/team/normal"])
        let refused = try signet(["push", try image("n1", message: "n"), "\(proxy.address)/team/normal:v1"], expect: 5)
        XCTAssertTrue(refused.stderr.contains("refused to tag _tuf"), refused.stderr)

        let initResult = try json(try signet(["trust", "init", immutable, "--immutable-tags", "--json"]))
        let rootFile = try XCTUnwrap(initResult["rootFile"] as? String)
        let first = try manifestBytes("_tuf")
        let v1 = try signet(["push", try image("img1", message: "one"), immutable + ":v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try signet(["verify", immutable + ":v1", "--root", rootFile], home: "client").stdout, "\(immutable)@\(v1)\n")
        let v2 = try signet(["push", try image("img2", message: "two"), immutable + ":v2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["timestamp", "renew", immutable])
        try signet(["key", "rotate", immutable, "timestamp"])
        try signet(["key", "rotate", immutable, "root"])
        // The existing client follows every step; a fresh one finds the newest state by probing.
        XCTAssertEqual(try signet(["verify", immutable + ":v2"], home: "client").stdout, "\(immutable)@\(v2)\n")
        XCTAssertEqual(try signet(["verify", immutable + ":v1", "--root", rootFile], home: "fresh").stdout, "\(immutable)@\(v1)\n")
        // A waiting change and its discarding go to versioned staged tags.
        try signet(["signer", "add", immutable, "bob", "--key", try exportNewKey(home: "bob")])
        try signet(["signer", "threshold", immutable, "2"], expect: 1)
        XCTAssertNotNil(try json(try signet(["trust", "staged", immutable, "--json"]))["files"])
        try signet(["trust", "discard-staged", immutable])
        XCTAssertEqual(try json(try signet(["trust", "staged", immutable, "--json"]))["staged"] as? Bool, false)
        // A `_tuf-staged` planted beside the versioned tags (the first waiting change again) is not the
        // waiting change, also for a machine that has not seen the repository and reads `_tuf-staged`
        // while it learns the storage mode.
        try putManifest("_tuf-staged", try manifestBytes("_tuf-staged.1"))
        XCTAssertEqual(try json(try signet(["trust", "staged", immutable, "--json", "--root", rootFile], home: "third"))["staged"] as? Bool, false)
        // v3 after all that; clients still follow.
        let v3 = try signet(["push", try image("img3", message: "three"), immutable + ":v3"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try signet(["verify", immutable + ":v3"], home: "client").stdout, "\(immutable)@\(v3)\n")
        XCTAssertEqual(try signet(["verify", immutable + ":v3"], home: "fresh").stdout, "\(immutable)@\(v3)\n")
        // _tuf never moved; the states are _tuf.2 … _tuf.N, contiguous.
        XCTAssertEqual(try manifestBytes("_tuf"), first)
        for n in 2...8 { XCTAssertNoThrow(try manifestBytes("_tuf.\(n)"), "_tuf.\(n)") }
        XCTAssertNoThrow(try manifestBytes("_tuf-staged.1"))
        XCTAssertNoThrow(try manifestBytes("_tuf-staged.2"))
        let inspected = try json(try signet(["inspect", immutable, "--json"], home: "client"))
        XCTAssertEqual(Set(((inspected["tags"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2", "v3"])
    }
}
