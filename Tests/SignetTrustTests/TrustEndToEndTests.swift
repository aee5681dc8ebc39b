import Foundation
import SignetCrypto
import SignetOCI
import SignetTestSupport
import XCTest

/// Content trust end to end: the `signet` executable against a real docker-registry on 127.0.0.1.
final class TrustEndToEndTests: TrustTestCase {
    func testSignVerifyPullAndAnIndependentClient() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        let verified = try signet(["verify", repo + ":v1"])
        XCTAssertEqual(verified.stdout, "\(repo)@\(digest)\n")
        try signet(["verify", repo + ":v1", "--deep"])
        // Pull writes a verified layout with its trust metadata; it verifies offline later.
        try signet(["pull", repo + ":v1", "--output", work + "/pulled"])
        // Offline, on a machine that never contacted the registry: from the root it was given.
        let noPin = try signet(["verify", "--layout", work + "/pulled"], home: "offline", expect: 1)
        XCTAssertTrue(noPin.stderr.contains("no trusted root pinned"), noPin.stderr)
        let offline = try signet(["verify", "--layout", work + "/pulled", "--root", rootFile], home: "offline")
        XCTAssertEqual(offline.stdout, "\(repo)@\(digest)\n")
        // A relative layout path works too; and the machine that pulled uses its own pin.
        XCTAssertEqual(try signet(["verify", "--layout", "pulled"]).stdout, "\(repo)@\(digest)\n")
        // A blob changed in the layout afterwards is caught offline too.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: work + "/pulled/blobs/sha256")
        let victim = try XCTUnwrap(blobs.first { $0 != String(digest.dropFirst(7)) })
        try FileManager.default.copyItem(atPath: work + "/pulled", toPath: work + "/pulled-bad")
        try Data("changed".utf8).write(to: URL(fileURLWithPath: work + "/pulled-bad/blobs/sha256/" + victim))
        let tampered = try signet(["verify", "--layout", work + "/pulled-bad", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(tampered.stderr.contains("does not match") || tampered.stderr.contains("digest"), tampered.stderr)
        // A second client: nothing pinned → refused; pinned root file → verified; TOFU → verified and said.
        let unpinned = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("no trusted root pinned"), unpinned.stderr)
        let pinned = try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        XCTAssertEqual(pinned.stdout, "\(repo)@\(digest)\n")
        // Every spelling of the registry is the same registry, with the same pin; other spellings of
        // an IPv4 address are refused.
        let port = try XCTUnwrap(registry.address.split(separator: ":").last)
        let respelled = try signet(["verify", "127.0.0.1:00\(port)/team/app:v1"], home: "client")
        XCTAssertEqual(respelled.stdout, "\(repo)@\(digest)\n")
        let octal = try signet(["verify", "127.0.0.01:\(port)/team/app:v1"], home: "client", expect: 2)
        XCTAssertTrue(octal.stderr.contains("four decimal numbers"), octal.stderr)
        let tofu = try signet(["verify", repo + ":v1", "--trust-on-first-use"], home: "tofu")
        XCTAssertTrue(tofu.stderr.contains("trust on first use"), tofu.stderr)
        // An unsigned tag is refused.
        try signet(["push", try image("img2", message: "two"), repo + ":v2", "--unsigned"])
        let unsigned = try signet(["verify", repo + ":v2"], home: "client", expect: 1)
        XCTAssertTrue(unsigned.stderr.contains("tag \"v2\" of \(repo) is not signed"), unsigned.stderr)
        // `sign` signs a tag already in the registry; `inspect` lists both.
        try signet(["sign", repo + ":v2"])
        try signet(["verify", repo + ":v2"], home: "client")
        let inspect = try json(try signet(["inspect", repo, "--json"], home: "client"))
        XCTAssertEqual(Set(((inspect["tags"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2"])
        // revoke with a digest removes the signature only if the tag is still signed for that digest.
        let v2Digest = try signet(["verify", repo + ":v2"], home: "client").stdout.components(separatedBy: "@").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let wrongDigest = try signet(["revoke", "\(repo):v2@\(digest)"], expect: 1)
        XCTAssertTrue(wrongDigest.stderr.contains("is signed for \(v2Digest), not \(digest); nothing was revoked"), wrongDigest.stderr)
        try signet(["verify", repo + ":v2"], home: "client")
        try signet(["revoke", "\(repo):v2@\(v2Digest)"])
        try signet(["verify", repo + ":v2"], home: "client", expect: 1)
        XCTAssertTrue(try signet(["revoke", repo + ":v2", "--replace"], expect: 2).stderr.contains("option of `signet sign`"))
        let again = try signet(["revoke", repo + ":v2"], expect: 1)
        XCTAssertTrue(again.stderr.contains("is not signed; nothing was revoked") && !again.stderr.contains("signet sign"), again.stderr)
    }

    /// A digest reference is held to the repository's trust data, as `verify` holds it: `pull REPO:TAG@D`
    /// needs TAG signed for D, `pull REPO@D` needs some signed tag naming D; a repository with no trust
    /// data (and none pinned) is pulled by the digest alone, and says so.
    func testPullByDigestIsHeldToTheTrustDataWhereThereIsSome() throws {
        let (_, digest) = try setUpSignedRepository()
        let evil = try signet(["push", try image("evil", message: "evil"), repo + ":evil", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let tagged = try signet(["pull", "\(repo):v1@\(evil)", "--output", work + "/evil-tagged"], expect: 1)
        XCTAssertTrue(tagged.stderr.contains("signed digest of tag v1 is \(digest)"), tagged.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/evil-tagged/index.json"))
        let bare = try signet(["pull", "\(repo)@\(evil)", "--verify-only"], expect: 1)
        XCTAssertTrue(bare.stderr.contains("no signed tag names this digest"), bare.stderr)
        // The signed digest pulls either way, and REPO:TAG@D keeps the trust data for offline checks.
        try signet(["pull", "\(repo)@\(digest)", "--verify-only"])
        try signet(["pull", "\(repo):v1@\(digest)", "--output", work + "/good"])
        XCTAssertEqual(try signet(["verify", "--layout", work + "/good"]).stdout, "\(repo)@\(digest)\n")
        // Another repository's image is not pulled into that layout: its trust data would replace the
        // trust data the layout's images verify against.
        let second = registry.address + "/team/second"
        try signet(["trust", "init", second])
        try signet(["push", try image("second", message: "second"), second + ":v1"])
        let mixed = try signet(["pull", second + ":v1", "--output", work + "/good"], expect: 2)
        XCTAssertTrue(mixed.stderr.contains("holds the trust data of \(repo)"), mixed.stderr)
        XCTAssertEqual(try signet(["verify", "--layout", work + "/good"]).stdout, "\(repo)@\(digest)\n")
        try signet(["pull", second + ":v1", "--output", work + "/second"])
        // Asked to skip trust, it does, and says so.
        let unsafe = try signet(["pull", "\(repo)@\(evil)", "--verify-only", "--unsafe-no-trust"])
        XCTAssertTrue(unsafe.stderr.contains("without checking that it is signed"), unsafe.stderr)
        // A repository without trust data: the digest alone.
        let plain = registry.address + "/team/plain"
        let plainDigest = try signet(["push", try image("plain", message: "plain"), plain + ":v1", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let byDigest = try signet(["pull", "\(plain)@\(plainDigest)", "--verify-only"])
        XCTAssertTrue(byDigest.stderr.contains("pulled by its digest alone"), byDigest.stderr)
        // Someone who can push moves the registry's v1: a reference pinned by digest still pulls and
        // verifies (the registry's tag is not used), while the bare tag reports the move.
        try signet(["push", work + "/evil", repo + ":v1", "--unsigned"])
        try signet(["pull", "\(repo):v1@\(digest)", "--verify-only"])
        XCTAssertEqual(try signet(["verify", "\(repo):v1@\(digest)"]).stdout, "\(repo)@\(digest)\n")
        let moved = try signet(["verify", repo + ":v1"], expect: 1)
        XCTAssertTrue(moved.stderr.contains("moved without a signature"), moved.stderr)
    }

    /// A pull that stops while writing a layout's new trust data (here killed just before `pull.json` is
    /// renamed into place) leaves the trust data the layout had: its earlier image still verifies
    /// offline, and the next pull completes the layout.
    func testAPullStoppedWhileWritingTrustDataKeepsTheLayoutsTrustData() throws {
        let (_, digest) = try setUpSignedRepository()
        try signet(["pull", repo + ":v1", "--output", work + "/layout"])
        let v2 = try signet(["push", try image("img2", message: "two"), repo + ":v2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["pull", repo + ":v2", "--output", work + "/layout"], env: ["SIGNET_FAULT_INJECT": "before-rename:pull.json"], expect: 70)
        XCTAssertEqual(try signet(["verify", "--layout", work + "/layout", repo + ":v1"]).stdout, "\(repo)@\(digest)\n")
        try signet(["pull", repo + ":v2", "--output", work + "/layout"])
        XCTAssertEqual(try signet(["verify", "--layout", work + "/layout", repo + ":v2"]).stdout, "\(repo)@\(v2)\n")
        XCTAssertEqual(try signet(["verify", "--layout", work + "/layout", repo + ":v1"]).stdout, "\(repo)@\(digest)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/layout/.signet-trust.new"))
    }

    func testMultiPlatformIndex() throws {
        let rootFile = try XCTUnwrap(try json(try signet(["trust", "init", repo, "--json"]))["rootFile"] as? String)
        let pushed = try signet(["push", try image("multi", message: "multi", platforms: "linux/amd64,linux/arm64"), repo + ":multi"])
        let digest = pushed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try signet(["verify", repo + ":multi", "--deep", "--all-platforms"]).stdout, "\(repo)@\(digest)\n")
        try signet(["pull", repo + ":multi", "--output", work + "/one"])
        try signet(["pull", repo + ":multi", "--output", work + "/all", "--all-platforms"])
        let one = try FileManager.default.contentsOfDirectory(atPath: work + "/one/blobs/sha256").count
        let all = try FileManager.default.contentsOfDirectory(atPath: work + "/all/blobs/sha256").count
        XCTAssertEqual(one, 4)          // the signed index (kept for offline checks), manifest, config, layer of the host platform
        XCTAssertEqual(all, 7)          // index + 2 × (manifest, config, layer)
        XCTAssertEqual(try signet(["verify", "--layout", work + "/one", "--root", rootFile], home: "offline").stdout, "\(repo)@\(digest)\n")
        XCTAssertEqual(try signet(["verify", "--layout", work + "/all", repo + ":multi", "--root", rootFile], home: "offline").stdout, "\(repo)@\(digest)\n")
        // Claimed as another repository: its trust data names this one, so it is refused.
        let wrong = try signet(["verify", "--layout", work + "/all", "\(registry.address)/other/thing:multi", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(wrong.stderr.contains("belongs to repository \(repo)"), wrong.stderr)
    }

    /// A pulled layout is attacker-writable: what `index.json` says is never trusted. An entry pointing at
    /// other content, or calling the signed manifest a plain blob so that its layers go unchecked, is
    /// refused offline. Each edit verified before `index.json` was checked.
    func testALayoutWhoseIndexNamesOtherContentIsRefusedOffline() throws {
        let rootFile = try XCTUnwrap(try json(try signet(["trust", "init", repo, "--json"]))["rootFile"] as? String)
        try signet(["push", try image("multi", message: "multi", platforms: "linux/amd64,linux/arm64"), repo + ":multi"])
        try signet(["push", try image("single", message: "single"), repo + ":single"])
        try signet(["push", try image("evil", message: "evil"), repo + ":evil", "--unsigned"])
        try signet(["pull", repo + ":multi", "--output", work + "/one"])
        try signet(["pull", repo + ":single", "--output", work + "/single"])
        try signet(["pull", repo + ":evil", "--output", work + "/evil", "--unsafe-no-trust"])
        func indexEntries(_ layout: String) throws -> [[String: Any]] {
            let index = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any])
            return try XCTUnwrap(index["manifests"] as? [[String: Any]])
        }
        func writeEntries(_ entries: [[String: Any]], to layout: String) throws {
            let index: [String: Any] = ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries]
            try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))
        }
        func copyBlobs(from source: String, to layout: String) throws {
            for name in try FileManager.default.contentsOfDirectory(atPath: source + "/blobs/sha256") where !FileManager.default.fileExists(atPath: layout + "/blobs/sha256/" + name) {
                try FileManager.default.copyItem(atPath: source + "/blobs/sha256/" + name, toPath: layout + "/blobs/sha256/" + name)
            }
        }
        XCTAssertEqual(try signet(["verify", "--layout", work + "/one", "--root", rootFile], home: "offline").status, 0)
        // 1. One platform of a signed index: index.json's entry moved to the attacker's image, whose
        //    blobs are added to the layout (what skopeo or podman would then load).
        try FileManager.default.copyItem(atPath: work + "/one", toPath: work + "/moved")
        try copyBlobs(from: work + "/evil", to: work + "/moved")
        var evilEntry = try XCTUnwrap(try indexEntries(work + "/evil").first)
        evilEntry["annotations"] = ["org.opencontainers.image.ref.name": "multi"]
        try writeEntries([evilEntry], to: work + "/moved")
        let moved = try signet(["verify", "--layout", work + "/moved", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(moved.stderr.contains("index.json entry 1 (multi)") && moved.stderr.contains("not part of the signed image"), moved.stderr)
        // 2. The same, as an extra entry beside the real one.
        try FileManager.default.copyItem(atPath: work + "/one", toPath: work + "/extra")
        try copyBlobs(from: work + "/evil", to: work + "/extra")
        try writeEntries(try indexEntries(work + "/one") + [evilEntry], to: work + "/extra")
        let extra = try signet(["verify", "--layout", work + "/extra", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(extra.stderr.contains("index.json entry 2 (multi)"), extra.stderr)
        // 2b. The same entry named the way containerd's importer reads names, as a full reference, or not
        //     named at all (any loader may take it).
        var unnamedEvil = evilEntry
        for annotations: [String: String]? in [["io.containerd.image.name": repo + ":multi"], ["org.opencontainers.image.ref.name": repo + ":multi"], nil] {
            unnamedEvil["annotations"] = annotations
            try writeEntries(try indexEntries(work + "/one") + [unnamedEvil], to: work + "/extra")
            let other = try signet(["verify", "--layout", work + "/extra", "--root", rootFile], home: "offline", expect: 1)
            XCTAssertTrue(other.stderr.contains("index.json entry 2") && other.stderr.contains("not part of the signed image"), other.stderr)
        }
        // 3. The signed manifest called a plain blob in index.json, and its layer replaced.
        try FileManager.default.copyItem(atPath: work + "/single", toPath: work + "/retyped")
        var entry = try XCTUnwrap(try indexEntries(work + "/single").first)
        let signedDigest = try XCTUnwrap(entry["digest"] as? String)
        entry["mediaType"] = "application/octet-stream"
        try writeEntries([entry], to: work + "/retyped")
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/retyped/blobs/sha256/" + signedDigest.dropFirst(7)))) as? [String: Any])
        let layer = try XCTUnwrap(((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7))
        try Data("not the signed layer".utf8).write(to: URL(fileURLWithPath: work + "/retyped/blobs/sha256/" + layer))
        let retyped = try signet(["verify", "--layout", work + "/retyped", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(retyped.stderr.contains(String(layer.prefix(12))) || retyped.stderr.contains("does not match"), retyped.stderr)
        // With the layer intact, only the type is wrong: still refused, naming it.
        try? FileManager.default.removeItem(atPath: work + "/retyped/blobs/sha256/" + layer)
        try FileManager.default.copyItem(atPath: work + "/single/blobs/sha256/" + layer, toPath: work + "/retyped/blobs/sha256/" + layer)
        let typeOnly = try signet(["verify", "--layout", work + "/retyped", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(typeOnly.stderr.contains("application/octet-stream"), typeOnly.stderr)
        // 4. An index.json that names nothing.
        try FileManager.default.copyItem(atPath: work + "/single", toPath: work + "/empty")
        try writeEntries([], to: work + "/empty")
        let empty = try signet(["verify", "--layout", work + "/empty", "--root", rootFile], home: "offline", expect: 1)
        XCTAssertTrue(empty.stderr.contains("names no manifest of the signed image"), empty.stderr)
        // The untouched layouts still verify; so does one holding two pulled images, for each of them.
        XCTAssertEqual(try signet(["verify", "--layout", work + "/single", "--root", rootFile], home: "offline").status, 0)
        try signet(["pull", repo + ":single", "--output", work + "/one"])
        XCTAssertEqual(try indexEntries(work + "/one").count, 2)
        XCTAssertEqual(try signet(["verify", "--layout", work + "/one", "--root", rootFile], home: "offline").status, 0)
        XCTAssertEqual(try signet(["verify", "--layout", work + "/one", repo + ":multi", "--root", rootFile], home: "offline").status, 0)
    }

    /// A pulled layout is never accepted below what the verifying machine has seen: after unrelated
    /// changes it still verifies; once that machine has verified its tag re-signed for another image, or
    /// revoked, it is refused. A machine that has seen nothing newer still verifies it.
    func testALayoutPulledBeforeItsTagChangedIsRefusedWhereTheChangeWasSeen() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["pull", repo + ":v1", "--output", work + "/old", "--root", rootFile], home: "client")
        // Unrelated change, seen by the client: the layout still verifies there.
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        try signet(["verify", repo + ":v2"], home: "client")
        XCTAssertEqual(try signet(["verify", "--layout", work + "/old"], home: "client").stdout, "\(repo)@\(digest)\n")
        // v1 re-signed for another image, seen by the client: refused there, named.
        let other = try signet(["push", try image("other", message: "other"), repo + ":other", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["sign", repo + ":v1@" + other, "--replace"])
        try signet(["verify", repo + ":v2"], home: "client")
        let moved = try signet(["verify", "--layout", work + "/old"], home: "client", expect: 1)
        XCTAssertTrue(moved.stderr.contains("signs \(other)") && moved.stderr.contains("pull it again"), moved.stderr)
        // A machine that has seen nothing newer verifies it from the root (the layout is unexpired).
        XCTAssertEqual(try signet(["verify", "--layout", work + "/old", "--root", rootFile], home: "elsewhere").stdout, "\(repo)@\(digest)\n")
        // Revoked, seen by the client: refused there too.
        try signet(["revoke", repo + ":v1"])
        try signet(["verify", repo + ":v2"], home: "client")
        let revoked = try signet(["verify", "--layout", work + "/old"], home: "client", expect: 1)
        XCTAssertTrue(revoked.stderr.contains("no longer signs v1"), revoked.stderr)
        // Nothing was written to the client's trust data by the offline checks.
        XCTAssertEqual(try signet(["verify", repo + ":v2"], home: "client").status, 0)
        // After the timestamp key is rotated (root version 2), a layout pulled before is named as older
        // than what the machine trusts, not as a bare signature failure.
        try signet(["pull", repo + ":v2", "--output", work + "/before-rotation"], home: "client")
        try signet(["key", "rotate", repo, "timestamp"])
        try signet(["verify", repo + ":v2"], home: "client")
        let rotated = try signet(["verify", "--layout", work + "/before-rotation"], home: "client", expect: 1)
        XCTAssertTrue(rotated.stderr.contains("signed under root version 1") && rotated.stderr.contains("trusts root version 2")
                      && rotated.stderr.contains("Pull the image again"), rotated.stderr)
        try signet(["pull", repo + ":v2", "--output", work + "/after-rotation"], home: "client")
        try signet(["verify", "--layout", work + "/after-rotation"], home: "client")
    }

    /// Layout builders link blobs to their build outputs, so a link is followed; but a link to a file
    /// outside the layout is hashed before any byte of it is sent: a layout whose layer links to a
    /// private file of the same size is refused and the registry never receives that file.
    func testALayoutLinkingOutsideItselfSendsOnlyWhatItsDigestsName() throws {
        let layout = try image("linked", message: "linked")
        let index = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any])
        let manifestDigest = try XCTUnwrap(((index["manifests"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7))
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + manifestDigest))) as? [String: Any])
        let layer = try XCTUnwrap(((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7))
        let layerPath = layout + "/blobs/sha256/" + layer
        // Legitimate: the layer is a link to the same bytes kept elsewhere.
        let outside = work + "/build-output"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: layerPath, toPath: outside + "/layer")
        try FileManager.default.createSymbolicLink(atPath: layerPath, withDestinationPath: outside + "/layer")
        try signet(["push", layout, repo + ":linked", "--unsigned"])
        // Hostile: the link names a private file of exactly the layer's size.
        let size = try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: outside + "/layer")[.size] as? NSNumber)?.intValue)
        let secret = Array(repeating: UInt8(ascii: "S"), count: size)
        try Data(secret).write(to: URL(fileURLWithPath: work + "/private-key"))
        try FileManager.default.removeItem(atPath: layerPath)
        try FileManager.default.createSymbolicLink(atPath: layerPath, withDestinationPath: work + "/private-key")
        let other = try TestRegistry()
        let refused = try signet(["push", layout, "\(other.address)/team/app:linked", "--unsigned"], expect: 1)
        XCTAssertTrue(refused.stderr.contains("nothing of it was sent"), refused.stderr)
        let secretDigest = try SHA256.hash(secret).hex
        let blobs = (try? FileManager.default.subpathsOfDirectory(atPath: other.storage)) ?? []
        XCTAssertFalse(blobs.contains { $0.contains(secretDigest) }, "the private file reached the registry")
        let uploads = blobs.filter { $0.contains("_uploads/") && $0.hasSuffix("/data") }
        for u in uploads {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: other.storage + "/" + u))) ?? Data()
            XCTAssertFalse(bytes.contains(UInt8(ascii: "S")) && bytes.count == size, "an upload holds the private file")
        }
    }

    func testAttacksAreRejected() throws {
        let (rootFile, _) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        // Tag moved to another digest without a signature.
        try signet(["push", try image("evil", message: "evil"), repo + ":v1", "--unsigned"])
        let moved = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(moved.stderr.contains("moved without a signature"), moved.stderr)
        try signet(["push", work + "/img1", repo + ":v1", "--unsigned"])   // put it back
        try signet(["verify", repo + ":v1"], home: "client")
        // Rollback: _tuf moved back to an older index.
        let oldIndex = try TestProcesses.run("/usr/bin/curl", ["-fsS", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                                                                "http://\(registry.address)/v2/team/app/manifests/_tuf"]).stdout
        try signet(["push", try image("img3", message: "three"), repo + ":v3"])
        try signet(["verify", repo + ":v3"], home: "client")
        try Data(oldIndex.utf8).write(to: URL(fileURLWithPath: work + "/old-index.json"))
        let put = try TestProcesses.run("/usr/bin/curl", ["-fsS", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.manifest.v1+json",
                                                          "--data-binary", "@" + work + "/old-index.json", "http://\(registry.address)/v2/team/app/manifests/_tuf"])
        XCTAssertEqual(put.status, 0, put.stderr)
        let rollback = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(rollback.stderr.contains("rollback refused"), rollback.stderr)
        // Freeze: the old (validly signed) index replayed eight days later, after its timestamp (7 days) expired.
        let later = String(Int(Date().timeIntervalSince1970) + 8 * 86400)
        let frozen = try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh", env: ["SIGNET_UNSAFE_NOW": later], expect: 1)
        XCTAssertTrue(frozen.stderr.contains("expired"), frozen.stderr)
        // The owner, who published v3, refuses to build on the rolled-back state too.
        let ownerView = try signet(["timestamp", "renew", repo], expect: 1)
        XCTAssertTrue(ownerView.stderr.contains("rollback refused"), ownerView.stderr)
    }

    func testTamperedStorageAndRemovedTrust() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        // A metadata blob swapped in storage: the registry serves other bytes for its digest.
        let index = try TestProcesses.run("/usr/bin/curl", ["-fsS", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                                                            "http://\(registry.address)/v2/team/app/manifests/_tuf"]).stdout
        let layers = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(index.utf8)) as? [String: Any])?["layers"] as? [[String: Any]])
        let releases = try XCTUnwrap(layers.first { (($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] ?? "").hasSuffix(".releases.json") })
        let releasesHex = String(try XCTUnwrap(releases["digest"] as? String).dropFirst(7))
        let blob = registry.blobFile(releasesHex)
        let original = try Data(contentsOf: URL(fileURLWithPath: blob))
        var bad = original
        bad[bad.count / 2] ^= 0x01
        try bad.write(to: URL(fileURLWithPath: blob))
        let swapped = try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh", expect: 1)
        XCTAssertTrue(swapped.stderr.contains("digest") || swapped.stderr.contains("hash"), swapped.stderr)
        try original.write(to: URL(fileURLWithPath: blob))
        // The manifest's bytes altered in storage.
        let manifestBlob = registry.blobFile(String(digest.dropFirst(7)))
        let manifest = try Data(contentsOf: URL(fileURLWithPath: manifestBlob))
        var badManifest = manifest
        badManifest[badManifest.count - 2] = UInt8(ascii: " ")
        try badManifest.write(to: URL(fileURLWithPath: manifestBlob))
        // distribution 2.8 itself notices and answers 500; either way nothing is accepted.
        let altered = try signet(["verify", repo + ":v1"], home: "client", expect: nil)
        XCTAssertNotEqual(altered.status, 0)
        XCTAssertTrue(altered.stderr.contains("digest mismatch") || altered.stderr.contains("HTTP 500"), altered.stderr)
        try manifest.write(to: URL(fileURLWithPath: manifestBlob))
        try signet(["verify", repo + ":v1"], home: "client")
        // A layer's bytes altered in storage: the pull refuses it and stores no unverified blob.
        let layout = work + "/img1"
        let top = try XCTUnwrap(((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any])?["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
        let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + top.dropFirst(7)))) as? [String: Any])
        let layerHex = String(try XCTUnwrap(((m["layers"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7)))
        let layerFile = registry.blobFile(layerHex)
        var layer = try Data(contentsOf: URL(fileURLWithPath: layerFile))
        layer[10] ^= 0xff
        try layer.write(to: URL(fileURLWithPath: layerFile))
        let pulled = try signet(["pull", repo + ":v1", "--output", work + "/tampered"], home: "client", expect: 1)
        XCTAssertTrue(pulled.stderr.contains("digest mismatch"), pulled.stderr)
        let stored = (try? FileManager.default.contentsOfDirectory(atPath: work + "/tampered/blobs/sha256")) ?? []
        XCTAssertFalse(stored.contains(layerHex))
        // Trust index removed after pinning.
        try FileManager.default.removeItem(atPath: registry.storage + "/repositories/team/app/_manifests/tags/_tuf")
        let removed = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(removed.stderr.contains("no longer has it"), removed.stderr)
    }

    func testTwoOfThreeSignersAndRevokedSigner() throws {
        let rootFile = try XCTUnwrap(try json(try signet(["trust", "init", repo, "--json"]))["rootFile"] as? String)
        // Three signers with their own key stores; the owner adds their public keys.
        var keyIDs: [String: String] = [:]
        for name in ["alice", "bob", "carol"] {
            let k = try json(try signet(["key", "generate", "--json"], home: name))
            keyIDs[name] = try XCTUnwrap(k["keyID"] as? String)
            let pem = try signet(["key", "export", try XCTUnwrap(keyIDs[name])], home: name)
            try Data(pem.stdout.utf8).write(to: URL(fileURLWithPath: work + "/\(name).pem"))
            try signet(["signer", "add", repo, name, "--key", work + "/\(name).pem"])
        }
        for name in ["alice", "bob", "carol"] { try signet(["inspect", repo, "--root", rootFile], home: name) }
        // Drop the initial signer key and require 2 of the 3: the releases role must be re-signed by them.
        let inspect = try json(try signet(["inspect", repo, "--json"]))
        let roles = (inspect["roles"] as? [[String: Any]]) ?? []
        let initial = try XCTUnwrap(((roles.first { $0["role"] as? String == "releases" })?["keyIDs"] as? [String])?.first { !keyIDs.values.contains($0) })
        let staged = try signet(["signer", "remove", repo, String(initial.prefix(16))], expect: 1)
        XCTAssertTrue(staged.stderr.contains("releases has 0 of the 1 required signatures"), staged.stderr)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "alice", expect: 1)      // alice signs; snapshot/timestamp keys are the owner's
        try signet(["trust", "sign-staged", repo, "--yes"])                                // the owner publishes
        try signet(["signer", "threshold", repo, "2"], expect: 1)                 // staged: releases needs 2 of 3 now
        try signet(["trust", "sign-staged", repo, "--yes"], home: "alice", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "bob", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"])
        // Alice signs a release alone: refused, naming the threshold; the tag does not verify.
        let img = try image("rel", message: "release")
        try signet(["push", img, repo + ":v9", "--unsigned"], home: "alice")
        let one = try signet(["sign", repo + ":v9"], home: "alice", expect: 1)
        XCTAssertTrue(one.stderr.contains("releases has 1 of the 2 required signatures"), one.stderr)
        let notYet = try signet(["verify", repo + ":v9"], expect: 1)
        XCTAssertTrue(notYet.stderr.contains("not signed"), notYet.stderr)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "bob", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"])
        try signet(["verify", repo + ":v9"])
        // Carol is removed; her signature alone can no longer sign anything.
        try signet(["signer", "remove", repo, "carol"], expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "alice", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"], home: "bob", expect: 1)
        try signet(["trust", "sign-staged", repo, "--yes"])
        try signet(["push", try image("rel2", message: "release 2"), repo + ":v10", "--unsigned"], home: "carol")
        let revoked = try signet(["sign", repo + ":v10"], home: "carol", expect: nil)
        XCTAssertNotEqual(revoked.status, 0)
        try signet(["verify", repo + ":v10"], expect: 1)
    }

    func testKeyRotationsAreFollowedByExistingClients() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        for role in ["timestamp", "snapshot", "targets", "root", "releases"] {
            let r = try signet(["key", "rotate", repo, role])
            XCTAssertTrue(r.stdout.contains("new \(role) key"), r.stdout)
            XCTAssertEqual(try signet(["verify", repo + ":v1"], home: "client").stdout, "\(repo)@\(digest)\n", "after rotating \(role)")
        }
        try signet(["push", try image("after", message: "after rotation"), repo + ":v2"])
        try signet(["verify", repo + ":v2"], home: "client")
        try signet(["verify", repo + ":v2", "--root", rootFile], home: "new-client")
    }

    func testTrustTravelsWithACopyToAnotherRegistry() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        let second = try TestRegistry()
        for tag in ["v1", "_tuf"] {
            let r = try TestProcesses.run("/usr/bin/skopeo", ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--preserve-digests",
                                                              "docker://\(repo):\(tag)", "docker://\(second.address)/team/app:\(tag)"])
            XCTAssertEqual(r.status, 0, "skopeo copy \(tag): \(r.stderr)")
        }
        // The copy's trust data names the original repository: refused as itself, verified as the original.
        let asItself = try signet(["verify", "\(second.address)/team/app:v1", "--root", rootFile], home: "elsewhere", expect: 1)
        XCTAssertTrue(asItself.stderr.contains("is the root of \(repo)") && asItself.stderr.contains("--as \(repo)"), asItself.stderr)
        let copied = try signet(["verify", "\(second.address)/team/app:v1", "--root", rootFile, "--as", repo], home: "elsewhere")
        XCTAssertEqual(copied.stdout, "\(second.address)/team/app@\(digest)\n")
    }

    /// A copy from a source showing an older state than the destination holds is refused before any
    /// of the destination's tags moves.
    func testACopyOverANewerStateMovesNoTag() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let older = try manifestBytes("_tuf")
        let second = try TestRegistry()
        let destination = "\(second.address)/team/app"
        try signet(["copy", repo, destination])
        let newer = try signet(["push", try image("img1b", message: "one again"), repo + ":v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try signet(["copy", repo, destination])
        let client = try registryClient(second.address)
        func destinationV1() throws -> Digest { try SHA256.hash(try client.fetchManifest(repository: "team/app", reference: "v1", what: "v1").bytes) }
        XCTAssertEqual(try destinationV1().ociString, newer)
        // The source's trust tag is put back to the older state; a machine that never saw the newer one copies.
        try putManifest("_tuf", older)
        let refused = try signet(["copy", repo, destination, "--root", rootFile], home: "third", expect: 1)
        XCTAssertTrue(refused.stderr.contains("holds newer trust data"), refused.stderr)
        XCTAssertEqual(try destinationV1().ociString, newer, "the destination's tag did not move")
    }

    func testUpkeepAfterExpiryAndGuards() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        // Eight days later the timestamp (7 days) has expired: clients refuse, and the owner can still renew it.
        let later = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 8 * 86400)]
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client", env: later, expect: 1)
        // The root was not pinned by the failed verification.
        let pinned = (FileManager.default.enumerator(atPath: work + "/home-client")?.allObjects as? [String] ?? []).filter { $0.hasSuffix("root.json") }
        XCTAssertEqual(pinned, [], "nothing pinned after a failed verification")
        try signet(["timestamp", "renew", repo], env: later)
        XCTAssertEqual(try signet(["verify", repo + ":v1", "--root", rootFile], home: "client", env: later).stdout, "\(repo)@\(digest)\n")
        // 85 days later targets and releases expire within a week: a renewal by their key holder extends them.
        let much = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 85 * 86400)]
        let renewed = try signet(["timestamp", "renew", repo], env: much)
        XCTAssertTrue(renewed.stdout.contains("targets") && renewed.stdout.contains("releases"), renewed.stdout)
        let farther = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 95 * 86400)]
        try signet(["timestamp", "renew", repo], env: farther)
        try signet(["verify", repo + ":v1"], home: "client", env: farther)
        // The trust tags cannot be overwritten by a push.
        let guarded = try signet(["push", work + "/img1", repo + ":_tuf", "--unsigned"], expect: 2)
        XCTAssertTrue(guarded.stderr.contains("holds the repository's trust data"), guarded.stderr)
        // A wrong root file is an error and does not replace a working pin.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: work + "/bogus-root.json"))
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "pinned")
        let bogus = try signet(["verify", repo + ":v1", "--root", work + "/bogus-root.json"], home: "pinned", expect: 1)
        XCTAssertTrue(bogus.stderr.contains("bogus-root.json"), bogus.stderr)
        try signet(["verify", repo + ":v1"], home: "pinned")
        // One change at a time may wait for signatures.
        let k = try json(try signet(["key", "generate", "--json"], home: "dave"))
        let pem = try signet(["key", "export", try XCTUnwrap(k["keyID"] as? String)], home: "dave")
        try Data(pem.stdout.utf8).write(to: URL(fileURLWithPath: work + "/dave.pem"))
        try signet(["signer", "add", repo, "dave", "--key", work + "/dave.pem"])
        try signet(["signer", "threshold", repo, "2"], expect: 1)                  // staged: needs dave too
        // Signing a tag changes releases, which the waiting change re-signs: refused until it is done.
        try signet(["push", try image("img3", message: "three"), repo + ":v3", "--unsigned"])
        let blocked = try signet(["sign", repo + ":v3"], expect: 1)
        XCTAssertTrue(blocked.stderr.contains("waiting for signatures") && blocked.stderr.contains("re-signs releases"), blocked.stderr)
        // A renewal goes ahead meanwhile.
        try signet(["timestamp", "renew", repo])
        try signet(["trust", "discard-staged", repo])
        try signet(["sign", repo + ":v3"])
        let list = try signet(["signer", "list", repo])
        XCTAssertTrue(list.stdout.contains("dave") && list.stdout.contains("1 of 2"), list.stdout)
    }
}

