import Foundation
import SignetCrypto
import SignetEditor
import SignetJSON
import SignetKeys
import SignetOCI
import SignetTUF
import SignetTestSupport
import SignetTrust
import XCTest

/// Attacks on the writing and pinning side, each performed the way an attacker with write access to the
/// registry and no signing key would (through the registry's API), followed by what the owner's ordinary
/// commands do and what a fresh client pinned to the real root accepts afterwards.
final class TrustAttackTests: TrustTestCase {
    /// Pushes an image unsigned under `tag` and returns its digest.
    func pushUnsigned(_ name: String, tag: String, home: String = "owner") throws -> String {
        let r = try signet(["push", try image(name, message: name), repo + ":" + tag, "--unsigned"], home: home)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A releases file (`bytes`) with `tag` added for the image `digest` of `length` bytes, signatures
    /// kept; with `version`, also at that version and without signatures.
    func releasesAdding(_ tag: String, digest: String, length: Int, to bytes: [UInt8], version: Int64? = nil) throws -> [UInt8] {
        var top = try XCTUnwrap(try JSONParser.parse(bytes).objectValue)
        var signed = try XCTUnwrap(top["signed"]?.objectValue)
        var targets = try XCTUnwrap(signed["targets"]?.objectValue)
        var hashes = JSONObject(); hashes["sha256"] = .string(String(digest.dropFirst(7)))
        var entry = JSONObject(); entry["hashes"] = .object(hashes); entry["length"] = .integer(Int64(length))
        var custom = JSONObject(); custom["mediaType"] = .string(MediaType.ociManifest); entry["custom"] = .object(custom)
        targets[tag] = .object(entry)
        signed["targets"] = .object(targets)
        if let version {
            signed["version"] = .integer(version)
            top["signatures"] = .array([])
        }
        top["signed"] = .object(signed)
        return try CanonicalJSON.encode(.object(top))
    }

    /// The base a staged change names for the current index `files` (anyone who can read it can write it).
    func currentBase(_ files: [String: Descriptor]) throws -> ChangeBase {
        var roles: [String: ChangeBase.File] = [:]
        for (title, d) in files where title.hasSuffix(".targets.json") || title.hasSuffix(".releases.json") {
            let parts = title.split(separator: ".")
            roles[String(parts[1])] = ChangeBase.File(version: Int64(parts[0]) ?? 0, sha256: d.digest.hex)
        }
        let root1 = try blob(try XCTUnwrap(files["1.root.json"]))
        return ChangeBase(root: ChangeBase.File(version: 1, sha256: try SHA256.hash(root1).hex), roles: roles)
    }

    // MARK: 1. Injected target

    /// The attacker swaps the newest releases metadata blob in the index for a copy that signs its own
    /// image (signatures left as they were). The owner's next push must not re-sign it, and no pinned
    /// client may accept the injected tag.
    func testInjectedTargetIsNeverResignedByThePublisher() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let evilDigest = try pushUnsigned("evil", tag: "evil")
        let evilManifest = try manifestBytes(evilDigest)
        var files = try indexFiles()
        let releasesTitle = try XCTUnwrap(files.keys.filter { $0.hasSuffix(".releases.json") }.max())
        let original = try blob(try XCTUnwrap(files[releasesTitle]))
        // Add "evil" to the signed targets, keeping the signatures.
        let forged = try releasesAdding("evil", digest: evilDigest, length: evilManifest.count, to: original)
        files[releasesTitle] = try upload(forged, title: releasesTitle)
        try putIndex(layers: Array(files.values))

        // A client pinned to the real root refuses the injected tag.
        let fresh = try signet(["verify", repo + ":evil", "--root", rootFile], home: "fresh", expect: 1)
        XCTAssertTrue(fresh.stderr.contains("releases.json"), fresh.stderr)
        // Another machine of the owner (keys, but no history for this repository) refuses to build on it
        // and names the file; nothing is published.
        try copyKeys(from: "owner", to: "owner2")
        let refused = try signet(["timestamp", "renew", repo, "--root", rootFile], home: "owner2", expect: 1)
        XCTAssertTrue(refused.stderr.contains("releases.json"), refused.stderr)
        XCTAssertEqual(try indexFiles()[releasesTitle]?.digest, files[releasesTitle]?.digest, "the forged index is still the current one")
        // The owner's own machine builds only on what it verified: its next push publishes a state in
        // which "evil" is not signed.
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        try signet(["verify", repo + ":v2", "--root", rootFile], home: "fresh2")
        let after = try signet(["verify", repo + ":evil", "--root", rootFile], home: "fresh2", expect: 1)
        XCTAssertTrue(after.stderr.contains("tag \"evil\" of \(repo) is not signed"), after.stderr)
        let inspect = try json(try signet(["inspect", repo, "--json"], home: "fresh2"))
        XCTAssertEqual(Set(((inspect["tags"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2"])
    }

    // MARK: 2. Forged offline layout

    /// A layout pulled from the attacker's own repository, its `pull.json` edited to name the victim,
    /// must not verify on a machine that pins the victim's root.
    func testForgedOfflineLayoutIsRefused() throws {
        let (rootFile, _) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "deploy")
        // The attacker's repository, its own trust data and a signed "v1".
        let evilRepo = "\(registry.address)/evil/app"
        try signet(["trust", "init", evilRepo], home: "attacker")
        try signet(["push", try image("evil", message: "evil"), evilRepo + ":v1"], home: "attacker")
        try signet(["pull", evilRepo + ":v1", "--output", work + "/forged"], home: "attacker")
        let pullInfo = work + "/forged/signet-trust/pull.json"
        let text = try String(contentsOfFile: pullInfo, encoding: .utf8).replacingOccurrences(of: "evil/app", with: "team/app")
        try Data(text.utf8).write(to: URL(fileURLWithPath: pullInfo))
        // The deploy machine: by the layout's claim, by the victim's name, and with the victim's root file.
        for args in [["verify", "--layout", work + "/forged"],
                     ["verify", "--layout", work + "/forged", repo + ":v1"],
                     ["verify", "--layout", work + "/forged", repo + ":v1", "--root", rootFile]] {
            let r = try signet(args, home: "deploy", expect: 1)
            XCTAssertTrue(r.stderr.contains("threshold") || r.stderr.contains("belongs to"), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty, r.stdout)
        }
        // A machine with nothing pinned, given the victim's root, refuses it too.
        let other = try signet(["verify", "--layout", work + "/forged", "--root", rootFile], home: "other", expect: 1)
        XCTAssertTrue(other.stdout.isEmpty, other.stdout)
        XCTAssertEqual(pinnedRoots(home: "other"), [], "offline checks never pin")
    }

    // MARK: 3. Sign by digest

    /// `sign REF:TAG@D` signs D, whatever the registry's tag names; replacing a signed digest needs --replace.
    func testSignByDigestSignsThatDigest() throws {
        let (rootFile, d1) = try setUpSignedRepository()
        let d2 = try pushUnsigned("img2", tag: "v2")
        let d3 = try pushUnsigned("img3", tag: "v3")
        // The attacker points tag v2 at image 3 just before the owner signs v2 by digest.
        try putManifest("v2", try manifestBytes(d3))
        let signed = try signet(["sign", "\(repo):v2@\(d2)"])
        let v2 = try signet(["verify", repo + ":v2", "--root", rootFile, "--ignore-registry-tag"], home: "fresh")
        XCTAssertEqual(v2.stdout, "\(repo)@\(d2)\n")
        // The registry's tag is put back on the signed manifest, so clients that check it agree.
        XCTAssertTrue(signed.stderr.contains("the registry's tag v2 now names \(d2)"), signed.stderr)
        XCTAssertEqual(try signet(["verify", repo + ":v2"], home: "fresh").stdout, "\(repo)@\(d2)\n")
        // A digest the registry does not hold is refused (nothing to sign: a usage error).
        let absent = "sha256:" + String(repeating: "0", count: 64)
        let missing = try signet(["sign", "\(repo):v4@\(absent)"], expect: 2)
        XCTAssertTrue(missing.stderr.contains(absent), missing.stderr)
        // The attacker moves v1; the owner's `sign v1` would replace the signed digest: refused without --replace.
        try putManifest("v1", try manifestBytes(d3))
        let replace = try signet(["sign", repo + ":v1"], expect: 1)
        XCTAssertTrue(replace.stderr.contains("signed for \(d1)") && replace.stderr.contains("--replace"), replace.stderr)
        XCTAssertEqual(try signet(["verify", repo + ":v1", "--ignore-registry-tag"], home: "fresh").stdout, "\(repo)@\(d1)\n")
        // Signing the digest already signed is a no-op.
        let same = try signet(["sign", "\(repo):v1@\(d1)"])
        XCTAssertTrue(same.stdout.contains("already signed"), same.stdout)
        // With --replace the owner moves it deliberately.
        try signet(["sign", "\(repo):v1@\(d3)", "--replace"])
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "fresh").stdout, "\(repo)@\(d3)\n")
    }

    // MARK: 4. Pin downgrade

    /// A deploy script passes the original root file on every pull. After the owner rotated every key
    /// (the old ones are compromised), an attacker holding the old keys forks the chain from version 1;
    /// the deploy machine must stay on the rotated root and refuse the fork.
    func testPinNeverMovesBackToTheOriginalRoot() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        let root1 = work + "/root-v1.json"
        try FileManager.default.copyItem(atPath: rootFile, toPath: root1)
        try signet(["pull", repo + ":v1", "--root", root1, "--output", work + "/deploy-layout"], home: "deploy")
        // The attacker steals the owner's keys as they are now.
        try copyKeys(from: "owner", to: "attacker")
        for role in ["root", "timestamp", "snapshot", "targets", "releases"] { try signet(["key", "rotate", repo, role]) }
        // The deploy machine follows the rotations; passing the original root again does not move it back.
        try signet(["pull", repo + ":v1", "--root", root1, "--output", work + "/deploy-layout"], home: "deploy")
        let pinDir = try XCTUnwrap(pinnedRoots(home: "deploy").first)
        let pinned = try Metadata<Root>(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/home-deploy/" + pinDir))), file: "root.json")
        XCTAssertEqual(pinned.signed.header.version, 5)

        // The fork: the real 1.root.json, then a version 2 signed by the stolen root key with the stolen
        // keys for every role, and a signed "evil" tag.
        let evilDigest = try pushUnsigned("evil", tag: "evil")
        let evilManifest = try manifestBytes(evilDigest)
        let ring = try Keyring(home: work + "/home-attacker", kdf: .unsafeMinimumForTests)
        var stolen: [String: PrivateKey] = [:]
        for e in try ring.list() {
            guard let role = e.label("role") else { continue }
            stolen[role] = try ring.unlock(e, passphrase: SecretBytes(utf8: role == "root" ? "root pass" : "key pass"))
        }
        let keys = try XCTUnwrap(["root", "targets", "snapshot", "timestamp"].reduce(into: [String: (keys: [PublicKey], threshold: Int)]()) { spec, role in
            spec[role] = ([try XCTUnwrap(stolen[role]).publicKey], 1)
        })
        let fork = try RepositoryEditor(creating: keys, identity: repo)
        try fork.delegate(from: "targets", name: "releases", keys: [try XCTUnwrap(stolen["releases"]).publicKey], threshold: 1, paths: ["*"])
        try fork.addTarget(path: "evil", content: nil, length: Int64(evilManifest.count), hashes: [("sha256", String(evilDigest.dropFirst(7)))],
                           custom: .object(try JSONObject([("mediaType", .string(MediaType.ociManifest))])), role: "releases")
        _ = try fork.publish(signers: Array(stolen.values))
        try fork.renew(role: "root")
        _ = try fork.publish(signers: Array(stolen.values))
        let realRoot1 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root1)))
        let forkFiles = fork.currentFiles().map { $0.name == "1.root.json" ? ($0.name, realRoot1) : ($0.name, $0.bytes) }
        XCTAssertTrue(forkFiles.contains { $0.0 == "2.root.json" })
        try putFiles(forkFiles)
        // A client that trusted the original root (version 1) only would follow the fork...
        let naive = try signet(["verify", repo + ":evil", "--root", root1, "--ignore-registry-tag"], home: "naive")
        XCTAssertEqual(naive.stdout, "\(repo)@\(evilDigest)\n", "the fork is valid from version 1: this is what a downgraded pin would accept")
        // ...the deploy machine, passing the original root file as always, does not.
        let deploy = try signet(["pull", repo + ":evil", "--root", root1, "--output", work + "/deploy-evil"], home: "deploy", expect: 1)
        XCTAssertTrue(deploy.stderr.contains("threshold") || deploy.stderr.contains("rollback"), deploy.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/deploy-evil/index.json"))
        XCTAssertEqual((try? Metadata<Root>(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/home-deploy/" + pinDir))), file: "root.json"))?.signed.header.version, 5)
        _ = digest
    }

    // MARK: Blind co-signing, discarding, replayed staged changes

    /// A staged root written by someone with no key (listing their key as a root key) is shown to the
    /// signer, who does not sign without confirming; a change made on an older state is refused even
    /// with --yes; discarding needs a key.
    func testStagedChangesAreShownCheckedAndGuarded() throws {
        let (rootFile, _) = try setUpSignedRepository()
        // The attacker's staged root: version 2 with its own key added as a root key, unsigned.
        let files = try indexFiles()
        let root1 = try blob(try XCTUnwrap(files["1.root.json"]))
        var root = try Metadata<Root>(bytes: root1, file: "1.root.json")
        let attackerKey = try PrivateKey.generate(.ed25519)
        let tufKey = try Key(publicKey: attackerKey.publicKey)
        let attackerID = try tufKey.keyID()
        root.signed.header.version = 2
        root.signed.keys.append((attackerID, tufKey))
        root.signed.roles["root"]?.keyIDs.append(attackerID)
        root.signatures = []
        try root.sign(with: attackerKey, keyID: attackerID)
        // Its description claims the current state as base (the attacker can read it).
        let staged = StagedChange(base: try currentBase(files), files: [("2.root.json", try root.encoded())])
        try putFiles(staged.storedFiles, tag: "_tuf-staged")

        // The owner is shown the new root key and, without confirming, signs nothing.
        let shown = try signet(["trust", "staged", repo, "--json"])
        let review = try json(shown)
        XCTAssertEqual(review["changesRoot"] as? Bool, true)
        let keyChanges = ((review["files"] as? [[String: Any]])?.first?["keys"] as? [[String: Any]]) ?? []
        XCTAssertEqual(keyChanges.first?["role"] as? String, "root")
        XCTAssertEqual(keyChanges.first?["added"] as? [String], [attackerID])
        let stagedBefore = try manifestBytes("_tuf-staged")
        let unconfirmed = try signet(["trust", "sign-staged", repo], expect: 1)
        XCTAssertTrue(unconfirmed.stderr.contains("+ key \(attackerID.prefix(16)) for root"), unconfirmed.stderr)
        XCTAssertTrue(unconfirmed.stderr.contains("not confirmed"), unconfirmed.stderr)
        XCTAssertEqual(try manifestBytes("_tuf-staged"), stagedBefore, "nothing was signed")
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh")

        // Discarding needs a key of the repository.
        let keyless = try signet(["trust", "discard-staged", repo, "--root", rootFile], home: "keyless", expect: 1)
        XCTAssertTrue(keyless.stderr.contains("needs a root, targets or signer key"), keyless.stderr)
        XCTAssertEqual(try manifestBytes("_tuf-staged"), stagedBefore)
        try signet(["trust", "discard-staged", repo])

        // A real staged change, kept by the attacker, replayed after the role it changes moved on: refused.
        try signet(["signer", "add", repo, "dave", "--key", try exportNewKey(home: "dave")])
        try signet(["signer", "threshold", repo, "2"], expect: 1)
        let real = try manifestBytes("_tuf-staged")
        try signet(["trust", "discard-staged", repo])
        try signet(["sign", repo + ":v1"])   // already signed: no change
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        try signet(["signer", "add", repo, "erin", "--key", try exportNewKey(home: "erin")])   // targets moves on
        try putManifest("_tuf-staged", real)
        let replayed = try signet(["trust", "sign-staged", repo, "--yes"], expect: 1)
        XCTAssertTrue(replayed.stderr.contains("made on another state"), replayed.stderr)
        let list = try signet(["signer", "list", repo])
        XCTAssertTrue(list.stdout.contains("1 of 3"), list.stdout)
        // A name only the waiting change gives a key is shown as such, not as a trusted signer's name.
        try signet(["trust", "discard-staged", repo])
        try signet(["signer", "add", repo, "frank", "--key", try exportNewKey(home: "frank"), "--root", rootFile], home: "keyless", expect: 1)
        let shownNames = try signet(["trust", "staged", repo])
        XCTAssertTrue((shownNames.stdout + shownNames.stderr).contains("(frank, named by this change)"), shownNames.stdout + shownNames.stderr)
    }

    /// A staged change written by someone with no key brings its own delegator: a new role `aaa`
    /// (which sorts before `targets`) delegating `releases` and itself to the attacker's key, and a
    /// `releases` signed with that key listing the attacker's image. Only `targets` (and the roles it
    /// reaches) say which keys sign `releases`, so the change is refused: the owner's scheduled renewal
    /// renews the timestamp, publishes nothing of the change and says so, and clients keep verifying.
    func testAStagedChangeCannotBringItsOwnDelegator() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        let evilDigest = try pushUnsigned("evil", tag: "evil")
        let evilManifest = try manifestBytes(evilDigest)
        let files = try indexFiles()
        let releasesTitle = try XCTUnwrap(files.keys.filter { $0.hasSuffix(".releases.json") }.max())
        let releasesVersion = try XCTUnwrap(Int64(releasesTitle.split(separator: ".")[0]))
        let attackerKey = try PrivateKey.generate(.ed25519)
        let tufKey = try Key(publicKey: attackerKey.publicKey)
        let attackerID = try tufKey.keyID()
        let expires = Int64(Date().timeIntervalSince1970) + 30 * 86400
        // The attacker's delegator.
        var aaa = Metadata<Targets>(signed: Targets(header: Header(version: 1, expiresAt: expires)))
        aaa.signed.delegations = Delegations(keys: [(attackerID, tufKey)], roles: [
            DelegatedRole(name: "releases", keyIDs: [attackerID], threshold: 1, paths: ["*"]),
            DelegatedRole(name: "aaa", keyIDs: [attackerID], threshold: 1, paths: ["*"]),
        ])
        try aaa.sign(with: attackerKey, keyID: attackerID)
        // The next releases, listing "evil", signed by the attacker.
        let next = try releasesAdding("evil", digest: evilDigest, length: evilManifest.count, to: try blob(try XCTUnwrap(files[releasesTitle])),
                                      version: releasesVersion + 1)
        var releases = try Metadata<Targets>(bytes: next, file: "releases.json", lazy: false)
        try releases.sign(with: attackerKey, keyID: attackerID)
        // Its description claims the current state as base (the attacker can read it).
        let staged = StagedChange(base: try currentBase(files), files: [("1.aaa.json", try aaa.encoded()), ("\(releasesVersion + 1).releases.json", try releases.encoded())])
        try putFiles(staged.storedFiles, tag: "_tuf-staged")

        // The owner's scheduled renewal (and any review of the change) refuses it.
        let indexBefore = try indexFiles()
        let renewal = try signet(["timestamp", "renew", repo])
        XCTAssertTrue(renewal.stderr.contains("is ignored") && renewal.stderr.contains("\"aaa\""), renewal.stderr)
        XCTAssertEqual(try indexFiles()[releasesTitle]?.digest, indexBefore[releasesTitle]?.digest)
        XCTAssertNil(try indexFiles().keys.first { $0.hasSuffix(".aaa.json") }, "the attacker's role is not published")
        let review = try signet(["trust", "sign-staged", repo, "--yes"], expect: 1)
        XCTAssertTrue(review.stderr.contains("aaa"), review.stderr)
        // Clients keep verifying the real tag and refuse the attacker's; the owner keeps publishing.
        XCTAssertEqual(try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh").stdout, "\(repo)@\(digest)\n")
        try signet(["verify", repo + ":evil", "--root", rootFile], home: "fresh", expect: 1)
        // Junk that names releases does not hold back the owner's next releases change either.
        let push = try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        XCTAssertTrue(push.stderr.contains("is ignored"), push.stderr)
        try signet(["verify", repo + ":v2", "--root", rootFile], home: "fresh")
        try signet(["trust", "discard-staged", repo])
        try signet(["push", try image("img3", message: "three"), repo + ":v3"])
        try signet(["verify", repo + ":v3", "--root", rootFile], home: "fresh")

        // A well-formed change no key signed (the current releases, next version, no signatures; a change
        // staged on a machine without the keys it needs looks the same): it waits, and nothing completes
        // it without the signatures it lacks.
        let now = try indexFiles()
        let currentTitle = try XCTUnwrap(now.keys.filter { $0.hasSuffix(".releases.json") }.max())
        let currentVersion = try XCTUnwrap(Int64(currentTitle.split(separator: ".")[0]))
        let bumped = try releasesAdding("v1", digest: digest, length: try manifestBytes(digest).count, to: try blob(try XCTUnwrap(now[currentTitle])),
                                        version: currentVersion + 1)
        let unsigned = StagedChange(base: try currentBase(now), files: [("\(currentVersion + 1).releases.json", bumped)])
        try putFiles(unsigned.storedFiles, tag: "_tuf-staged")
        try signet(["timestamp", "renew", repo])
        XCTAssertEqual(try indexFiles()[currentTitle]?.digest, now[currentTitle]?.digest, "renewal did not publish it")
        XCTAssertNil(try indexFiles()["\(currentVersion + 1).releases.json"])
        let waiting = try signet(["push", try image("img4", message: "four"), repo + ":v4"], expect: 1)
        XCTAssertTrue(waiting.stderr.contains("waiting for signatures"), waiting.stderr)
        try signet(["trust", "discard-staged", repo])
        try signet(["push", try image("img4", message: "four"), repo + ":v4"])
        // Something that is not a change at all under the staged tag: ignored too, by publishing and renewal.
        try putManifest("_tuf-staged", try manifestBytes("v1"))
        let afterJunk = try signet(["push", try image("img5", message: "five"), repo + ":v5"])
        XCTAssertTrue(afterJunk.stderr.contains("is ignored"), afterJunk.stderr)
        try signet(["timestamp", "renew", repo])
        try signet(["verify", repo + ":v5", "--root", rootFile], home: "fresh")
        // A change that must wait for a co-signer takes the staged tag from such junk.
        try putManifest("_tuf-staged", try manifestBytes("v1"))
        try signet(["signer", "add", repo, "dave", "--key", try exportNewKey(home: "dave")])
        let threshold = try signet(["signer", "threshold", repo, "2"], expect: 1)
        XCTAssertFalse(threshold.stderr.contains("one change waits at a time"), threshold.stderr)
        XCTAssertTrue(try indexFiles(tag: "_tuf-staged").keys.contains { $0.hasSuffix(".releases.json") || $0.hasSuffix(".targets.json") })
    }

    /// A staged change that keeps the `releases` signer's key ID but binds it to the attacker's key,
    /// with a `releases` listing the attacker's image signed by that key under the signer's ID. Reviews
    /// tell keys apart by ID, so the owner would be shown no key change and "signed by" the real signer:
    /// the change is refused, and so is a new key under an ID that is not its own hash.
    func testAStagedChangeCannotRebindAKeyIDToAnotherKey() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let evilDigest = try pushUnsigned("evil", tag: "evil")
        let evilManifest = try manifestBytes(evilDigest)
        let files = try indexFiles()
        let targetsTitle = try XCTUnwrap(files.keys.filter { $0.hasSuffix(".targets.json") }.max())
        let releasesTitle = try XCTUnwrap(files.keys.filter { $0.hasSuffix(".releases.json") }.max())
        let releasesVersion = try XCTUnwrap(Int64(releasesTitle.split(separator: ".")[0]))
        let current = try Metadata<Targets>(bytes: try blob(try XCTUnwrap(files[targetsTitle])), file: targetsTitle, lazy: false)
        let signerID = try XCTUnwrap(current.signed.delegations?.roles?.first { $0.name == "releases" }?.keyIDs.first)
        let attackerKey = try PrivateKey.generate(.ed25519)
        let tufKey = try Key(publicKey: attackerKey.publicKey)

        func stage(keyID: String, replacing: Bool) throws {
            var targets = current
            targets.signed.header.version += 1
            if replacing {
                let keys = (targets.signed.delegations?.keys ?? []).map { $0.0 == keyID ? (keyID, tufKey) : $0 }
                targets.signed.delegations?.keys = keys
            } else {
                targets.signed.delegations?.keys.append((keyID, tufKey))
                let index = targets.signed.delegations?.roles?.firstIndex { $0.name == "releases" }
                if let index { targets.signed.delegations?.roles?[index].keyIDs = [keyID] }
            }
            targets.signatures = []
            let next = try releasesAdding("evil", digest: evilDigest, length: evilManifest.count, to: try blob(try XCTUnwrap(files[releasesTitle])),
                                          version: releasesVersion + 1)
            var releases = try Metadata<Targets>(bytes: next, file: "releases.json", lazy: false)
            try releases.sign(with: attackerKey, keyID: keyID)
            let targetsVersion = targets.signed.header.version
            let staged = StagedChange(base: try currentBase(files), files: [("\(targetsVersion).targets.json", try targets.encoded()),
                                                                           ("\(releasesVersion + 1).releases.json", try releases.encoded())])
            try putFiles(staged.storedFiles, tag: "_tuf-staged")
        }

        try stage(keyID: signerID, replacing: true)
        let rebound = try signet(["trust", "sign-staged", repo, "--yes"], expect: 1)
        XCTAssertTrue(rebound.stderr.contains("key ID \(signerID.prefix(16)) names other key material"), rebound.stderr)
        let renewal = try signet(["timestamp", "renew", repo])
        XCTAssertTrue(renewal.stderr.contains("is ignored"), renewal.stderr)
        XCTAssertEqual(try indexFiles()[targetsTitle]?.digest, files[targetsTitle]?.digest, "the change was not published")
        try signet(["verify", repo + ":evil", "--root", rootFile], home: "fresh", expect: 1)

        // A new key whose ID imitates the signer's (same first 16 characters), in place of the signer.
        let lookalike = String(signerID.prefix(16)) + String(repeating: "0", count: signerID.count - 16)
        try stage(keyID: lookalike, replacing: false)
        let imitated = try signet(["trust", "sign-staged", repo, "--yes"], expect: 1)
        XCTAssertTrue(imitated.stderr.contains("is not the SHA-256 of that key"), imitated.stderr)
        try signet(["verify", repo + ":evil", "--root", rootFile], home: "fresh", expect: 1)
        try signet(["trust", "discard-staged", repo])
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        try signet(["verify", repo + ":v2", "--root", rootFile], home: "fresh")
    }

    /// A key rotation whose read-back fails after the registry stored the new state (here versioned
    /// storage, with junk planted two versions ahead for the read-back to find) keeps the new key: the
    /// published state names it. Once the junk is gone, the owner renews with it and clients follow.
    func testANewKeyIsKeptWhenTheStateNamingItMayHaveBeenPublished() throws {
        let rootFile = try XCTUnwrap(try json(try signet(["trust", "init", repo, "--immutable-tags", "--json"]))["rootFile"] as? String)
        let v1 = try signet(["push", try image("img1", message: "one"), repo + ":v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNoThrow(try manifestBytes("_tuf.2"))
        func keyIDs() throws -> Set<String> {
            let listed = try JSONSerialization.jsonObject(with: Data(try signet(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
            return Set(listed.compactMap { $0["keyID"] as? String })
        }
        let before = try keyIDs()
        // Junk at _tuf.5: the rotation publishes _tuf.3, and its read-back (probing 4, then 5) finds it.
        try putManifest("_tuf.5", try manifestBytes(try pushUnsigned("junk", tag: "junk")))
        let rotation = try signet(["key", "rotate", repo, "timestamp"], expect: 1)
        XCTAssertNoThrow(try manifestBytes("_tuf.3"), "the rotated state was published")
        let added = try keyIDs().subtracting(before)
        XCTAssertEqual(added.count, 1, "the new timestamp key stays in the key store: \(rotation.stderr)")
        let addedID = try XCTUnwrap(added.first)
        XCTAssertTrue(rotation.stderr.contains("stays in the key store") && rotation.stderr.contains(String(addedID.prefix(12))), rotation.stderr)
        // The junk goes; the state at _tuf.3 names the new key, and the owner can still renew.
        let junk = try registryClient().fetchManifest(repository: "team/app", reference: "_tuf.5", what: "junk")
        let deleted = try TestProcesses.run("/usr/bin/curl", ["-sf", "-X", "DELETE", "http://\(registry.address)/v2/team/app/manifests/\(try SHA256.hash(junk.bytes).ociString)"])
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        try signet(["timestamp", "renew", repo], home: "owner")
        XCTAssertEqual(try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh").stdout, "\(repo)@\(v1)\n")
        // A copy of the current state shown one version ahead (_tuf.5) verifies and is remembered by the
        // machines that look; once it is gone they search again instead of failing from then on.
        try putIndex(layers: Array(try indexFiles(tag: "_tuf.4").values), tag: "_tuf.5")
        try signet(["verify", repo + ":v1"], home: "fresh")
        try signet(["verify", repo + ":v1"], home: "owner")
        let copy = try SHA256.hash(try manifestBytes("_tuf.5"))
        XCTAssertEqual(try TestProcesses.run("/usr/bin/curl", ["-sf", "-X", "DELETE", "http://\(registry.address)/v2/team/app/manifests/\(copy.ociString)"]).status, 0)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "fresh").stdout, "\(repo)@\(v1)\n")
        let v2 = try signet(["push", try image("img2", message: "two"), repo + ":v2"], home: "owner").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try signet(["verify", repo + ":v2"], home: "fresh").stdout, "\(repo)@\(v2)\n")
    }

    // MARK: Renewal from an old expired state

    /// The attacker replays an old, validly signed index after everything expired. A publisher with no
    /// history for the repository refuses to renew it; the owner's machine sees the rollback; nothing is
    /// re-signed, so a pinned client still refuses.
    func testRenewalFromAnOldExpiredStateIsRefused() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let old = try manifestBytes("_tuf")
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        try signet(["revoke", repo + ":v1"])
        try putManifest("_tuf", old)
        let later = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 8 * 86400)]
        try copyKeys(from: "owner", to: "owner2")
        let fresh = try signet(["timestamp", "renew", repo, "--root", rootFile], home: "owner2", env: later, expect: 1)
        XCTAssertTrue(fresh.stderr.contains("never verified it before") && fresh.stderr.contains("replayed"), fresh.stderr)
        let owner = try signet(["timestamp", "renew", repo], env: later, expect: 1)
        XCTAssertTrue(owner.stderr.contains("rollback refused"), owner.stderr)
        XCTAssertEqual(try manifestBytes("_tuf"), old, "nothing was published")
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client", env: later, expect: 1)
    }

    // MARK: Repository binding

    /// Two repositories share a root key. Repository A's trust data copied into repository B is refused
    /// by a client of B, though every signature in it is valid.
    func testTrustDataOfAnotherRepositoryIsRefused() throws {
        let repoA = "\(registry.address)/team/a", repoB = "\(registry.address)/team/b"
        let a = try json(try signet(["trust", "init", repoA, "--json"]))
        let rootKey = try XCTUnwrap((a["rootKeyIDs"] as? [String])?.first)
        let b = try json(try signet(["trust", "init", repoB, "--root-key", rootKey, "--json"]))
        let rootB = try XCTUnwrap(b["rootFile"] as? String)
        let image1 = try image("img1", message: "one")
        try signet(["push", image1, repoA + ":v1"])
        try signet(["push", image1, repoB + ":v1"])
        try signet(["key", "rotate", repoA, "timestamp"])      // root version 2 of A, signed by the shared key
        try signet(["verify", repoB + ":v1", "--root", rootB], home: "client")
        // A's index, blobs and all, becomes B's.
        let client = try registryClient()
        let filesA = try indexFiles(repository: "team/a", client: client)
        var layers: [Descriptor] = []
        for (_, d) in filesA { layers.append(try upload(try blob(d, repository: "team/a", client: client), repository: "team/b", title: d.annotation(TrustIndex.titleAnnotation), client: client)) }
        try putIndex(repository: "team/b", layers: layers, client: client)
        for home in ["client", "fresh"] {
            let r = try signet(["verify", repoB + ":v1", "--root", rootB], home: home, expect: 1)
            XCTAssertTrue(r.stderr.contains("belongs to repository \(repoA)"), r.stderr)
        }
        // A's root file given for B is named as A's before anything is fetched or kept.
        let rootA = try XCTUnwrap(a["rootFile"] as? String)
        let mistaken = try signet(["inspect", repoB, "--root", rootA, "--json"], home: "third", expect: 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(mistaken.stderr.utf8)) as? [String: Any]
        let error = try XCTUnwrap(parsed?["error"] as? [String: Any], mistaken.stderr)
        XCTAssertEqual(error["code"] as? String, "wrong-repository")
        XCTAssertTrue((error["message"] as? String ?? "").contains("is the root of \(repoA), not of \(repoB)"), "\(error)")
        XCTAssertTrue(pinnedRoots(home: "third").isEmpty)
    }

    // MARK: Pins

    /// A root file that does not verify the trust data is never pinned; a root file that disagrees with
    /// the pin is an error naming both; explicit re-pinning says what it replaces.
    func testRootFilesNeverPinWrongRootsAndDisagreementIsAnError() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        let other = "\(registry.address)/team/other"
        let otherRoot = try XCTUnwrap(try json(try signet(["trust", "init", other, "--json"]))["rootFile"] as? String)
        let copy = work + "/other-root.json"
        try FileManager.default.copyItem(atPath: otherRoot, toPath: copy)
        // Wrong root on a fresh machine: refused, and nothing pinned.
        try signet(["verify", repo + ":v1", "--root", copy], home: "client", expect: 1)
        XCTAssertEqual(pinnedRoots(home: "client"), [])
        let unpinned = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("no trusted root pinned"), unpinned.stderr)
        // The right root pins; a disagreeing root is then an error naming both, and the pin stays.
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        let disagree = try signet(["verify", repo + ":v1", "--root", copy], home: "client", expect: 1)
        XCTAssertTrue(disagree.stderr.contains(copy) && disagree.stderr.contains("is the root of") && disagree.stderr.contains("not of \(repo)"), disagree.stderr)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n")
        // `trust pin --replace` with a root that does not verify the trust data changes nothing.
        try signet(["trust", "pin", repo, "--root", copy, "--replace"], home: "client", expect: 1)
        XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n")
        // Without --replace, the same root is accepted as already pinned.
        let same = try signet(["trust", "pin", repo, "--root", rootFile], home: "client")
        XCTAssertTrue(same.stdout.contains("already pinned"), same.stdout)
    }

