import Foundation
import SignetTrust
import SignetOCI
import SignetKeys
import SignetCrypto
import SignetTestSupport
import XCTest

/// Running a trusted repository day after day, against a real docker-registry with an injected clock
/// (`SIGNET_UNSAFE_NOW`): renewals from a machine holding only the snapshot and timestamp keys, a change
/// waiting for a co-signer meanwhile, warnings before expiry, the failure after it, and the fix.
final class OperationsTests: TrustTestCase {
    let start = Int(Date().timeIntervalSince1970)

    func day(_ d: Double) -> [String: String] { ["SIGNET_UNSAFE_NOW": String(start + Int(d * 86400))] }

    /// Copies the keys of `roles` (by their role label) from one key store to another.
    func copyKeys(from: String, to: String, roles: Set<String>) throws {
        let listed = try JSONSerialization.jsonObject(with: Data(try signet(["key", "list", "--json"], home: from).stdout.utf8)) as? [[String: Any]] ?? []
        let target = work + "/home-" + to + "/keys"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        var copied = 0
        for k in listed {
            guard let id = k["keyID"] as? String, let role = (k["labels"] as? [String: String])?["role"], roles.contains(role) else { continue }
            try FileManager.default.copyItem(atPath: work + "/home-\(from)/keys/\(id).key", toPath: target + "/\(id).key")
            copied += 1
        }
        XCTAssertEqual(copied, roles.count)
    }


    func testAWeekOfOperations() throws {
        // Day 0: the owner creates trust with 3-day timestamps, signs v1, adds two signers and asks for
        // 2 of 3 signatures on releases: that change needs a second signer, so it waits.
        let initResult = try json(try signet(["trust", "init", repo, "--expiry", "timestamp=3d", "--json"], env: day(0)))
        let rootFile = try XCTUnwrap(initResult["rootFile"] as? String)
        XCTAssertEqual(initResult["rootBesideOnlineKeys"] as? Bool, true)
        let v1 = try signet(["push", try image("img1", message: "one"), repo + ":v1"], env: day(0)).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["signer", "add", repo, "bob", "--key", try exportNewKey(home: "bob")], env: day(0))
        try signet(["signer", "add", repo, "carol", "--key", try exportNewKey(home: "carol")], env: day(0))
        let waiting = try signet(["signer", "threshold", repo, "2"], env: day(0), expect: 1)
        XCTAssertTrue(waiting.stderr.contains("_tuf-staged"), waiting.stderr)
        let lifetimes = try json(try signet(["inspect", repo, "--json"], env: day(0)))
        let ts = ((lifetimes["roles"] as? [[String: Any]]) ?? []).first { $0["role"] as? String == "timestamp" }
        XCTAssertEqual(ts?["lifetimeSeconds"] as? Int, 3 * 86400)
        XCTAssertEqual(ts?["lifetimeRecorded"] as? Bool, true)

        // The CI machine holds only the snapshot and timestamp keys.
        try copyKeys(from: "owner", to: "ci", roles: ["snapshot", "timestamp"])
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client", env: day(0))

        // Days 1 to 3: daily renewals go ahead while the change waits; the change stays valid.
        for d in 1...3 {
            let renewed = try signet(["timestamp", "renew", repo] + (d == 1 ? ["--root", rootFile] : []), home: "ci", env: day(Double(d)))
            XCTAssertTrue(renewed.stdout.contains("published"), renewed.stdout)
            XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client", env: day(Double(d))).stdout, "\(repo)@\(v1)\n")
            let review = try json(try signet(["trust", "staged", repo, "--json"], env: day(Double(d))))
            XCTAssertNotNil(review["files"], "the waiting change is still valid on day \(d): \(review)")
        }
        // Day 3: bob co-signs (he has no snapshot or timestamp key, so it still waits) and the CI's next
        // renewal publishes it.
        let bob = try signet(["trust", "sign-staged", repo, "--yes", "--root", rootFile], home: "bob", env: day(3.2), expect: 1)
        XCTAssertTrue(bob.stderr.contains("snapshot") || bob.stderr.contains("timestamp"), bob.stderr)
        let completed = try signet(["timestamp", "renew", repo], home: "ci", env: day(3.3))
        XCTAssertTrue(completed.stdout.contains("was published"), completed.stdout)
        XCTAssertTrue(try signet(["signer", "list", repo], home: "client", env: day(3.3)).stdout.contains("2 of 3"))
        XCTAssertEqual(try json(try signet(["trust", "staged", repo, "--json"], env: day(3.3)))["staged"] as? Bool, false)