extension TrustEndToEndTests {
    /// A cold `verify` looks its tag up before storing what it verified; when the role holding the tag
    /// cannot be had (the registry serves other bytes for `releases.json`), that lookup's failure is
    /// what the command reports, and the blob is asked for once, not again when the tag is resolved.
    func testAColdVerifyAsksOnceForTheRoleHoldingItsTagEvenWhenItFails() throws {
        let (rootFile, _) = try setUpSignedRepository()
        let files = try indexFiles()
        let releases = try XCTUnwrap(files.first { $0.key.hasSuffix("releases.json") }?.value, "\(files.keys.sorted())")
        let hex = String(releases.digest.ociString.dropFirst("sha256:".count))
        let path = registry.blobFile(hex)
        var stored = try Data(contentsOf: URL(fileURLWithPath: path))
        stored[stored.count / 2] ^= 0x01
        try stored.write(to: URL(fileURLWithPath: path))
        let before = registry.requests().count
        let failed = try signet(["verify", repo + ":v1", "--root", rootFile], home: "fresh", expect: nil)
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("releases"), failed.stderr)
        XCTAssertFalse(failed.stdout.contains("@sha256:"), failed.stdout)
        let asked = registry.requests().dropFirst(before).filter { $0.path.hasSuffix("/blobs/" + releases.digest.ociString) }
        XCTAssertEqual(asked.count, 1, "\(asked)")
    }

    /// A warm `verify` asks the registry two questions and reads no body: whether the trust index is
    /// still the one it verified (`If-None-Match`, answered 304) and which digest the tag names (`HEAD`);
    /// the signed manifest comes from the bytes kept at the last verification, checked against the
    /// signed digest. Kept bytes that do not match are ignored, never trusted.
    func testAWarmVerifyAsksTwoQuestionsAndReadsNoBody() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        var before = registry.requests().count
        XCTAssertTrue(try signet(["verify", repo + ":v1"], home: "client").stdout.hasSuffix("@\(digest)\n"))
        var warm = registry.requests().dropFirst(before)
        // The two are asked concurrently, so in either order.
        XCTAssertEqual(warm.map { "\($0.method) \($0.path) \($0.status)" }.sorted(), ["GET /v2/team/app/manifests/_tuf 304", "HEAD /v2/team/app/manifests/v1 200"],
                       "\(warm)")
        XCTAssertEqual(warm.filter { $0.method == "GET" }.reduce(0) { $0 + $1.bytes }, 0)

        // After a publish the index is read again (and only the changed files).
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        before = registry.requests().count
        try signet(["verify", repo + ":v2"], home: "client")
        let afterPublish = registry.requests().dropFirst(before)
        XCTAssertTrue(afterPublish.contains { $0.path.hasSuffix("/manifests/_tuf") && $0.status == 200 }, "\(afterPublish)")
        XCTAssertFalse(afterPublish.contains { $0.path.contains("/blobs/") && $0.status != 200 }, "\(afterPublish)")

        // Kept manifest bytes replaced by another manifest, or by garbage: ignored, fetched again.
        let pin = try XCTUnwrap(pinnedRoots(home: "client").first)
        let kept = work + "/home-client/" + (pin as NSString).deletingLastPathComponent + "/manifests/" + digest.dropFirst(7)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept), kept)
        for replacement in [try manifestBytes("v2"), Array("not a manifest".utf8)] {
            try Data(replacement).write(to: URL(fileURLWithPath: kept))
            before = registry.requests().count
            XCTAssertTrue(try signet(["verify", repo + ":v1"], home: "client").stdout.hasSuffix("@\(digest)\n"))
            warm = registry.requests().dropFirst(before)
            XCTAssertTrue(warm.contains { $0.method == "GET" && $0.path.hasSuffix("/manifests/\(digest)") }, "\(warm)")
        }
        // The moved-tag check still holds on the HEAD answer.
        try putManifest("v1", try manifestBytes("v2"))
        let moved = try signet(["verify", repo + ":v1"], home: "client", expect: 1)
        XCTAssertTrue(moved.stderr.contains("moved without a signature"), moved.stderr)
    }

    /// A warm refresh runs the TUF client over the kept index while the registry is asked whether it
    /// is still current, and uses that run only when the answer is 304. A new index (a publish, a
    /// rollback) is taken from the one answer, as without the run ahead; an expired timestamp behind an
    /// unchanged index (freeze) is still refused; the run's events are reported once, and only when used.
    func testAWarmRefreshRunAheadCountsOnlyForAnUnchangedIndex() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        let verbose = try signet(["verify", repo + ":v1"], home: "client", env: ["SIGNET_VERBOSE": "1"])
        XCTAssertTrue(verbose.stdout.hasSuffix("@\(digest)\n"))
        let lines = verbose.stderr.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty, verbose.stderr)
        XCTAssertEqual(Set(lines).count, lines.count, "an event reported twice: \(verbose.stderr)")
        // Held events are reported, and so is what the client does after the run ahead counted (the
        // tag's lookup loads `releases`).
        XCTAssertTrue(verbose.stderr.contains("stored timestamp.json version"), verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("releases.json"), "events after the run ahead were lost: \(verbose.stderr)")

        // The run ahead fetches nothing: with the held timestamp gone and a new index published, the
        // kept index's timestamp (no longer needed) is never asked for.
        let pin = try XCTUnwrap(pinnedRoots(home: "client").first)
        let trustDir = work + "/home-client/" + (pin as NSString).deletingLastPathComponent
        let keptIndex = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trustDir + "/index.manifest"))) as? [String: Any]
        let keptLayers = try XCTUnwrap(keptIndex?["layers"] as? [[String: Any]])
        let keptTimestamp = try XCTUnwrap(keptLayers.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] == "timestamp.json" }?["digest"] as? String)
        try FileManager.default.removeItem(atPath: trustDir + "/timestamp.json")
        try signet(["push", try image("img4", message: "four"), repo + ":v4"])
        var before = registry.requests().count
        XCTAssertTrue(try signet(["verify", repo + ":v4"], home: "client").stdout.hasPrefix(repo + "@sha256:"))
        let afterRemoval = registry.requests().dropFirst(before)
        XCTAssertFalse(afterRemoval.contains { $0.path.hasSuffix("/blobs/" + keptTimestamp) }, "the run ahead fetched: \(afterRemoval)")
        XCTAssertTrue(afterRemoval.contains { $0.path.contains("/blobs/") }, "the new timestamp was not fetched: \(afterRemoval)")

        // A publish: the new index comes with the one conditional request and the new tag verifies.
        try signet(["push", try image("img2", message: "two"), repo + ":v2"])
        before = registry.requests().count
        let v2 = try signet(["verify", repo + ":v2"], home: "client", env: ["SIGNET_VERBOSE": "1"])
        XCTAssertTrue(v2.stdout.hasPrefix(repo + "@sha256:"), v2.stdout)
        var asked = registry.requests().dropFirst(before)
        XCTAssertEqual(asked.filter { $0.path.hasSuffix("/manifests/_tuf") }.map(\.status), [200], "\(asked)")
        let v2Lines = v2.stderr.split(separator: "\n")
        XCTAssertTrue(v2Lines.contains { $0.contains("fetching oci-tuf://metadata/timestamp.json") }, v2.stderr)
        XCTAssertEqual(Set(v2Lines).count, v2Lines.count, "events of the unused run reported too: \(v2.stderr)")

        // Freeze behind an unchanged index: the timestamp held here expired; 304 does not make it fresh.
        let later = String(Int(Date().timeIntervalSince1970) + 8 * 86400)
        before = registry.requests().count
        let frozen = try signet(["verify", repo + ":v1"], home: "client", env: ["SIGNET_UNSAFE_NOW": later], expect: 1)
        XCTAssertTrue(frozen.stderr.contains("expired"), frozen.stderr)
        asked = registry.requests().dropFirst(before)
        XCTAssertTrue(asked.contains { $0.path.hasSuffix("/manifests/_tuf") && $0.status == 304 }, "\(asked)")

        // Rollback to the index this client verified before the publish: a changed answer, refused.
        let older = try manifestBytes("_tuf")
        try signet(["push", try image("img3", message: "three"), repo + ":v3"])
        try signet(["verify", repo + ":v3"], home: "client")
        try putManifest("_tuf", older)
        let rollback = try signet(["verify", repo + ":v3"], home: "client", expect: 1)
        XCTAssertTrue(rollback.stderr.contains("rollback refused"), rollback.stderr)
    }

    /// A cold `verify` fetches the top-level metadata concurrently and reads the tag's manifest whole,
    /// using those bytes as the signed manifest when they hash to the signed digest: one request fewer,
    /// and the same checks. A stored metadata file that no longer hashes to the listed digest is fetched
    /// again, never used.
    func testAColdVerifyUsesTheTagsManifestAndHeldFilesOnlyWhenTheyMatch() throws {
        let (rootFile, digest) = try setUpSignedRepository()
        var before = registry.requests().count
        XCTAssertTrue(try signet(["verify", repo + ":v1", "--root", rootFile], home: "cold").stdout.hasSuffix("@\(digest)\n"))
        var cold = registry.requests().dropFirst(before)
        XCTAssertTrue(cold.contains { $0.method == "GET" && $0.path == "/v2/team/app/manifests/v1" && $0.status == 200 }, "\(cold)")
        XCTAssertFalse(cold.contains { $0.path.hasSuffix("/manifests/\(digest)") }, "\(cold)")
        XCTAssertEqual(cold.filter { $0.path.contains("/blobs/") }.count, 4, "timestamp, snapshot, targets, releases: \(cold)")

        // Held files are served when they match: with the kept index gone (no conditional request),
        // the index is read whole and no metadata blob is fetched.
        let pin = try XCTUnwrap(pinnedRoots(home: "cold").first)
        let trustDir = work + "/home-cold/" + (pin as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: trustDir + "/index.manifest")
        before = registry.requests().count
        XCTAssertTrue(try signet(["verify", repo + ":v1"], home: "cold").stdout.hasSuffix("@\(digest)\n"))
        cold = registry.requests().dropFirst(before)
        XCTAssertEqual(cold.filter { $0.path.contains("/blobs/") }.count, 0, "\(cold)")

        // A held timestamp edited on disk (it no longer hashes to what the index lists) is fetched again.
        var text = try String(contentsOfFile: trustDir + "/timestamp.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"version\":", with: "\"version\": ")
        try Data(text.utf8).write(to: URL(fileURLWithPath: trustDir + "/timestamp.json"))
        try FileManager.default.removeItem(atPath: trustDir + "/index.manifest")
        before = registry.requests().count
        XCTAssertTrue(try signet(["verify", repo + ":v1"], home: "cold").stdout.hasSuffix("@\(digest)\n"))
        cold = registry.requests().dropFirst(before)
        XCTAssertEqual(cold.filter { $0.path.contains("/blobs/") }.count, 1, "only the edited timestamp: \(cold)")

        // A moved tag on a cold cache: the tag's bytes are not the signed manifest; refused.
        let other = try signet(["push", try image("img2", message: "two"), repo + ":v2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try putManifest("v1", try manifestBytes(other))
        let moved = try signet(["verify", repo + ":v1", "--root", rootFile], home: "cold2", expect: 1)
        XCTAssertTrue(moved.stderr.contains("moved without a signature"), moved.stderr)
    }
}
