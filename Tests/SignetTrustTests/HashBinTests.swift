import Foundation
import SignetCrypto
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTestSupport
import SignetTrust
import SignetTUF
import XCTest

/// `releases` past 1 024 signed tags: split into succinct hash bins (TAP 15) by the next change, without
/// anything for users or clients to do. Checked through a real docker-registry by Signet's client (one
/// that verified before the split, and a fresh one) and by python-tuf.
final class HashBinTests: TrustTestCase {
    func publisher() throws -> TrustPublisher {
        let home = work + "/home-owner"
        let keyring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        return TrustPublisher(trust: RegistryTrust(reference: try ImageReference(parsing: repo), client: try registryClient(),
                                                   options: TrustOptions(home: home)), keyring: keyring) { entry, root in
            try keyring.unlock(entry, passphrase: SecretBytes(utf8: root ? "root pass" : "key pass"))
        }
    }

    func pythonTUF(_ rootFile: String, _ tags: [String: Digest], file: StaticString = #filePath, line: UInt = #line) throws {
        let script = TestProcesses.packageRoot.appendingPathComponent("Tests/Interop/verify_registry_trust_with_python_tuf.py").path
        let r = try TestProcesses.run(TestProcesses.python, [script, registry.address, "team/app", rootFile] + tags.map { "\($0.key)=\($0.value.hex)" })
        XCTAssertEqual(r.status, 0, "python-tuf: \(r.stderr)", file: file, line: line)
    }

    /// Lists `v1` for the manifest `digest` in the top-level targets (as trust data made by other tools
    /// may), where clients look before `releases`.
    func listV1InTopLevelTargets(digest: String, manifest: [UInt8]) throws {
        _ = try publisher().update { editor in
            var custom = JSONObject(); custom["mediaType"] = .string(MediaType.ociManifest)
            try editor.addTarget(path: "v1", content: nil, length: Int64(manifest.count), hashes: [("sha256", String(digest.dropFirst(7)))],
                                 custom: .object(custom), role: "targets", replace: true)
        }
    }