        // A weekend without renewal: two days later the client is warned, with the date and the fix.
        let warned = try signet(["verify", repo + ":v1", "--json"], home: "client", env: day(5))
        XCTAssertTrue(warned.stderr.contains("warning: timestamp of \(repo) expires") && warned.stderr.contains("signet timestamp renew \(repo)"), warned.stderr)
        let warnings = try json(warned)["warnings"] as? [[String: Any]] ?? []
        XCTAssertEqual(warnings.first?["role"] as? String, "timestamp")
        XCTAssertEqual(warnings.first?["expired"] as? Bool, false)
        // ... and once it has expired, verification fails, naming the role, the date and the fix.
        let failed = try signet(["verify", repo + ":v1"], home: "client", env: day(6.5), expect: 1)
        XCTAssertTrue(failed.stderr.contains("the timestamp metadata of \(repo) expired at") && failed.stderr.contains("`signet timestamp renew \(repo)`"), failed.stderr)
        // inspect still shows the trust data, marked expired.
        let shown = try signet(["inspect", repo], home: "client", env: day(6.5))
        XCTAssertTrue(shown.stdout.contains("EXPIRED"), shown.stdout)
        // The fix: the CI renews (it verified these versions before), and clients verify again.
        try signet(["timestamp", "renew", repo], home: "ci", env: day(6.6))
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client", env: day(6.6)).stdout, "\(repo)@\(v1)\n")

