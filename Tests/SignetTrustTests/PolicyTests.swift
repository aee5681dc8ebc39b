import Foundation
import SignetTestSupport
import SignetTrust
import XCTest

/// A trust policy on a deploy machine (docs/policy.md), against a real docker-registry: three rules, a
/// wildcard and a `reject` default; verification by digest.
final class PolicyTests: TrustTestCase {
    func initRepository(_ name: String) throws -> (rootFile: String, rootKeyID: String) {
        let r = try json(try signet(["trust", "init", "\(registry.address)/\(name)", "--json"]))
        return (try XCTUnwrap(r["rootFile"] as? String), try XCTUnwrap((r["rootKeyIDs"] as? [String])?.first))
    }

    /// A rule meets every spelling of its registry that reaches the same server: host case, the default
    /// HTTPS port, Docker Hub's other names. Another port is another registry.
    func testRulesMeetEverySpellingOfTheirRegistry() throws {
        let text = #"{"version":1,"default":"allow-unsigned","repositories":{"registry.example/team/app":{"roots":["/etc/r.json"]},"docker.io/library/*":{"decision":"reject"}}}"#
        let policy = try TrustPolicy(bytes: Array(text.utf8), source: "test")
        for name in ["registry.example/team/app", "REGISTRY.Example/team/app", "registry.example:443/team/app", "registry.example:0443/team/app"] {
            XCTAssertEqual(policy.rule(for: name)?.roots, ["/etc/r.json"], name)
        }
        XCTAssertNil(policy.rule(for: "registry.example:5000/team/app"))
        let loopback = try TrustPolicy(bytes: Array(#"{"version":1,"default":"allow-unsigned","repositories":{"localhost/x":{"decision":"reject"},"127.0.0.1:5000/y":{"decision":"reject"}}}"#.utf8), source: "test")
        XCTAssertEqual(loopback.decision(for: "localhost/x"), .reject)
        XCTAssertEqual(loopback.decision(for: "localhost:443/x"), .allowUnsigned, "loopback is HTTP: 443 is another port")
        XCTAssertEqual(loopback.decision(for: "127.0.0.1:05000/y"), .reject)
        XCTAssertNil(policy.rule(for: "registry.example/TEAM/app"), "paths stay case-sensitive")
        for name in ["docker.io/library/x", "index.docker.io/library/x", "registry-1.docker.io/library/x"] {
            XCTAssertEqual(policy.decision(for: name), .reject, name)
        }
    }

    /// A pattern that could never match a reference is an error, not a rule that silently leaves its
    /// repositories to the default (which may be allow-unsigned).
    func testPatternsThatCouldNeverMatchAreRefused() throws {
        let refused: [(String, String)] = [
            ("https://registry.example/team/*", "no scheme"),
            ("team/*", "write the registry out"),
            ("docker.io/alpine", "docker.io/library/alpine"),
            ("registry.example/team/app:4.0", "names a tag or digest"),
            ("registry.example/team/app@sha256:" + String(repeating: "ab", count: 32), "names a tag or digest"),
            ("registry.example/team/app/", "can never match"),
            ("registry.example/Team/*", "lowercase"),
            ("127.0.0.01:5000/team/*", "four decimal numbers"),
            ("*/Team/app", "lowercase"),
            ("[0:0::1]:*/**", "IPv6 address in full"),
            ("[::*]:5000/**", "IPv6 address in full"),
        ]
        for (pattern, fragment) in refused {
            let text = #"{"version":1,"default":"allow-unsigned","repositories":{"\#(pattern)":{"decision":"reject"}}}"#
            XCTAssertThrowsError(try TrustPolicy(bytes: Array(text.utf8), source: "p.json"), pattern) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(pattern): \(error)")
                XCTAssertTrue("\(error)".contains(pattern), "\(pattern): \(error)")
            }
        }
        for pattern in ["registry.example/team/*", "registry.example/**", "*.example:*/team/app", "127.0.0.*:5000/team/app",
                        "docker.io/library/*", "registry.example/team-*/app", "[::1]:5000/x",
                        "*/team/app", "**/app", "*/*", "*/**", "10.0.*.1:5000/team/app", "[::1]:*/**"] {
            let text = #"{"version":1,"default":"allow-unsigned","repositories":{"\#(pattern)":{"decision":"reject"}}}"#
            XCTAssertNoThrow(try TrustPolicy(bytes: Array(text.utf8), source: "p.json"), pattern)
        }
    }

    func testAPolicyDecidesEachRepositoryAndDigestsAreVerified() throws {
        let reg = registry.address
        let app = try initRepository("team/app")
        let lib = try initRepository("team/lib")
        let other = try initRepository("team/other")
        _ = try initRepository("elsewhere/x")
        let img = try image("img1", message: "one")
        for repo in ["team/app", "team/lib", "team/other", "elsewhere/x"] { try signet(["push", img, "\(reg)/\(repo):v1"]) }
        let unsignedImage = try image("img2", message: "unsigned")
        let unsignedDigest = try signet(["push", unsignedImage, "\(reg)/team/lib:scratch", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let toolDigest = try signet(["push", img, "\(reg)/public/tool:v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)   // no trust data
        let alicePEM = try exportNewKey(home: "alice")
        try signet(["signer", "add", "\(reg)/team/app", "alice", "--key", alicePEM])

        let policy: [String: Any] = [
            "version": 1,
            "default": "reject",
            "repositories": [
                "\(reg)/team/app": ["roots": [app.rootFile], "signers": ["alice"], "threshold": 1],
                "\(reg)/team/*": ["rootKeyIDs": [lib.rootKeyID]],
                "\(reg)/public/**": ["decision": "allow-unsigned"],
            ] as [String: Any],
        ]
        let policyFile = work + "/policy.json"
        try JSONSerialization.data(withJSONObject: policy).write(to: URL(fileURLWithPath: policyFile))
        func client(_ args: [String], expect: Int32 = 0) throws -> ProcessResult {
            try signet(args + ["--policy", policyFile], home: "deploy", expect: expect)
        }

        // The exact rule for team/app: its root file is the anchor (no --root needed), but v1 is signed
        // only by the initial signer, not by alice.
        let notAlice = try client(["verify", "\(reg)/team/app:v1"], expect: 1)
        XCTAssertTrue(notAlice.stderr.contains("policy") && notAlice.stderr.contains("alice"), notAlice.stderr)
        // Once alice signs (the releases metadata carrying the tags; she has no snapshot or timestamp key,
        // so the change waits until the owner's renewal publishes it), it passes.
        let aliceSigns = try signet(["push", try image("img3", message: "three"), "\(reg)/team/app:v2", "--root", app.rootFile], home: "alice", expect: 1)
        XCTAssertTrue(aliceSigns.stderr.contains("_tuf-staged") || aliceSigns.stderr.contains("sign-staged"), aliceSigns.stderr)
        XCTAssertTrue(try signet(["timestamp", "renew", "\(reg)/team/app"]).stdout.contains("was published"))
        let v2 = try client(["verify", "\(reg)/team/app:v2"])
        XCTAssertTrue(v2.stdout.hasPrefix("\(reg)/team/app@sha256:"), v2.stdout)
        // The wildcard for team/*: team/lib's root is signed by the listed key; team/other's is not.
        try client(["verify", "\(reg)/team/lib:v1", "--root", lib.rootFile])
        let otherRoot = try client(["verify", "\(reg)/team/other:v1", "--root", other.rootFile], expect: 1)
        XCTAssertTrue(otherRoot.stderr.contains("root of \(reg)/team/other to be signed by"), otherRoot.stderr)
        // public/**: no trust data there, allowed unsigned (said so).
        let tool = try client(["verify", "\(reg)/public/tool:v1"])
        XCTAssertEqual(tool.stdout, "\(reg)/public/tool@\(toolDigest)\n")
        XCTAssertTrue(tool.stderr.contains("NOT verified"), tool.stderr)
        try client(["pull", "\(reg)/public/tool:v1", "--output", work + "/tool"])
        // Everything else: the default rejects it, even with a good root.
        let rejected = try client(["verify", "\(reg)/elsewhere/x:v1", "--trust-on-first-use", "--json"], expect: 1)
        XCTAssertTrue(rejected.stderr.contains("\"policy\""), rejected.stderr)
        try client(["pull", "\(reg)/elsewhere/x:v1", "--output", work + "/x", "--trust-on-first-use"], expect: 1)

        // policy check explains each decision.
        let explained = try json(try client(["policy", "check", "\(reg)/team/app:v2", "--json"]))
        XCTAssertEqual(explained["rule"] as? String, "\(reg)/team/app")
        XCTAssertEqual(explained["decision"] as? String, "require-signed")
        XCTAssertEqual(explained["signers"] as? [String], ["alice"])
        XCTAssertEqual(try json(try client(["policy", "check", "\(reg)/team/lib", "--json"]))["rule"] as? String, "\(reg)/team/*")
        XCTAssertEqual(try json(try client(["policy", "check", "\(reg)/public/a/b", "--json"]))["decision"] as? String, "allow-unsigned")
        let defaulted = try client(["policy", "check", "\(reg)/elsewhere/x"])
        XCTAssertTrue(defaulted.stdout.contains("reject (the default"), defaulted.stdout)
        // A rule whose root file is missing is flagged by the check (every verify under it would fail).
        let broken = work + "/broken-policy.json"
        try Data(#"{"version":1,"default":"reject","repositories":{"\#(reg)/team/app":{"roots":["\#(work)/no-such-root.json"]}}}"#.utf8)
            .write(to: URL(fileURLWithPath: broken))
        let flagged = try signet(["policy", "check", "\(reg)/team/app", "--policy", broken], home: "deploy", expect: 4)
        XCTAssertTrue(flagged.stderr.contains("policy problem") && flagged.stderr.contains("no-such-root.json"), flagged.stderr)

        // Verification by digest: a signed digest names its tags; an unsigned one is refused, by verify
        // and by pull alike.
        let signedDigest = String(try client(["verify", "\(reg)/team/lib:v1"]).stdout.split(separator: "@").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let byDigest = try json(try client(["verify", "\(reg)/team/lib@\(signedDigest)", "--json"]))
        XCTAssertEqual(byDigest["tags"] as? [String], ["v1"])
        try client(["verify", "\(reg)/team/lib@\(signedDigest)", "--tag", "v1"])
        try client(["verify", "\(reg)/team/lib@\(signedDigest)", "--tag", "scratch"], expect: 1)
        let unsigned = try client(["verify", "\(reg)/team/lib@\(unsignedDigest)"], expect: 1)
        XCTAssertTrue(unsigned.stderr.contains("no signed tag names this digest"), unsigned.stderr)
        try client(["pull", "\(reg)/team/lib@\(unsignedDigest)", "--output", work + "/u"], expect: 1)
        try client(["pull", "\(reg)/team/lib@\(signedDigest)", "--output", work + "/s"])
        // Without a policy, verify by digest works the same way.
        XCTAssertEqual(try signet(["verify", "\(reg)/team/lib@\(signedDigest)"], home: "deploy").stdout, "\(reg)/team/lib@\(signedDigest)\n")
        try signet(["verify", "\(reg)/team/lib@\(unsignedDigest)"], home: "deploy", expect: 1)
    }
}
