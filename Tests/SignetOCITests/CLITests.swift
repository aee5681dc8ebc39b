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
        XCTAssertTrue(pulled.stderr.hasSuffix("has no trust data: \(image.digest) is pulled by its digest alone, not checked against a signature\n"), pulled.stderr)
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

    /// `signet login`/`logout` store credentials as `docker login` does: checked first, then in the
    /// config file (mode 0600, other entries kept) or through the configured credential helper.
    func testLoginAndLogout() throws {
        let config = scratch + "/docker"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try Data(#"{"auths": {"other.example": {"auth": "eDp5"}}, "psFormat": "table"}"#.utf8).write(to: URL(fileURLWithPath: config + "/config.json"))
        let env = ["DOCKER_CONFIG": config]
        let wrong = try signet(["login", registries.basic, "--username", registries.user, "--password-stdin", "--tls", "--ca-file", registries.caCert],
                               input: "not-the-password\n", environment: env)
        XCTAssertEqual(wrong.status, 3, wrong.stderr)
        XCTAssertFalse(try String(contentsOfFile: config + "/config.json", encoding: .utf8).contains(registries.basic), "nothing stored")
        let ok = try signet(["login", registries.basic, "--username", registries.user, "--password-stdin", "--tls", "--ca-file", registries.caCert],
                            input: registries.password + "\n", environment: env)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertFalse(ok.stdout.contains(registries.password) || ok.stderr.contains(registries.password))
        let stored = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: config + "/config.json"))))
        XCTAssertEqual(stored["auths"]?[registries.basic]?["auth"]?.stringValue, Base64.encode(Array("\(registries.user):\(registries.password)".utf8)))
        XCTAssertEqual(stored["auths"]?["other.example"]?["auth"]?.stringValue, "eDp5")
        XCTAssertEqual(stored["psFormat"]?.stringValue, "table")
        let mode = (try FileManager.default.attributesOfItem(atPath: config + "/config.json")[.posixPermissions] as? Int) ?? 0
        XCTAssertEqual(mode & 0o777, 0o600)
        // The stored credentials are used.
        let image = TestImage(layerCount: 1, layerSize: 1_000)
        try LayoutWriter.layout(image, name: "v1", at: scratch + "/img")
        let pushed = try signet(["push", "--unsigned", scratch + "/img", "\(registries.basic)/login/app:v1", "--tls", "--ca-file", registries.caCert], environment: env)
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        let out = try signet(["logout", registries.basic], environment: env)
        XCTAssertEqual(out.status, 0, out.stderr)
        let after = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: config + "/config.json"))))
        XCTAssertNil(after["auths"]?[registries.basic])
        XCTAssertNotNil(after["auths"]?["other.example"])

        // Through a credential helper named by credsStore.
        let bin = scratch + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let record = scratch + "/helper-record"
        try Data("#!/bin/sh\n{ echo \"$1\"; cat; echo; } >> \(record)\n".utf8).write(to: URL(fileURLWithPath: bin + "/docker-credential-signettest"))
        chmod(bin + "/docker-credential-signettest", 0o755)
        try Data(#"{"credsStore": "signettest"}"#.utf8).write(to: URL(fileURLWithPath: config + "/config.json"))
        let helperEnv = ["DOCKER_CONFIG": config, "PATH": bin + ":/usr/bin:/bin"]
        let viaHelper = try signet(["login", registries.basic, "--username", registries.user, "--password-stdin", "--tls", "--ca-file", registries.caCert],
                                   input: registries.password + "\n", environment: helperEnv)
        XCTAssertEqual(viaHelper.status, 0, viaHelper.stderr)
        XCTAssertEqual(try signet(["logout", registries.basic], environment: helperEnv).status, 0)
        let recorded = try String(contentsOfFile: record, encoding: .utf8)
        XCTAssertTrue(recorded.hasPrefix("store\n{\"ServerURL\":\"\(registries.basic)\",\"Username\":\"\(registries.user)\",\"Secret\":\"\(registries.password)\"}"), recorded)
        XCTAssertTrue(recorded.contains("erase\n\(registries.basic)\n"), recorded)
        XCTAssertEqual(try String(contentsOfFile: config + "/config.json", encoding: .utf8), #"{"credsStore": "signettest"}"#, "the config file is left alone")
    }
}