        // A role that needs keys held elsewhere is never renewed here; it is reported (exit 6) with the keys.
        let attention = try signet(["timestamp", "renew", repo, "--within", "400", "--json"], home: "ci", env: day(7), expect: 6)
        let pending = try json(attention)["attention"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(pending.compactMap { $0["role"] as? String }), ["root", "targets", "releases"])
        XCTAssertTrue(attention.stderr.contains("attention: root of \(repo) expires"), attention.stderr)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client", env: day(7)).stdout, "\(repo)@\(v1)\n")
    }

    /// Removing a signer never lowers the threshold as a side effect.
    func testSignerRemovalNeedsAnExplicitThresholdWhenTooFewWouldRemain() throws {
        let a = try XCTUnwrap(try json(try signet(["key", "generate", "--json"]))["keyID"] as? String)
        let b = try XCTUnwrap(try json(try signet(["key", "generate", "--json"]))["keyID"] as? String)
        try signet(["trust", "init", repo, "--signer-key", a, "--signer-key", b, "--signer-threshold", "2"])
        let before = try manifestBytes("_tuf")
        let refused = try signet(["signer", "remove", repo, b], expect: 2)
        XCTAssertTrue(refused.stderr.contains("fewer than its threshold of 2") && refused.stderr.contains("--threshold"), refused.stderr)
        XCTAssertEqual(try manifestBytes("_tuf"), before, "nothing was published")
        try signet(["signer", "remove", repo, b, "--threshold", "3"], expect: 2)
        try signet(["signer", "remove", repo, b, "--threshold", "1"])
        XCTAssertTrue(try signet(["signer", "list", repo]).stdout.contains("1 of 1"))
    }

    /// The trust tag overwritten by another image, then deleted: the publisher re-publishes the state it
    /// verified last, pinned clients keep verifying, and `trust init` explains instead of starting over.
    func testRestoreAfterTheTrustTagWasOverwrittenOrDeleted() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        // Overwritten by an image manifest (someone pushed an image under the tag).
        let imageManifest = try manifestBytes("v1")
        try putManifest("_tuf", imageManifest)
        try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        let initRefused = try signet(["trust", "init", repo], expect: 2)
        XCTAssertTrue(initRefused.stderr.contains("not trust data") && initRefused.stderr.contains("signet trust restore"), initRefused.stderr)
        let restored = try json(try signet(["trust", "restore", repo, "--json"]))
        XCTAssertEqual(restored["restored"] as? Bool, true)
        XCTAssertEqual(restored["replaced"] as? String, try SHA256.hash(imageManifest).ociString)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n")
        XCTAssertNotEqual(try manifestBytes("_tuf"), imageManifest)
        // Nothing to restore while the trust data verifies.
        let nothing = try signet(["trust", "restore", repo], expect: 2)
        XCTAssertTrue(nothing.stderr.contains("nothing to restore"), nothing.stderr)
        // Deleted: init explains the difference between restoring and starting over; restore works.
        let current = try SHA256.hash(try manifestBytes("_tuf")).ociString
        let deleted = try TestProcesses.run("/usr/bin/curl", ["-fsS", "-X", "DELETE", "http://\(registry.address)/v2/team/app/manifests/\(current)"])
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        let lost = try signet(["trust", "init", repo], expect: 2)
        XCTAssertTrue(lost.stderr.contains("trust data was lost") && lost.stderr.contains("--start-over"), lost.stderr)
        try signet(["trust", "restore", repo])
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n")
        // A machine that never verified the repository has nothing to restore from.
        try putManifest("_tuf", imageManifest)
        let stranger = try signet(["trust", "restore", repo, "--root", rootFile], home: "stranger", expect: 1)
        XCTAssertTrue(stranger.stderr.contains("no trusted root pinned"), stranger.stderr)
        XCTAssertEqual(try manifestBytes("_tuf"), imageManifest)
        // Starting over makes a new root: the pinned client refuses it until it replaces its pin on
        // purpose; then it verifies, with none of the old state's files (higher versions) left to refuse it.
        let junk = try signet(["push", try image("junk", message: "junk"), repo + ":junk", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try putManifest("_tuf", try manifestBytes(junk))
        XCTAssertEqual(try TestProcesses.run("/usr/bin/curl", ["-fsS", "-X", "DELETE", "http://\(registry.address)/v2/team/app/manifests/\(junk)"]).status, 0)
        let fresh = try XCTUnwrap(try json(try signet(["trust", "init", repo, "--start-over", "--json"]))["rootFile"] as? String)
        try signet(["sign", repo + ":v1@" + digest])
        try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        let repinned = try signet(["trust", "pin", repo, "--root", fresh, "--replace"], home: "client")
        XCTAssertTrue(repinned.stdout.contains("replacing the root pinned before"), repinned.stdout)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n")
        let pinDirectory = work + "/home-client/" + ((pinnedRoots(home: "client").first).map { String($0.dropLast("/root.json".count)) } ?? "")
        let archived = try FileManager.default.contentsOfDirectory(atPath: pinDirectory + "/roots")
        XCTAssertEqual(archived, ["1.root.json"], "only the new chain's roots are archived")
    }

    /// Pushing into a repository with trust data: no silent unsigned pushes, and verify and pull agree
    /// on a tag moved without a signature.
    func testPushFootgunsAndAMovedTag() throws {
        let (_, v1) = try setUpSignedRepository()
        let untagged = try signet(["push", try image("img2", message: "two"), repo], expect: 2)
        XCTAssertTrue(untagged.stderr.contains("has trust data") && untagged.stderr.contains("--unsigned"), untagged.stderr)
        try signet(["push", work + "/img2", repo, "--unsigned"])
        // An unsigned push over the signed v1: warned, then refused by verify and pull alike.
        let moved = try signet(["push", work + "/img2", repo + ":v1", "--unsigned"])
        XCTAssertTrue(moved.stderr.contains("warning") && moved.stderr.contains("pushed unsigned"), moved.stderr)
        let verified = try signet(["verify", repo + ":v1"], expect: 1)
        let pulled = try signet(["pull", repo + ":v1", "--output", work + "/out"], expect: 1)
        for r in [verified, pulled] { XCTAssertTrue(r.stderr.contains("moved without a signature"), r.stderr) }
        XCTAssertEqual(try signet(["pull", repo + ":v1", "--output", work + "/out", "--ignore-registry-tag"]).stdout, "\(repo):v1@\(v1)\n")
    }

    /// A push or sign from a key store with no key of the tag's role would only leave an unsigned change
    /// under `_tuf-staged`, holding back every other publisher: it is refused before anything is sent.
    func testAPushWithNoSignerKeySendsNothingAndHoldsNothingBack() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let keyless = try signet(["push", try image("img3", message: "three"), repo + ":v3", "--root", rootFile], home: "keyless", expect: 1)
        XCTAssertTrue(keyless.stderr.contains("holds no key that signs releases") && keyless.stderr.contains("nothing was sent"), keyless.stderr)
        XCTAssertThrowsError(try manifestBytes("v3"), "the image was not pushed")
        XCTAssertThrowsError(try manifestBytes("_tuf-staged"), "no change waits")
        try signet(["push", work + "/img3", repo + ":v3", "--unsigned"], home: "keyless")
        let sign = try signet(["sign", repo + ":v3"], home: "keyless", expect: 1)
        XCTAssertTrue(sign.stderr.contains("holds no key that signs releases"), sign.stderr)
        XCTAssertThrowsError(try manifestBytes("_tuf-staged"), "no change waits")
        let revoke = try signet(["revoke", repo + ":v1"], home: "keyless", expect: 1)
        XCTAssertTrue(revoke.stderr.contains("holds no key that signs releases") && revoke.stderr.contains("Revoke it where"), revoke.stderr)
        XCTAssertThrowsError(try manifestBytes("_tuf-staged"), "no change waits")
        // The owner's publishing goes on.
        try signet(["sign", repo + ":v3"])
        try signet(["verify", repo + ":v3", "--root", rootFile], home: "fresh")
    }

    /// A publish that loses the race to another publisher is made again on the new state (and says so);
    /// with no retries left, it fails with exit 5.
    /// Two co-signers adding their signatures to the same waiting change at once: the one who writes
    /// second finds the waiting change changed since it read it, and writes nothing (its signatures are
    /// not silently dropped, nor the other's overwritten); run again, it signs the new content.
    func testACoSignerDoesNotOverwriteAWaitingChangeThatChangedMeanwhile() throws {
        _ = try setUpSignedRepository()
        let alice = try json(try signet(["key", "generate", "--json"], home: "alice"))
        let aliceID = try XCTUnwrap(alice["keyID"] as? String)
        try Data(try signet(["key", "export", aliceID], home: "alice").stdout.utf8).write(to: URL(fileURLWithPath: work + "/alice.pem"))
        try signet(["signer", "add", repo, "alice", "--key", work + "/alice.pem"])
        try signet(["inspect", repo, "--root", work + "/home-owner/" + (pinnedRoots(home: "owner").first ?? "")], home: "alice")
        try signet(["signer", "threshold", repo, "2"], expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "alice", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"])
        try signet(["push", try image("img2", message: "two"), repo + ":v2"], expect: 1)   // waits: releases 1 of 2
        let waiting = try manifestBytes("_tuf-staged")
        let home = work + "/home-alice"
        let keyring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let publisher = TrustPublisher(trust: RegistryTrust(reference: try ImageReference(parsing: repo), client: try registryClient(), options: TrustOptions(home: home)),
                                       keyring: keyring) { entry, root in
            try keyring.unlock(entry, passphrase: SecretBytes(utf8: root ? "root pass" : "key pass"))
        }
        // While alice reviews, another co-signer writes the waiting change (here: the same files again).
        var meanwhile: [UInt8] = []
        XCTAssertThrowsError(try publisher.signStaged { _ in
            let files = try self.indexFiles(tag: "_tuf-staged")
            try self.putIndex(layers: Array(files.values), tag: "_tuf-staged")
            meanwhile = try self.manifestBytes("_tuf-staged")
            return true
        }) { error in
            guard case .conflict(let detail) = error as? TrustError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("waiting change"), detail)
        }
        XCTAssertNotEqual(meanwhile, waiting)
        XCTAssertEqual(try manifestBytes("_tuf-staged"), meanwhile, "alice wrote nothing over the other co-signer's change")
        // Run again, alice signs; the owner's snapshot and timestamp keys publish it.
        try signet(["trust", "sign-staged", repo, "--yes"], home: "alice", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"])
        try signet(["verify", repo + ":v2"])
    }

    func testALostPublishRaceIsRetriedOnTheNewState() throws {
        _ = try setUpSignedRepository()
        try signet(["push", try image("img2", message: "two"), repo + ":v2", "--unsigned"])
        try signet(["push", try image("img3", message: "three"), repo + ":v3", "--unsigned"])
        try copyKeys(from: "owner", to: "second")
        try signet(["verify", repo + ":v1"], home: "second", env: [:], expect: 1)   // not pinned there yet
        let rootFile = work + "/home-owner/" + (pinnedRoots(home: "owner").first ?? "")
        try signet(["inspect", repo, "--root", rootFile], home: "second")
        let home = work + "/home-owner"
        let keyring = try Keyring(home: home, kdf: .unsafeMinimumForTests)
        let client = try registryClient()
        let reference = try ImageReference(parsing: repo)
        let publisher = TrustPublisher(trust: RegistryTrust(reference: reference, client: client, options: TrustOptions(home: home)), keyring: keyring) { entry, root in
            try keyring.unlock(entry, passphrase: SecretBytes(utf8: root ? "root pass" : "key pass"))
        }
        var retries: [Int] = []
        publisher.onRetry = { attempt, _ in retries.append(attempt) }
        let v2 = try manifestBytes("v2")
        var raced = false
        let outcome = try publisher.update { editor in
            if !raced {
                raced = true
                // Meanwhile another machine signs v3.
                let other = try self.signet(["sign", self.repo + ":v3"], home: "second")
                XCTAssertEqual(other.status, 0)
            }
            try TrustPublisher.signChange(tag: "v2", digest: try SHA256.hash(v2), length: Int64(v2.count), mediaType: MediaType.ociManifest)(editor)
        }
        guard case .published = outcome else { return XCTFail("not published") }
        XCTAssertEqual(retries, [2])
        // Both signatures are there.
        try signet(["verify", repo + ":v2"])
        try signet(["verify", repo + ":v3"])
        // Without retries, the lost race is exit 5.
        publisher.retries = 0
        raced = false
        try signet(["push", try image("img4", message: "four"), repo + ":v4", "--unsigned"])
        let v4 = try manifestBytes("v4")
        XCTAssertThrowsError(try publisher.update { editor in
            if !raced {
                raced = true
                XCTAssertEqual(try self.signet(["revoke", self.repo + ":v3"], home: "second").status, 0)
            }
            try TrustPublisher.signChange(tag: "v4", digest: try SHA256.hash(v4), length: Int64(v4.count), mediaType: MediaType.ociManifest)(editor)
        }) { error in
            guard case TrustError.conflict = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? TrustError)?.exitCode, 5)
        }
    }

    /// Rotating `releases` on a machine holding several of its signer keys replaces them with one new
    /// key; when that would leave fewer signers than the threshold, it is refused before any key is made
    /// (the threshold is never lowered as a side effect).
    func testRotatingSignerKeysNeverLowersTheThreshold() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let second = try json(try signet(["key", "generate", "--json"]))
        try signet(["signer", "add", repo, "second", "--key", try XCTUnwrap(second["keyID"] as? String)])
        try signet(["signer", "threshold", repo, "2"])
        let keysBefore = try signet(["key", "list"]).stdout
        let refused = try signet(["key", "rotate", repo, "releases"], expect: 2)
        XCTAssertTrue(refused.stderr.contains("fewer than the threshold of 2") && refused.stderr.contains("nothing was changed"), refused.stderr)
        XCTAssertEqual(try signet(["key", "list"]).stdout, keysBefore, "no key was made")
        XCTAssertTrue(try signet(["signer", "list", repo]).stdout.contains("2 of 2"))
        // With a third signer elsewhere, rotating the two local keys into one keeps the threshold of 2:
        // the new releases needs the third signer's signature besides the new key's, so it waits.
        try signet(["signer", "add", repo, "third", "--key", try exportNewKey(home: "third")])
        let rotated = try signet(["key", "rotate", repo, "releases", "--json"], expect: 1)
        XCTAssertTrue(rotated.stderr.contains("releases has 1 of the 2 required signatures"), rotated.stderr)
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh")
        // The new key is named only by the waiting change: deleting it needs the change dropped first.
        let newKey = try XCTUnwrap(try json(rotated)["newKeyID"] as? String)
        let delete = try signet(["key", "delete", newKey], expect: 2)
        XCTAssertTrue(delete.stderr.contains("named by a change this machine staged") && delete.stderr.contains("discard-staged"), delete.stderr)
        try signet(["trust", "discard-staged", repo])
        try signet(["key", "delete", newKey])
        // Dropped by another signer instead: the record here is stale; following the error's advice
        // (`discard-staged`, which finds nothing waiting) clears it.
        let again = try json(try signet(["key", "rotate", repo, "releases", "--json"], expect: 1))
        let secondKey = try XCTUnwrap(again["newKeyID"] as? String)
        try signet(["trust", "discard-staged", repo, "--root", rootFile], home: "third")
        try signet(["key", "delete", secondKey], expect: 2)
        let nothing = try signet(["trust", "discard-staged", repo], expect: 2)
        XCTAssertTrue(nothing.stderr.contains("no change is waiting"), nothing.stderr)
        try signet(["key", "delete", secondKey])
    }

    /// Keys: where pinned trust data names each one, retiring or deleting only keys no longer named,
    /// passphrases per role, and no orphan key after a failed rotation.
    func testKeysInUsePassphrasesPerRoleAndRotationLeftovers() throws {
        let tsPass = ["SIGNET_TIMESTAMP_PASSPHRASE": "timestamp pass"]
        let initResult = try json(try signet(["trust", "init", repo, "--json"], env: tsPass))
        let rootID = try XCTUnwrap((initResult["rootKeyIDs"] as? [String])?.first)
        let listed = try JSONSerialization.jsonObject(with: Data(try signet(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        let rootEntry = try XCTUnwrap(listed.first { $0["keyID"] as? String == rootID })
        XCTAssertEqual((rootEntry["usedBy"] as? [[String: Any]])?.first?["role"] as? String, "root")
        XCTAssertTrue(try signet(["key", "list"]).stdout.contains("[current: root of \(repo)"))
        // The timestamp key was sealed with its own passphrase: renewal needs it.
        let wrong = try signet(["timestamp", "renew", repo], expect: 4)
        XCTAssertTrue(wrong.stderr.contains("passphrase"), wrong.stderr)
        try signet(["timestamp", "renew", repo], env: tsPass)
        // A key named by trust data is neither retired nor deleted without --force.
        let refused = try signet(["key", "delete", rootID], expect: 2)
        XCTAssertTrue(refused.stderr.contains("still named") && refused.stderr.contains("root of \(repo)"), refused.stderr)
        try signet(["key", "retire", rootID], expect: 2)
        // A spare key: retired (kept aside, listed with --all), then another deleted.
        let spare = try XCTUnwrap(try json(try signet(["key", "generate", "--json"]))["keyID"] as? String)
        try signet(["key", "retire", spare])
        XCTAssertFalse(try signet(["key", "list"]).stdout.contains(spare))
        XCTAssertTrue(try signet(["key", "list", "--all"]).stdout.contains(spare + "  ed25519"))
        let other = try XCTUnwrap(try json(try signet(["key", "generate", "--json"]))["keyID"] as? String)
        try signet(["key", "delete", other])
        XCTAssertFalse(try signet(["key", "list", "--all"]).stdout.contains(other))
        // A rotation that fails (the root key cannot be unlocked) leaves no new key behind.
        let before = try signet(["key", "list"]).stdout.split(separator: "\n").count
        try signet(["key", "rotate", repo, "timestamp"], env: ["SIGNET_ROOT_PASSPHRASE": "wrong", "SIGNET_TIMESTAMP_PASSPHRASE": "timestamp pass"], expect: 4)
        XCTAssertEqual(try signet(["key", "list"]).stdout.split(separator: "\n").count, before)
        // SIGNET_PASSPHRASE_FILE is read when no --passphrase-file is given.
        try Data("file pass\n".utf8).write(to: URL(fileURLWithPath: work + "/pass"))
        try signet(["key", "generate"], home: "filed", env: ["SIGNET_PASSPHRASE_FILE": work + "/pass", "SIGNET_KEY_PASSPHRASE": ""])
    }
}
