import Foundation
import SignetTestSupport
import XCTest

/// Every `--json` output parses and carries the documented fields (docs/cli.md); with `--json`,
/// errors are JSON on stderr with a stable code.
final class JSONOutputTests: TrustTestCase {
    func object(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] { try json(r, file: file, line: line) }

    func errorObject(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any]
        let e = try XCTUnwrap(parsed?["error"] as? [String: Any], "stderr is not a JSON error: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(e["exitStatus"] as? Int, Int(r.status), file: file, line: line)
        XCTAssertFalse((e["message"] as? String ?? "").isEmpty, file: file, line: line)
        return e
    }

    func testEveryCommandsJSON() throws {
        let initialized = try object(try signet(["trust", "init", repo, "--json"]))
        let rootFile = try XCTUnwrap(initialized["rootFile"] as? String)
        XCTAssertEqual(initialized["repository"] as? String, repo)
        XCTAssertEqual((initialized["rootKeyIDs"] as? [String])?.count, 1)
        XCTAssertEqual((initialized["signerKeyIDs"] as? [String])?.count, 1)

        let pushed = try object(try signet(["push", try image("img1", message: "one"), repo + ":v1", "--json"]))
        let digest = try XCTUnwrap(pushed["digest"] as? String)
        XCTAssertEqual(pushed["signed"] as? Bool, true)
        XCTAssertEqual(pushed["reference"] as? String, "\(repo)@\(digest)")
        XCTAssertEqual(pushed["tag"] as? String, "v1")

        let verified = try object(try signet(["verify", repo + ":v1", "--json"]))
        XCTAssertEqual(verified["reference"] as? String, "\(repo)@\(digest)")
        XCTAssertEqual(verified["digest"] as? String, digest)
        XCTAssertNotNil(verified["warnings"] as? [Any])

        try signet(["push", try image("img2", message: "two"), repo + ":v2", "--unsigned"])
        let signed = try object(try signet(["sign", repo + ":v2", "--json"]))
        XCTAssertEqual(signed["published"] as? Bool, true)
        XCTAssertEqual(signed["tag"] as? String, "v2")
        XCTAssertEqual((signed["digest"] as? String)?.hasPrefix("sha256:"), true)
        XCTAssertEqual(signed["reference"] as? String, "\(repo)@\(signed["digest"] as? String ?? "")")
        let again = try object(try signet(["sign", repo + ":v2", "--json"]))
        XCTAssertEqual(again["alreadySigned"] as? Bool, true)
        let revoked = try object(try signet(["revoke", repo + ":v2", "--json"]))
        XCTAssertEqual(revoked["revoked"] as? Bool, true)
        XCTAssertEqual(revoked["tag"] as? String, "v2")

        let inspected = try object(try signet(["inspect", repo, "--json"]))
        XCTAssertEqual((inspected["tags"] as? [[String: Any]])?.first?["tag"] as? String, "v1")
        XCTAssertNotNil((inspected["roles"] as? [[String: Any]])?.first?["secondsLeft"] as? Int)
        XCTAssertEqual(inspected["stagedChange"] as? Bool, false)

        let generated = try object(try signet(["key", "generate", "--json"], home: "bob"))
        let bobID = try XCTUnwrap(generated["keyID"] as? String)
        XCTAssertEqual(generated["type"] as? String, "ed25519")
        let listed = try JSONSerialization.jsonObject(with: Data(try signet(["key", "list", "--json"], home: "bob").stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(listed?.first?["keyID"] as? String, bobID)
        let exported = try object(try signet(["key", "export", bobID, "--json"], home: "bob"))
        let pem = try XCTUnwrap(exported["publicKeyPEM"] as? String)
        try Data(pem.utf8).write(to: URL(fileURLWithPath: work + "/bob.pem"))

        let added = try object(try signet(["signer", "add", repo, "bob", "--key", work + "/bob.pem", "--json"]))
        XCTAssertEqual(added["signer"] as? String, "bob")
        XCTAssertEqual(added["keyID"] as? String, bobID)
        let signers = try object(try signet(["signer", "list", repo, "--json"]))
        XCTAssertEqual(Set(((signers["signers"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }), ["bob", ""])
        XCTAssertEqual(signers["threshold"] as? Int, 1)

        // A change that waits: the missing signatures as data.
        let staged = try signet(["signer", "threshold", repo, "2", "--json"], expect: 1)
        let stagedObject = try object(staged)
        XCTAssertEqual(stagedObject["staged"] as? Bool, true)
        XCTAssertEqual(stagedObject["published"] as? Bool, false)
        let missing = try XCTUnwrap((stagedObject["missing"] as? [[String: Any]])?.first)
        XCTAssertEqual(missing["role"] as? String, "releases")
        XCTAssertEqual(missing["need"] as? Int, 2)
        XCTAssertEqual(missing["mayStillSign"] as? [String], [bobID])
        let review = try object(try signet(["trust", "staged", repo, "--json"]))
        XCTAssertNotNil(review["files"] as? [Any])
        let discarded = try object(try signet(["trust", "discard-staged", repo, "--json"]))
        XCTAssertEqual(discarded["discarded"] as? Bool, true)

        let renewed = try object(try signet(["timestamp", "renew", repo, "--json"]))
        XCTAssertEqual(renewed["renewed"] as? [String], ["timestamp", "snapshot"])
        XCTAssertEqual((renewed["attention"] as? [Any])?.count, 0)
        let rotated = try object(try signet(["key", "rotate", repo, "timestamp", "--json"]))
        XCTAssertEqual(rotated["role"] as? String, "timestamp")
        XCTAssertEqual((rotated["newKeyID"] as? String)?.count, 64)
        XCTAssertEqual((rotated["replacedKeyIDs"] as? [String])?.count, 1)
        let expiry = try object(try signet(["trust", "expiry", repo, "timestamp=3d", "--json"]))
        XCTAssertEqual(expiry["published"] as? Bool, true)

        // Offline layout.
        let pulled = try object(try signet(["pull", repo + ":v1", "--output", work + "/layout", "--json"]))
        XCTAssertEqual(pulled["reference"] as? String, "\(repo)@\(digest)")
        XCTAssertEqual(pulled["tag"] as? String, "v1")
        let layout = try object(try signet(["verify", "--layout", work + "/layout", "--json"]))
        XCTAssertEqual(layout["digest"] as? String, digest)
        XCTAssertEqual(layout["tag"] as? String, "v1")

        // Errors: JSON on stderr with stable codes.
        XCTAssertEqual(try errorObject(try signet(["verify", repo + ":nope", "--json"], expect: 1))["code"] as? String, "unsigned")
        XCTAssertEqual(try errorObject(try signet(["verify", repo + ":v1", "--json"], home: "stranger", expect: 1))["code"] as? String, "not-pinned")
        XCTAssertEqual(try errorObject(try signet(["verify", "--json"], expect: 2))["code"] as? String, "usage")
        XCTAssertEqual(try errorObject(try signet(["trust", "expiry", repo, "foo=3d", "--json"], expect: 2))["code"] as? String, "usage")
        let later = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 30 * 86400)]
        XCTAssertEqual(try errorObject(try signet(["verify", repo + ":v1", "--root", rootFile, "--json"], home: "late", env: later, expect: 1))["code"] as? String, "expired")
        XCTAssertEqual(try errorObject(try signet(["verify", "127.0.0.1:9/none/x:v1", "--trust-on-first-use", "--json"], home: "nowhere", expect: 3))["code"] as? String, "network")
        XCTAssertEqual(try errorObject(try signet(["verify", "127.0.0.1:9/none/x:v1", "--root", rootFile, "--json"], home: "nowhere", expect: 1))["code"] as? String, "wrong-repository")
    }
}