    /// `inspect` lists only what a client accepts: a tag listed by two roles (here `targets`, searched
    /// first, and `releases`) shows the entry the client's search reaches, once.
    func testInspectShowsTheEntryClientsResolve() throws {
        let (rootFile, first) = try setUpSignedRepository()
        let other = try signet(["push", try image("other", message: "other"), repo + ":other", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let otherManifest = try manifestBytes("other")
        try listV1InTopLevelTargets(digest: other, manifest: otherManifest)
        XCTAssertEqual(try signet(["verify", repo + ":v1", "--ignore-registry-tag", "--root", rootFile], home: "client").stdout, "\(repo)@\(other)\n")
        let inspect = try json(try signet(["inspect", repo, "--json"], home: "client"))
        let v1 = ((inspect["tags"] as? [[String: Any]]) ?? []).filter { $0["tag"] as? String == "v1" }
        XCTAssertEqual(v1.count, 1, "\(v1)")
        XCTAssertEqual(v1.first?["digest"] as? String, other)
        XCTAssertNotEqual(other, first)
    }

    /// `sign` and `revoke` act on the entry clients resolve: with `v1` in top-level targets (searched
    /// first) and in releases, signing the hidden releases digest is not "already signed", `--replace`
    /// moves the targets entry, and `revoke` removes both (removing only one would bring back the other).
    func testSignAndRevokeChangeTheEntryClientsResolve() throws {
        let (rootFile, pushedFirst) = try setUpSignedRepository()
        let first = pushedFirst.trimmingCharacters(in: .whitespacesAndNewlines)
        let other = try signet(["push", try image("other", message: "other"), repo + ":other", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let otherManifest = try manifestBytes("other")
        try listV1InTopLevelTargets(digest: other, manifest: otherManifest)
        let verifyV1 = { (expect: Int32) in try self.signet(["verify", self.repo + ":v1", "--ignore-registry-tag", "--root", rootFile], home: "client", expect: expect) }
        XCTAssertEqual(try verifyV1(0).stdout, "\(repo)@\(other)\n")
        // releases already lists v1 → first, but clients resolve targets' v1 → other.
        let refused = try signet(["sign", "\(repo):v1@\(first)"], expect: 1)
        XCTAssertTrue(refused.stderr.contains("--replace"), refused.stderr)
        XCTAssertEqual(try verifyV1(0).stdout, "\(repo)@\(other)\n")
        try signet(["sign", "\(repo):v1@\(first)", "--replace"])
        XCTAssertEqual(try verifyV1(0).stdout, "\(repo)@\(first)\n")
        // Put targets' entry back on `other`, then revoke: neither digest may verify afterwards.
        try listV1InTopLevelTargets(digest: other, manifest: otherManifest)
        XCTAssertEqual(try verifyV1(0).stdout, "\(repo)@\(other)\n")
        try signet(["revoke", repo + ":v1"])
        let revoked = try verifyV1(1)
        XCTAssertFalse(revoked.stdout.contains("sha256:"), revoked.stdout)
        let inspect = try json(try signet(["inspect", repo, "--json"], home: "client"))
        XCTAssertFalse(((inspect["tags"] as? [[String: Any]]) ?? []).contains { $0["tag"] as? String == "v1" }, "\(inspect)")
    }

    func testReleasesSplitsIntoHashBinsPastTheThresholdAndClientsFollow() throws {
        let (rootFile, pushed) = try setUpSignedRepository()
        let digest = try Digest(oci: pushed.trimmingCharacters(in: .whitespacesAndNewlines))
        let manifest = try manifestBytes("v1")
        let sign = { (tags: ClosedRange<Int>) in
            _ = try self.publisher().update { editor in
                for i in tags {
                    try TrustPublisher.signChange(tag: "t\(i)", digest: digest, length: Int64(manifest.count), mediaType: MediaType.ociManifest)(editor)
                }
            }
        }
        // 1 000 tags (v1, t1 … t999): one releases file; a client verifies and keeps that state. (The
        // registry holds the tags that are verified below: verify checks the registry's tag too.)
        for tag in ["t7", "t500"] { try putManifest(tag, manifest) }
        try sign(1...999)
        XCTAssertFalse(try indexFiles().keys.contains { $0.contains("releases-") })
        XCTAssertTrue(try signet(["verify", repo + ":t500", "--root", rootFile], home: "client").stdout.hasSuffix("@\(digest)\n"))

        // 1 024 tags: still one file (the threshold is "more than 1 024").
        try sign(1000...1023)
        XCTAssertFalse(try indexFiles().keys.contains { $0.contains("releases-") })
        // The 1 025th, signed by the ordinary command, splits releases into 64 bins.
        try putManifest("t1024", manifest)
        try signet(["sign", repo + ":t1024"])
        let files = try indexFiles()
        let bins = files.keys.filter { $0.contains(".releases-") }
        XCTAssertEqual(bins.count, 64, files.keys.sorted().joined(separator: " "))
        let releasesName = try XCTUnwrap(files.keys.first { $0.hasSuffix(".releases.json") })
        let releases = try JSONParser.parse(try blob(try XCTUnwrap(files[releasesName])))
        XCTAssertEqual(releases["signed"]?["targets"]?.objectValue?.count, 0, "releases keeps no tag itself")
        XCTAssertEqual(releases["signed"]?["delegations"]?["succinct_roles"]?["bit_length"]?.integerValue, 6)
        var tagCount = 0
        for name in bins { tagCount += try JSONParser.parse(try blob(try XCTUnwrap(files[name])))["signed"]?["targets"]?.objectValue?.count ?? 0 }
        XCTAssertEqual(tagCount, 1025, "every tag moved into exactly one bin")

        // The client that verified at 1 000 tags keeps verifying, old tags and new; so does a fresh one.
        for tag in ["t500", "t1024", "v1"] {
            XCTAssertTrue(try signet(["verify", repo + ":" + tag], home: "client").stdout.hasSuffix("@\(digest)\n"), tag)
            XCTAssertTrue(try signet(["verify", repo + ":" + tag, "--root", rootFile], home: "fresh").stdout.hasSuffix("@\(digest)\n"), tag)
        }
        try signet(["verify", repo + ":t1025"], home: "fresh", expect: 1)
        // A cold verify fetches the bin holding its tag together with the top-level files, not after
        // `releases` is verified: the verbose report lists it among the files fetched ahead.
        var holder: String?
        for name in bins where try JSONParser.parse(try blob(try XCTUnwrap(files[name])))["signed"]?["targets"]?["t1024"] != nil { holder = name }
        let binFile = try XCTUnwrap(holder, "no bin lists t1024")
        let cold = try signet(["verify", repo + ":t1024", "--root", rootFile], home: "fresh-ahead", env: ["SIGNET_VERBOSE": "1"])
        let ahead = try XCTUnwrap(cold.stderr.split(separator: "\n").first { $0.contains("fetching ahead") }, cold.stderr)
        XCTAssertTrue(ahead.contains(binFile), "\(ahead) should name \(binFile)")
        XCTAssertTrue(ahead.contains("timestamp.json") && ahead.contains(".releases.json"), String(ahead))
        try pythonTUF(rootFile, ["v1": digest, "t1": digest, "t777": digest, "t1024": digest])

        // A layout pulled now, for a tag in another bin than the next publish changes.
        let bins6 = SuccinctRoles(keyIDs: [], threshold: 1, bitLength: 6, namePrefix: "releases")
        let layoutTag = try XCTUnwrap((1...999).map { "t\($0)" }.first { bins6.roleName(for: $0) != bins6.roleName(for: "t1025") })
        try putManifest(layoutTag, manifest)
        try signet(["pull", repo + ":" + layoutTag, "--output", work + "/binned-layout"])

        // After the split a publish re-signs one bin (plus snapshot and timestamp), not the whole list.
        try putManifest("t1025", manifest)
        try signet(["sign", repo + ":t1025"])
        let after = try indexFiles()
        let changed = Set(after.filter { files[$0.key]?.digest != $0.value.digest }.keys.map { name in
            name.split(separator: ".").first.flatMap { Int($0) } == nil ? name : name.split(separator: ".").dropFirst().joined(separator: ".")
        })
        XCTAssertEqual(changed.filter { $0.hasPrefix("releases") }.count, 1, "one bin re-signed: \(changed.sorted())")
        XCTAssertTrue(changed.isSubset(of: ["snapshot.json", "timestamp.json", "releases-00.json"] + (0..<64).map { String(format: "releases-%02x.json", $0) }), "\(changed.sorted())")
        XCTAssertTrue(try signet(["verify", repo + ":t1025"], home: "client").stdout.hasSuffix("@\(digest)\n"))
        // A machine that verified only t1025 since (newer trust data, without the layout's bin) still
        // verifies the older layout offline: its unchanged bin is taken from the layout.
        try signet(["verify", repo + ":t1025", "--root", rootFile], home: "elsewhere")
        XCTAssertTrue(try signet(["verify", "--layout", work + "/binned-layout"], home: "elsewhere").stdout.hasSuffix("@\(digest)\n"))

        // Revoking, listing and signer changes work on the split role as before.
        try signet(["revoke", repo + ":t7"])
        try signet(["verify", repo + ":t7"], home: "client", expect: 1)
        let inspected = try json(try signet(["inspect", repo, "--json"], home: "client"))
        let tags = try XCTUnwrap(inspected["tags"] as? [[String: Any]])
        XCTAssertEqual(tags.count, 1025)
        XCTAssertTrue(tags.allSatisfy { $0["signedBy"] as? String == "releases" })
        let bob = try exportNewKey(home: "bob")
        try signet(["signer", "add", repo, "bob", "--key", bob])
        let binKeys = try JSONParser.parse(try blob(try XCTUnwrap(try indexFiles().first { $0.key.hasSuffix(".releases.json") }?.value)))
        XCTAssertEqual(binKeys["signed"]?["delegations"]?["succinct_roles"]?["keyids"]?.arrayValue?.count, 2, "bins take the new signer too")
        XCTAssertTrue(try signet(["verify", repo + ":t1024", "--root", rootFile], home: "fresh2").stdout.hasSuffix("@\(digest)\n"))
        try pythonTUF(rootFile, ["t1025": digest, "t1024": digest])

        // A policy naming required signers finds the tag in its bin and checks that bin's signatures:
        // bob was added after the owner alone last signed every bin.
        let policy = work + "/policy.json"
        try Data(#"{"default": "reject", "repositories": {"\#(repo)": {"signers": ["bob"]}}}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let refused = try signet(["verify", repo + ":t1024", "--policy", policy], home: "client", expect: 1)
        XCTAssertTrue(refused.stderr.contains("to be signed by 1 of bob; signed by none of them"), refused.stderr)
    }
}
