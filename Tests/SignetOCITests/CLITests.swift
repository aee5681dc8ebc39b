import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import XCTest

/// The `signet pull` and `signet push` commands: output, JSON results and exit statuses.
final class CLITests: XCTestCase {
    var registries: Registries!
    var scratch: String!

    override func setUpWithError() throws {
        registries = try Registries.get()
        scratch = try Paths.temporaryDirectory("signet-oci-cli")
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    func testPushAndPullCommands() throws {
        let image = TestImage(layerCount: 2, layerSize: 30_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, name: "v1", at: source)
        let reference = "\(registries.plain)/cli/app:v1"

        let pushed = try signet(["push", "--unsigned", source, reference])
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        XCTAssertEqual(pushed.stdout, image.digest.ociString + "\n")
        XCTAssertEqual(pushed.stderr, "", "no progress output when stderr is not a terminal")

        let output = scratch + "/out"
        let pulled = try signet(["pull", "\(reference)@\(image.digest)", "--output", output, "--json"])
        XCTAssertEqual(pulled.status, 0, pulled.stderr)
        XCTAssertEqual(pulled.stderr, "")
        let json = try JSONParser.parse(pulled.stdout)
        XCTAssertEqual(json["digest"]?.stringValue, image.digest.ociString)
        XCTAssertEqual(json["mediaType"]?.stringValue, MediaType.ociManifest)
        XCTAssertEqual(json["size"]?.integerValue, Int64(image.manifest.count))
        XCTAssertEqual(json["platform"]?.stringValue, "linux/amd64")
        XCTAssertEqual(json["tagVerified"]?.boolValue, true)
        XCTAssertEqual(json["blobs"]?.arrayValue?.compactMap { $0["digest"]?.stringValue }.sorted(),
                       image.blobs.map { $0.0.ociString }.sorted())
        XCTAssertEqual(try verifiedLayoutContents(output).count, 4)

        let plain = try signet(["pull", "--verify-only", "\(reference)@\(image.digest)"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, "\(reference)@\(image.digest)\n")

        let pushJSON = try JSONParser.parse(try signet(["push", "--json", source, "\(registries.plain)/cli/copy:v2"]).stdout)
        XCTAssertEqual(pushJSON["digest"]?.stringValue, image.digest.ociString)
        XCTAssertEqual(pushJSON["blobs"]?.arrayValue?.compactMap { $0["outcome"]?.stringValue }, ["uploaded", "uploaded", "uploaded"])
    }

    func testTagWithoutDigestNeedsTheUnsafeSwitch() throws {
        let image = TestImage(layerCount: 1, layerSize: 1_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let reference = "\(registries.plain)/cli/tagged:v1"
        XCTAssertEqual(try signet(["push", source, reference]).status, 0)

        // Without a digest the tag must be vouched for by trust data; this repository has none.
        let refused = try signet(["pull", reference, "--verify-only"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("has no trust data"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")

        let unsafe = try signet(["pull", reference, "--verify-only", "--unsafe-no-trust"])
        XCTAssertEqual(unsafe.status, 0, unsafe.stderr)
        XCTAssertTrue(unsafe.stderr.contains("WARNING") && unsafe.stderr.contains("NOT verified"), unsafe.stderr)
        XCTAssertTrue(unsafe.stderr.contains(image.digest.ociString), unsafe.stderr)
        XCTAssertEqual(unsafe.stdout, "\(reference)@\(image.digest)\n")
    }

    func testExitStatuses() throws {
        let image = TestImage(layerCount: 1, layerSize: 40_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let reference = "\(registries.plain)/cli/status:v1"
        XCTAssertEqual(try signet(["push", source, reference]).status, 0)

        // 1: verification failure (a layer altered in the registry's storage).
        let file = registries.plainBlobFile(image.layerDescriptors[0].digest)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[0] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let output = scratch + "/out"
        let tampered = try signet(["pull", "\(reference)@\(image.digest)", "--output", output])
        XCTAssertEqual(tampered.status, 1, tampered.stderr)
        XCTAssertTrue(tampered.stderr.contains("digest mismatch") && tampered.stderr.contains(image.layerDescriptors[0].digest.ociString),
                      tampered.stderr)
        XCTAssertFalse(try verifiedLayoutContents(output).contains(image.layerDescriptors[0].digest.ociString))

        // 2: usage errors.
        for arguments in [["pull"], ["pull", "x@sha256:12", "--verify-only"], ["pull", "a@sha256:\(image.digest.hex)"],
                          ["pull", "--bogus", "a@sha256:\(image.digest.hex)", "--verify-only"], ["push", source],
                          ["pull", "--platform", "linux", "a@sha256:\(image.digest.hex)", "--verify-only"], ["frobnicate"],
                          ["pull", "--username", "u", "a@sha256:\(image.digest.hex)", "--verify-only"]] {
            let result = try signet(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty)
        }

        // 3: registry errors (unknown manifest; nothing listening).
        let missing = try signet(["pull", "--verify-only", "\(registries.plain)/cli/none@\(sha256([9]))"])
        XCTAssertEqual(missing.status, 3, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("not found"), missing.stderr)
        let closed = try signet(["pull", "--verify-only", "127.0.0.1:9/cli/none@\(sha256([9]))"])
        XCTAssertEqual(closed.status, 3, closed.stderr)

        // 4: local errors (the push source is not an OCI layout).
        let notLayout = try signet(["push", scratch + "/nothing", reference])
        XCTAssertEqual(notLayout.status, 4, notLayout.stderr)

        // Help.
        let help = try signet(["pull", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--all-platforms"))
    }

    func testPasswordFromStandardInputNeverEchoed() throws {
        let image = TestImage(layerCount: 1, layerSize: 1_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let reference = "\(registries.token)/cli/secret:v1"
        let ok = try signet(["push", "--username", registries.user, "--password-stdin", source, reference],
                            input: registries.password + "\n")
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let secret = "password-\(Hex.encode(randomBytes(6)))"
        let rejected = try signet(["pull", "--username", registries.user, "--password-stdin", "--verify-only",
                                   "\(reference)@\(image.digest)"], input: secret + "\n")
        XCTAssertEqual(rejected.status, 3)
        XCTAssertTrue(rejected.stderr.contains("rejected the credentials"), rejected.stderr)
        XCTAssertFalse(rejected.stderr.contains(secret) || rejected.stdout.contains(secret))
        let good = try signet(["pull", "--username", registries.user, "--password-stdin", "--verify-only", "--json",
                               "\(reference)@\(image.digest)"], input: registries.password + "\n")
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual(try JSONParser.parse(good.stdout)["verifyOnly"]?.boolValue, true)
    }
}
