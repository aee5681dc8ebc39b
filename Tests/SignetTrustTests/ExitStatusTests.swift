import Foundation
import SignetTestSupport
import XCTest

/// The documented exit statuses (README "Exit status of signet"), one case each: 1 verification failure
/// or refused change, 2 usage error, 3 network or registry error, 4 local error, 130 interrupted.
final class ExitStatusTests: TrustTestCase {
    func testLocalErrorsAreFourAndNameTheFile() throws {
        // An unreadable --passphrase-file (a directory).
        try FileManager.default.createDirectory(atPath: work + "/not-a-file", withIntermediateDirectories: true)
        let unreadable = try signet(["key", "generate", "--passphrase-file", work + "/not-a-file"], expect: 4)
        XCTAssertTrue(unreadable.stderr.contains(work + "/not-a-file"), unreadable.stderr)
        // A missing one.
        let missing = try signet(["key", "generate", "--passphrase-file", work + "/absent"], expect: 4)
        XCTAssertTrue(missing.stderr.contains(work + "/absent"), missing.stderr)

        // Missing files named on the command line are local errors naming the path.
        let noKeyFile = try signet(["key", "import", work + "/absent.key"], expect: 4)
        XCTAssertTrue(noKeyFile.stderr.contains(work + "/absent.key") && noKeyFile.stderr.contains("no such file"), noKeyFile.stderr)
        let noLayout = try signet(["verify", "--layout", work + "/absent-layout"], expect: 4)
        XCTAssertTrue(noLayout.stderr.contains(work + "/absent-layout") && noLayout.stderr.contains("no such directory"), noLayout.stderr)

        let (rootFile, _) = try setUpSignedRepository()
        let noPublicKey = try signet(["signer", "add", repo, "bob", "--key", work + "/absent.pem"], expect: 4)
        XCTAssertTrue(noPublicKey.stderr.contains(work + "/absent.pem") && noPublicKey.stderr.contains("no such file"), noPublicKey.stderr)
        // A public key file that is not PEM.
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: work + "/bob.pem"))
        let notPEM = try signet(["signer", "add", repo, "bob", "--key", work + "/bob.pem"], expect: 4)
        XCTAssertTrue(notPEM.stderr.contains(work + "/bob.pem"), notPEM.stderr)
        // A corrupt pinned root.
        try signet(["verify", repo + ":v1", "--root", rootFile], home: "client")
        // A timeout beyond any deadline the clock can hold is no limit, not a crash.
        try signet(["verify", repo + ":v1", "--timeout", "99999999999999999999"], home: "client")
        try signet(["verify", repo + ":v1"], home: "client", env: ["SIGNET_TIMEOUT": "1e12"])
        let pins = pinnedRoots(home: "client")
        XCTAssertEqual(pins.count, 1)
        let pin = work + "/home-client/" + (pins.first ?? "")
        try Data("{garbage".utf8).write(to: URL(fileURLWithPath: pin))
        let corrupt = try signet(["verify", repo + ":v1"], home: "client", expect: 4)
        XCTAssertTrue(corrupt.stderr.contains(pin), corrupt.stderr)
        // A Signet home (or key directory) that belongs to another user is refused, keys and pins alike;
        // a key directory that is a link is refused too. (Another owner needs root to set up.)
        if geteuid() == 0 {
            let foreign = work + "/home-foreign"
            try FileManager.default.createDirectory(atPath: foreign + "/keys", withIntermediateDirectories: true)
            XCTAssertEqual(chown(foreign, 65534, 65534), 0)
            let keys = try signet(["key", "generate"], home: "foreign", expect: 4)
            XCTAssertTrue(keys.stderr.contains("belongs to user 65534"), keys.stderr)
            let pins = try signet(["verify", repo + ":v1", "--root", rootFile], home: "foreign", expect: 4)
            XCTAssertTrue(pins.stderr.contains("belongs to user 65534"), pins.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign + "/keys"), [], "nothing was written there")
            XCTAssertEqual(chown(foreign, 0, 0), 0)
            XCTAssertEqual(chown(foreign + "/keys", 65534, 65534), 0)
            let keyDirectory = try signet(["key", "generate"], home: "foreign", expect: 4)
            XCTAssertTrue(keyDirectory.stderr.contains("belongs to user 65534"), keyDirectory.stderr)
            // Pins planted by another user in a home of one's own (made before it was private) are refused too.
            XCTAssertEqual(chown(foreign + "/keys", 0, 0), 0)
            try FileManager.default.createDirectory(atPath: foreign + "/trust", withIntermediateDirectories: true)
            XCTAssertEqual(chown(foreign + "/trust", 65534, 65534), 0)
            let plantedPins = try signet(["verify", repo + ":v1", "--root", rootFile], home: "foreign", expect: 4)
            XCTAssertTrue(plantedPins.stderr.contains(foreign + "/trust") && plantedPins.stderr.contains("belongs to user 65534"), plantedPins.stderr)
        }
        try FileManager.default.createDirectory(atPath: work + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/home-linked", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: work + "/home-linked/keys", withDestinationPath: work + "/elsewhere")
        let linked = try signet(["key", "generate"], home: "linked", expect: 4)
        XCTAssertTrue(linked.stderr.contains("is a symbolic link"), linked.stderr)
        // A home that others may write to, owned by this user, is made private.
        try FileManager.default.createDirectory(atPath: work + "/home-open", withIntermediateDirectories: true)
        XCTAssertEqual(chmod(work + "/home-open", 0o777), 0)
        try signet(["key", "generate"], home: "open")
        XCTAssertEqual(try (FileManager.default.attributesOfItem(atPath: work + "/home-open")[.posixPermissions] as? Int), 0o700)
        // A credential helper that is not installed.
        try FileManager.default.createDirectory(atPath: work + "/helper-config", withIntermediateDirectories: true)
        try Data(#"{"credsStore": "signet-test-absent"}"#.utf8).write(to: URL(fileURLWithPath: work + "/helper-config/config.json"))
        let helper = try signet(["verify", repo + ":v1", "--root", rootFile], home: "helper", env: ["DOCKER_CONFIG": work + "/helper-config"], expect: 4)
        XCTAssertTrue(helper.stderr.contains("docker-credential-signet-test-absent"), helper.stderr)
    }

    /// Mistakes a new user makes are named before anything is fetched or asked for (a host that does
    /// not resolve would give exit 3 if the registry were asked first).
    func testMistakesAreNamedBeforeAnyRequestOrPrompt() throws {
        let nowhere = "nowhere.invalid/team/app"
        let inline = try signet(["verify", "--json=true", nowhere + ":v1"], expect: 2)
        XCTAssertTrue(inline.stderr.contains("--json takes no value"), inline.stderr)
        let dash = try signet(["verify", "-o", "x", nowhere + ":v1"], expect: 2)
        XCTAssertTrue(dash.stderr.contains("unknown option -o"), dash.stderr)
        let digest = try signet(["verify", nowhere + ":v1@sha256:abc"], expect: 2)
        XCTAssertEqual(digest.stderr.components(separatedBy: "invalid digest").count, 2, digest.stderr)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: work + "/some-root.json"))
        let both = try signet(["verify", nowhere + ":v1", "--root", work + "/some-root.json", "--trust-on-first-use"], expect: 2)
        XCTAssertTrue(both.stderr.contains("not both"), both.stderr)
        let pullBoth = try signet(["pull", nowhere + ":v1", "--unsafe-no-trust", "--root", work + "/some-root.json", "--verify-only"], expect: 2)
        XCTAssertTrue(pullBoth.stderr.contains("--unsafe-no-trust") && pullBoth.stderr.contains("--root"), pullBoth.stderr)
        let window = try signet(["verify", nowhere + ":v1", "--expiry-warning", "3x"], expect: 2)
        XCTAssertTrue(window.stderr.contains("3x"), window.stderr)
        let expiry = try signet(["trust", "init", nowhere, "--expiry", "foo=7d"], env: ["SIGNET_ROOT_PASSPHRASE": "", "SIGNET_KEY_PASSPHRASE": ""], expect: 2)
        XCTAssertTrue(expiry.stderr.contains("unknown role"), expiry.stderr)
        XCTAssertTrue(try signet(["key", "list"]).stdout.contains("no keys"), "no key was made")
        let layout = try signet(["push", work + "/no-such-layout", nowhere + ":v1"], expect: 4)
        XCTAssertTrue(layout.stderr.contains(work + "/no-such-layout"), layout.stderr)
        // A Notary root given to Signet's own verify, and Signet's root given to `signet dct`: each named.
        try Data(#"{"signed":{"_type":"Root","version":1},"signatures":[]}"#.utf8).write(to: URL(fileURLWithPath: work + "/notary-root.json"))
        let notary = try signet(["verify", nowhere + ":v1", "--root", work + "/notary-root.json"], expect: 2)
        XCTAssertTrue(notary.stderr.contains("Notary v1") && notary.stderr.contains("signet dct"), notary.stderr)
        try Data(#"{"signed":{"_type":"root","version":1},"signatures":[]}"#.utf8).write(to: URL(fileURLWithPath: work + "/signet-root.json"))
        let signetRoot = try signet(["dct", "verify", nowhere + ":v1", "--root", work + "/signet-root.json"], expect: 2)
        XCTAssertTrue(signetRoot.stderr.contains("not a Notary v1 root"), signetRoot.stderr)
        let noTag = try signet(["dct", "verify", nowhere, "--trust-on-first-use"], expect: 2)
        XCTAssertTrue(noTag.stderr.contains("names no tag"), noTag.stderr)
        let noOutput = try signet(["dct", "pull", nowhere + ":v1", "--trust-on-first-use"], expect: 2)
        XCTAssertTrue(noOutput.stderr.contains("--output"), noOutput.stderr)
        let auth = try signet(["dct", "verify", nowhere + ":v1", "--trust-on-first-use"], env: ["NOTARY_AUTH": "not base64!"], expect: 2)
        XCTAssertTrue(auth.stderr.contains("NOTARY_AUTH"), auth.stderr)
        // A label value may hold commas.
        let labelled = try json(try signet(["key", "generate", "--label", "owner=Smith, John", "--json"]))
        XCTAssertEqual((labelled["labels"] as? [String: String])?["owner"], "Smith, John", "\(labelled)")
        // An encrypted key file with no passphrase anywhere says so (not "wrong passphrase").
        let pem = try TestProcesses.run("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                                             "-aes-256-cbc", "-pass", "pass:secret", "-out", work + "/encrypted.key"])
        XCTAssertEqual(pem.status, 0, pem.stderr)
        let noPassphrase = try signet(["key", "import", work + "/encrypted.key"], expect: 4)
        XCTAssertTrue(noPassphrase.stderr.contains("no passphrase was given") && !noPassphrase.stderr.contains("wrong passphrase"), noPassphrase.stderr)
        // In a folder, an RSA key (which cannot sign in Signet) is reported and skipped; the others import
        // and the command succeeds, so a whole trust directory can be imported before `dct import`.
        try FileManager.default.createDirectory(atPath: work + "/mixed/private", withIntermediateDirectories: true)
        for (name, args) in [("rsa.key", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]), ("ec.key", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])] {
            let made = try TestProcesses.run("/usr/bin/openssl", ["genpkey"] + args + ["-out", work + "/mixed/private/" + name])
            XCTAssertEqual(made.status, 0, made.stderr)
        }
        let mixed = try signet(["key", "import", work + "/mixed"])
        XCTAssertTrue(mixed.stderr.contains("skipped") && mixed.stderr.contains("rsa.key"), mixed.stderr)
        XCTAssertTrue(mixed.stdout.contains("imported ecdsa-p256 key"), mixed.stdout)
    }

    func testUsageErrorsAreTwo() throws {
        let badLabel = try signet(["key", "generate", "--label", "role"], expect: 2)
        XCTAssertTrue(badLabel.stderr.contains("--label"), badLabel.stderr)
        let badLabelValue = try signet(["key", "generate", "--label", "role=a\nb"], expect: 2)
        XCTAssertTrue(badLabelValue.stderr.contains("--label"), badLabelValue.stderr)
        XCTAssertTrue(try signet(["key", "list"]).stdout.contains("no keys"), "nothing was created")
        _ = try setUpSignedRepository()
        // Signing a tag the registry does not have.
        let absent = try signet(["sign", repo + ":nope"], expect: 2)
        XCTAssertTrue(absent.stderr.contains("nope") && absent.stderr.contains("not in the registry"), absent.stderr)
    }

    /// A full disk while verification stores what it verified: a local error naming the file, and the
    /// pinned state left as it was.
    func testAFullDiskIsALocalError() throws {
        guard try TestProcesses.run("/usr/bin/unshare", ["-m", "true"]).status == 0 else {
            throw XCTSkip("cannot make a small file system here (unshare -m not permitted)")
        }
        let (rootFile, _) = try setUpSignedRepository()
        let home = work + "/home-full"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let binary = ProcessInfo.processInfo.environment["SIGNET_UNDER_TEST"] ?? TestProcesses.product("signet")
        let script = """
        mount -t tmpfs -o size=64k tmpfs "$1" && dd if=/dev/zero of="$1/filler" bs=1k count=60 2>/dev/null
        SIGNET_HOME="$1" DOCKER_CONFIG="$2" "$3" verify "$4" --root "$5"; echo "status=$?"
        """
        let r = try TestProcesses.run("/usr/bin/unshare", ["-m", "sh", "-c", script, "sh", home, work + "/no-docker-config", binary, repo + ":v1", rootFile])
        XCTAssertTrue(r.stdout.contains("status=4"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("No space left") || r.stderr.contains("no space"), r.stderr)
    }
}
