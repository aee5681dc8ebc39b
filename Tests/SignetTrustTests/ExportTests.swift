import Foundation
import SignetTestSupport
import XCTest

/// An air-gapped site: export signed images with their trust data, stop the source registry, import
/// into a fresh registry inside, verify there with the original root, before and after the freshness
/// limit the site's policy sets; skopeo reads the export; a doctored export is refused.
final class ExportTests: TrustTestCase {
    func testExportStopImportVerifyWithAFreshnessLimit() throws {
        let start = Int(Date().timeIntervalSince1970)
        func day(_ d: Double) -> [String: String] { ["SIGNET_UNSAFE_NOW": String(start + Int(d * 86400))] }
        let initResult = try json(try signet(["trust", "init", repo, "--expiry", "timestamp=1d", "--json"]))
        let rootFile = try XCTUnwrap(initResult["rootFile"] as? String)
        let v1 = try signet(["push", try image("img1", message: "one"), repo + ":v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let multi = try signet(["push", try image("multi", message: "multi", platforms: "linux/amd64,linux/arm64"), repo + ":multi"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let export = work + "/export"
        let exported = try json(try signet(["export", repo, "--output", export, "--json"]))
        XCTAssertEqual(Set(((exported["tags"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "multi"])
        try signet(["export", repo + ":v1", "--output", work + "/export.tar"])
        // A later state (v2 signed), exported too.
        let v2 = try signet(["push", try image("img2", message: "two"), repo + ":v2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let newer = work + "/export-newer"
        try signet(["export", repo, "--output", newer])
        // skopeo reads the layout by tag.
        let skopeo = try TestProcesses.run("/usr/bin/skopeo", ["copy", "oci:\(export):v1", "dir:\(work)/skopeo-v1"])
        XCTAssertEqual(skopeo.status, 0, skopeo.stderr)
        let copiedRoot = work + "/root-of-app.json"
        try FileManager.default.copyItem(atPath: rootFile, toPath: copiedRoot)

        // The source goes away; inside, a fresh registry and a site policy mapping the name to the original.
        registry = nil
        let inside = try TestRegistry()
        let destination = "\(inside.address)/team/app"
        let policy: [String: Any] = ["default": "reject", "repositories": [
            destination: ["sameAs": repo, "roots": [copiedRoot], "exportValidityDays": 10],
        ] as [String: Any]]
        let policyFile = work + "/site-policy.json"
        try JSONSerialization.data(withJSONObject: policy).write(to: URL(fileURLWithPath: policyFile))

        // A doctored export (v1's entry pointing at the multi-platform image) is refused; nothing is pushed.
        let doctored = work + "/doctored"
        try FileManager.default.copyItem(atPath: export, toPath: doctored)
        var index = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: doctored + "/index.json"))) as? [String: Any])
        var manifests = (index["manifests"] as? [[String: Any]]) ?? []
        let multiEntry = try XCTUnwrap(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "multi" })
        for i in manifests.indices where (manifests[i]["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "v1" {
            manifests[i]["digest"] = multiEntry["digest"]
            manifests[i]["size"] = multiEntry["size"]
            manifests[i]["mediaType"] = multiEntry["mediaType"]
        }
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: doctored + "/index.json"))
        let refused = try signet(["import", doctored, destination, "--policy", policyFile], home: "inside-admin", expect: 1)
        XCTAssertTrue(refused.stderr.contains("v1") && refused.stderr.contains("signs"), refused.stderr)
        XCTAssertEqual(try TestProcesses.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(inside.address)/v2/team/app/manifests/_tuf"]).stdout, "404")

        // The real export, from the tar file and from the directory.
        try signet(["import", work + "/export.tar", destination, "--policy", policyFile], home: "inside-admin")
        let imported = try json(try signet(["import", export, destination, "--policy", policyFile, "--json"], home: "inside-admin"))
        XCTAssertEqual(imported["original"] as? String, repo)
        XCTAssertEqual(try signet(["verify", destination + ":v1", "--policy", policyFile], home: "inside-client").stdout, "\(destination)@\(v1)\n")
        XCTAssertEqual(try signet(["verify", destination + ":multi", "--policy", policyFile], home: "inside-client").stdout, "\(destination)@\(multi)\n")
        // The timestamp (1 day) expires inside, where nobody can renew it: within the policy's 10 days the
        // data is still accepted (said), after them it is not; without the policy's limit it is not at all.
        let within = try signet(["verify", destination + ":v1", "--policy", policyFile], home: "inside-client", env: day(5))
        XCTAssertEqual(within.stdout, "\(destination)@\(v1)\n")
        XCTAssertTrue(within.stderr.contains("expired"), within.stderr)
        // The renewal it points to is made at the original, then carried in again.
        XCTAssertTrue(within.stderr.contains("signet timestamp renew \(repo)") && within.stderr.contains("export \(repo) to \(destination) again"), within.stderr)
        let after = try signet(["verify", destination + ":v1", "--policy", policyFile], home: "inside-client-2", env: day(12), expect: 1)
        XCTAssertTrue(after.stderr.contains("timestamp") && after.stderr.contains("expired"), after.stderr)
        try signet(["verify", destination + ":v1", "--root", copiedRoot, "--as", repo], home: "no-policy", env: day(5), expect: 1)

        // The newer export, with a link to a file of the importing machine beside its metadata: refused,
        // naming it (it would otherwise have been read and published with the trust data).
        let secret = work + "/docker-config.json"
        try Data("{\"auths\":{\"inside\":{\"auth\":\"c2VjcmV0OnNlY3JldA==\"}}}".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: newer + "/signet-trust/remote/config.json", withDestinationPath: secret)
        let linked = try signet(["import", newer, destination, "--policy", policyFile], home: "inside-admin", expect: 2)
        XCTAssertTrue(linked.stderr.contains("config.json") && linked.stderr.contains("symbolic link"), linked.stderr)
        // A regular file the trust data does not name is not published.
        try FileManager.default.removeItem(atPath: newer + "/signet-trust/remote/config.json")
        try FileManager.default.copyItem(atPath: secret, toPath: newer + "/signet-trust/remote/config.json")
        try signet(["import", newer, destination, "--policy", policyFile], home: "inside-admin")
        let trustIndex = try TestProcesses.run("/usr/bin/curl", ["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", "http://\(inside.address)/v2/team/app/manifests/_tuf"])
        XCTAssertEqual(trustIndex.status, 0)
        XCTAssertFalse(trustIndex.stdout.contains("config.json"), trustIndex.stdout)
        XCTAssertTrue(trustIndex.stdout.contains("timestamp.json"), trustIndex.stdout)
        XCTAssertEqual(try signet(["verify", destination + ":v2", "--policy", policyFile], home: "inside-client-3").stdout, "\(destination)@\(v2)\n")
        // The older export replayed over it: refused, nothing replaced.
        let replayed = try signet(["import", export, destination, "--policy", policyFile], home: "inside-admin", expect: 1)
        XCTAssertTrue(replayed.stderr.contains("holds newer trust data"), replayed.stderr)
        // Trust on first use has no meaning offline; a machine with nothing pinned is told to give the root.
        let tofu = try signet(["import", export, destination, "--trust-on-first-use"], home: "inside-admin", expect: 2)
        XCTAssertTrue(tofu.stderr.contains("offline"), tofu.stderr)
        let unpinned = try signet(["import", export, destination], home: "inside-nothing-pinned", expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("pass --root ROOT_FILE") && unpinned.stderr.contains("never trusted on first use"), unpinned.stderr)
        XCTAssertEqual(try TestProcesses.run("/usr/bin/curl", ["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", "http://\(inside.address)/v2/team/app/manifests/_tuf"]).stdout, trustIndex.stdout)
        XCTAssertEqual(try signet(["verify", destination + ":v2", "--policy", policyFile], home: "inside-client-4").stdout, "\(destination)@\(v2)\n")
    }
}