    // MARK: Publisher disk and time

    /// Entries the verified snapshot does not name cost the publisher nothing: extra index entries
    /// pointing at large or missing blobs are never fetched. Unusable indexes are refused.
    func testExtraIndexEntriesAreIgnoredAndBadIndexesRefused() throws {
        let (rootFile, _) = try setUpSignedRepository()
        var layers = Array(try indexFiles().values)
        // A 1 MiB blob listed 16 times with a size that lies, and 2 000 tiny entries: a publisher that
        // fetched what the index lists would fail (or spend its time and disk); the verified snapshot
        // names none of them.
        var big = [UInt8](repeating: 0, count: 1 << 20)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let bigBlob = try upload(big)
        let tiny = try upload(TrustIndex.emptyBlob)
        for i in 0..<16 {
            var a = JSONObject(); a[TrustIndex.titleAnnotation] = .string("\(100 + i).releases.json")
            layers.append(Descriptor(mediaType: TrustIndex.metadataMediaType, digest: bigBlob.digest, size: 16, annotations: a))
        }
        for i in 0..<2000 {
            var a = JSONObject(); a[TrustIndex.titleAnnotation] = .string("extra-\(i).json")
            layers.append(Descriptor(mediaType: TrustIndex.metadataMediaType, digest: tiny.digest, size: tiny.size, annotations: a))
        }
        try putIndex(layers: layers)
        try copyKeys(from: "owner", to: "owner2")
        try signet(["timestamp", "renew", repo, "--root", rootFile], home: "owner2")
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh")
        // "." and ".." titles, and more files than a state can have, are refused.
        let good = Array(try indexFiles().values)
        let missing = tiny.digest
        for title in [".", ".."] {
            var a = JSONObject(); a[TrustIndex.titleAnnotation] = .string(title)
            try putIndex(layers: good + [Descriptor(mediaType: TrustIndex.metadataMediaType, digest: missing, size: 1, annotations: a)])
            let r = try signet(["verify", repo + ":v1"], home: "fresh", expect: 1)
            XCTAssertTrue(r.stderr.contains("no usable title"), r.stderr)
        }
        var many = good
        for i in 0..<(TrustIndex.maxFiles + 1 - good.count) {
            var a = JSONObject(); a[TrustIndex.titleAnnotation] = .string("x\(i)")
            many.append(Descriptor(mediaType: TrustIndex.metadataMediaType, digest: missing, size: 1, annotations: a))
        }
        try putIndex(layers: many)
        let tooMany = try signet(["verify", repo + ":v1"], home: "fresh", expect: 1)
        XCTAssertTrue(tooMany.stderr.contains("more than the \(TrustIndex.maxFiles)"), tooMany.stderr)
    }
}

extension TrustAttackTests {
    /// A publish sends only the blobs the verified index does not list. Someone who deletes a listed
    /// blob through the registry API cannot make the next publish reference a missing file: the
    /// registry refuses that index, and the publisher sends every blob again.
    func testADeletedMetadataBlobIsSentAgainByTheNextPublish() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let files = try indexFiles()
        let targets = try XCTUnwrap(files.first { $0.key.hasSuffix(".targets.json") }?.value)
        let deleted = try TestProcesses.run("/usr/bin/curl", ["-fsS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                                                               "http://\(registry.address)/v2/team/app/blobs/\(targets.digest.ociString)"])
        XCTAssertEqual(deleted.stdout, "202", deleted.stderr)
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "before", expect: 3)   // the file is gone
        // The owner's machine has targets.json stored: its publish would reference the deleted blob.
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        XCTAssertEqual(try indexFiles().first { $0.key.hasSuffix(".targets.json") }?.value.digest, targets.digest)
        for tag in ["v1", "v2"] {
            XCTAssertTrue(try signet(["verify", repo + ":" + tag, "--root", rootFile], home: "after").stdout.contains("@sha256:"), tag)
        }
    }
}
