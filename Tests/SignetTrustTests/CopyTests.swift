import Foundation
import SignetTestSupport
import XCTest

/// `signet copy`: 20 signed tags (two multi-platform) with their trust data to a second docker-registry,
/// verified there by a client pinned to the original root; a source that does not verify is not copied.
final class CopyTests: TrustTestCase {
    func testTwentySignedTagsAndTheirTrustGoToAnotherRegistry() throws {
        let second = try TestRegistry()
        let destination = "\(second.address)/mirror/app"
        let initResult = try json(try signet(["trust", "init", repo, "--json"]))
        let rootFile = try XCTUnwrap(initResult["rootFile"] as? String)
        var digests: [String: String] = [:]
        for i in 1...18 {
            let dir = try image("img\(i)", message: "image \(i)")
            digests["v\(i)"] = try signet(["push", dir, "\(repo):v\(i)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for i in 1...2 {
            let dir = try image("multi\(i)", message: "multi \(i)", platforms: "linux/amd64,linux/arm64")
            digests["multi\(i)"] = try signet(["push", dir, "\(repo):multi\(i)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let before = try manifestBytes("_tuf")

        let copied = try json(try signet(["copy", repo, destination, "--all-tags", "--json"]))
        XCTAssertEqual(((copied["tags"] as? [[String: Any]]) ?? []).count, 20)
        XCTAssertGreaterThan(copied["blobsUploaded"] as? Int ?? 0, 0)
        // A client that pinned the original root verifies every copied tag at the second registry.
        for (tag, digest) in digests.sorted(by: { $0.key < $1.key }) {
            let verified = try signet(["verify", "\(destination):\(tag)", "--root", rootFile, "--as", repo], home: "mirror-client")
            XCTAssertEqual(verified.stdout, "\(destination)@\(digest)\n")
        }
        // The machine that pinned the original verifies the copy as the original without a root file,
        // as `copy` suggests: the copy's pin starts from the original's.
        let suggested = try signet(["verify", "\(destination):v1", "--as", repo])
        XCTAssertEqual(suggested.stdout, "\(destination)@\(try XCTUnwrap(digests["v1"]))\n")
        XCTAssertTrue(suggested.stderr.contains("pinned the root this machine trusts for \(repo)"), suggested.stderr)
        try signet(["verify", "\(destination):v2", "--as", repo, "--root", rootFile], home: "nothing-pinned")
        let unpinned = try signet(["verify", "\(destination):v1", "--as", repo], home: "nothing-pinned-either", expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("no trusted root pinned"), unpinned.stderr)
        // A digest in a repository named as a copy (--as) must be signed, even where that name has no
        // trust data at all.
        let strayDigest = try signet(["push", try image("stray", message: "stray"), "\(second.address)/mirror/stray:v1", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["pull", "\(second.address)/mirror/stray@\(strayDigest)", "--as", repo, "--verify-only"], expect: 1)
        // So even under a policy whose default allows unsigned repositories.
        let lenient = work + "/allow-unsigned.json"
        try Data(#"{"version":1,"default":"allow-unsigned"}"#.utf8).write(to: URL(fileURLWithPath: lenient))
        for args in [["pull", "\(second.address)/mirror/stray@\(strayDigest)", "--verify-only"], ["pull", "\(second.address)/mirror/stray:v1", "--verify-only"],
                     ["verify", "\(second.address)/mirror/stray:v1"], ["verify", "\(second.address)/mirror/stray@\(strayDigest)"]] {
            try signet(args + ["--as", repo, "--policy", lenient], expect: 1)
        }
        try signet(["pull", "\(second.address)/mirror/stray:v1", "--verify-only", "--policy", lenient])   // not named as a copy: allowed
        let copyRule = work + "/copy-rule.json"
        try Data(#"{"version":1,"default":"reject","repositories":{"\#(second.address)/mirror/stray":{"sameAs":"\#(repo)","decision":"allow-unsigned"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: copyRule))
        let explained = try signet(["policy", "check", "\(second.address)/mirror/stray", "--policy", copyRule])
        XCTAssertTrue(explained.stdout.contains("require-signed") && explained.stdout.contains("does not apply to a copy"), explained.stdout)
        try signet(["pull", "\(second.address)/mirror/stray:v1", "--verify-only", "--policy", copyRule], expect: 1)
        // The multi-platform copies are complete: every platform pulls.
        let pulled = try json(try signet(["pull", "\(destination):multi1", "--all-platforms", "--as", repo, "--output", work + "/multi", "--json"], home: "mirror-client"))
        XCTAssertEqual(Set((pulled["platforms"] as? [String]) ?? []), ["linux/amd64", "linux/arm64"])
        // Without --as the copy is refused: its trust data names the original repository.
        let unmapped = try signet(["verify", "\(destination):v1", "--root", rootFile], home: "unmapped", expect: 1)
        XCTAssertTrue(unmapped.stderr.contains(repo), unmapped.stderr)

        // Within one registry, blobs are mounted rather than uploaded again.
        let local = try json(try signet(["copy", repo + ":v1", "\(registry.address)/team/copy", "--json"]))
        XCTAssertGreaterThan(local["blobsMounted"] as? Int ?? 0, 0, "\(local)")
        XCTAssertEqual(local["blobsUploaded"] as? Int, 0)

        // A source that does not verify (its trust index rolled back) is not copied.
        try signet(["push", try image("img19", message: "nineteen"), "\(repo):v19"])
        let destinationIndex = try manifestBytes("_tuf", repository: "mirror/app", client: registryClient(second.address))
        try putManifest("_tuf", before)
        let refused = try signet(["copy", repo, destination], expect: 1)
        XCTAssertTrue(refused.stderr.contains("rollback"), refused.stderr)
        XCTAssertEqual(try manifestBytes("_tuf", repository: "mirror/app", client: registryClient(second.address)), destinationIndex)
    }
}
