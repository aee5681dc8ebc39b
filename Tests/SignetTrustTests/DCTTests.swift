import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import SignetTestSupport
import SignetTrust
import XCTest

/// Docker Content Trust against a real notary-server + notary-signer and docker-registry on 127.0.0.1,
/// driven with the real `notary` CLI the way Docker did; Signet's view is compared with notary's after
/// every step.
final class DCTTests: TrustTestCase {
    var notary: NotaryStack!
    var gun = ""
    var notaryEnv: [String: String] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        notary = try NotaryStack()
        gun = "\(registry.address)/library/hello"
        notaryEnv = ["NOTARY_ROOT_PASSPHRASE": "root-pw", "NOTARY_TARGETS_PASSPHRASE": "targets-pw",
                     "NOTARY_SNAPSHOT_PASSPHRASE": "snapshot-pw", "NOTARY_DELEGATION_PASSPHRASE": "delegation-pw"]
    }

    override func tearDown() {
        notary = nil
        super.tearDown()
    }

    /// The notary CLI with a trust directory under `work`.
    @discardableResult
    func notaryCLI(_ args: [String], trustDir: String = "notary-trust", input: String? = nil, expect: Int32 = 0,
                   file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let r = try TestProcesses.run("/usr/bin/notary", ["-s", notary.url, "-d", work + "/" + trustDir, "--tlscacert", notary.caFile] + args,
                                      environment: notaryEnv, input: input)
        XCTAssertEqual(r.status, expect, "notary \(args.joined(separator: " ")): \(r.stdout)\n\(r.stderr)", file: file, line: line)
        return r
    }

    /// `notary list GUN` as tag → (digest, role).
    func notaryList() throws -> [String: (String, String)] {
        var out: [String: (String, String)] = [:]
        let r = try notaryCLI(["list", gun])
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 4, f[1].count == 64 else { continue }
            out[String(f[0])] = ("sha256:" + f[1], String(f[3]))
        }
        return out
    }

    /// Signet's DCT options for this stack.
    var dctSource: [String] { ["--server", notary.url, "--notary-ca-file", notary.caFile] }

    /// The image digest and manifest size of an image pushed (unsigned) under `tag`.
    func pushImage(_ tag: String) throws -> (digest: String, size: Int) {
        let d = try signet(["push", try image("img-\(tag)", message: tag), "\(gun):\(tag)", "--unsigned"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (d, try manifestBytes(d, repository: "library/hello").count)
    }

    /// After each step: `signet dct inspect`/`verify` agree with `notary list`/`lookup` on every tag
    /// Docker would resolve through targets/releases or targets.
    func compare(home: String = "dct-client", file: StaticString = #filePath, line: UInt = #line) throws {
        let listed = try notaryList()
        let inspect = try json(try signet(["dct", "inspect", gun, "--json"] + dctSource, home: home))
        var signetTags: [String: String] = [:]
        for t in (inspect["tags"] as? [[String: Any]]) ?? [] { signetTags[t["tag"] as? String ?? ""] = t["digest"] as? String }
        for (tag, (digest, role)) in listed {
            let lookup = try notaryCLI(["lookup", gun, tag]).stdout.split(separator: " ")
            XCTAssertEqual(lookup.count >= 2 ? String(lookup[1]) : "", digest, file: file, line: line)
            if role == "targets" || role == "targets/releases" {
                XCTAssertEqual(signetTags[tag], digest, "dct inspect for \(tag)", file: file, line: line)
                let verified = try signet(["dct", "verify", "\(gun):\(tag)"] + dctSource, home: home)
                XCTAssertEqual(verified.stdout, "\(gun)@\(digest)\n", file: file, line: line)
            }
        }
    }

    func testDCTFlowAgreesWithNotaryAtEveryStepAndTamperingIsRefused() throws {
        let v1 = try pushImage("v1"), v2 = try pushImage("v2"), v3 = try pushImage("v3")
        // Docker Content Trust's set-up: init, server-managed snapshot, a tag signed into targets.
        try notaryCLI(["init", gun])
        try notaryCLI(["key", "rotate", gun, "snapshot", "-r"])
        try notaryCLI(["addhash", gun, "v1", "\(v1.size)", "--sha256", String(v1.digest.dropFirst(7))])
        try notaryCLI(["publish", gun])
        let rootFile = work + "/notary-trust/tuf/\(gun)/metadata/root.json"
        // First contact pins the root (from the notary CLI's own cache here).
        let first = try signet(["dct", "verify", "\(gun):v1", "--root", rootFile] + dctSource, home: "dct-client")
        XCTAssertEqual(first.stdout, "\(gun)@\(v1.digest)\n")
        XCTAssertTrue(first.stderr.contains("pinned the given root"), first.stderr)
        try compare()
        // A signer "alice" as `docker trust signer add` made it: targets/releases and targets/alice.
        try notaryCLI(["key", "generate", "ecdsa", "--role", "alice", "-o", work + "/alice"])
        // As Docker's docs had it: the key is decrypted (openssl refuses notary's "role:" header) and imported.
        let headerless = try String(contentsOfFile: work + "/alice-key.pem", encoding: .utf8).split(separator: "\n")
            .filter { !$0.isEmpty && !($0.contains(": ") && !$0.hasPrefix("-")) }.joined(separator: "\n") + "\n"
        try Data(headerless.utf8).write(to: URL(fileURLWithPath: work + "/alice-bare.pem"))
        let plain = try TestProcesses.run("/usr/bin/openssl", ["pkcs8", "-in", work + "/alice-bare.pem", "-passin", "env:NOTARY_DELEGATION_PASSPHRASE",
                                                               "-out", work + "/alice-plain.pem"], environment: notaryEnv)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        try notaryCLI(["key", "import", work + "/alice-plain.pem", "--role", "alice"])
        try notaryCLI(["delegation", "add", gun, "targets/releases", work + "/alice.pem", "--all-paths"])
        try notaryCLI(["delegation", "add", gun, "targets/alice", work + "/alice.pem", "--all-paths"])
        try notaryCLI(["publish", gun])
        try notaryCLI(["addhash", gun, "v2", "\(v2.size)", "--sha256", String(v2.digest.dropFirst(7)), "-r", "targets/releases"])
        try notaryCLI(["addhash", gun, "v2", "\(v2.size)", "--sha256", String(v2.digest.dropFirst(7)), "-r", "targets/alice"])
        try notaryCLI(["addhash", gun, "v3", "\(v3.size)", "--sha256", String(v3.digest.dropFirst(7)), "-r", "targets/alice"])
        try notaryCLI(["publish", gun])
        try compare()
        // v2 comes from targets/releases, with alice as its signer; v3 is only in targets/alice, which
        // Docker ignored: notary's lookup finds it, Docker (and Signet) refuse it.
        let inspect = try json(try signet(["dct", "inspect", gun, "--json"] + dctSource, home: "dct-client"))
        let v2Entry = ((inspect["tags"] as? [[String: Any]]) ?? []).first { $0["tag"] as? String == "v2" }
        XCTAssertEqual(v2Entry?["role"] as? String, "targets/releases")
        XCTAssertEqual(v2Entry?["signers"] as? [String], ["alice"])
        XCTAssertEqual(((inspect["ignored"] as? [[String: Any]]) ?? []).first?["tag"] as? String, "v3")
        XCTAssertEqual(try notaryCLI(["lookup", gun, "v3"]).stdout.split(separator: " ").dropFirst().first.map(String.init), v3.digest)
        let v3Refused = try signet(["dct", "verify", "\(gun):v3"] + dctSource, home: "dct-client", expect: 1)
        XCTAssertTrue(v3Refused.stderr.contains("targets/alice") && v3Refused.stderr.contains("Docker Content Trust accepts"), v3Refused.stderr)
        let human = try signet(["dct", "inspect", gun] + dctSource, home: "dct-client")
        XCTAssertTrue(human.stdout.contains("alice") && human.stdout.contains("Root Key"), human.stdout)
        // Key rotations, each followed by the pinned client.
        for rotation in [["key", "rotate", gun, "timestamp", "-r"], ["key", "rotate", gun, "snapshot", "-r"], ["key", "rotate", gun, "targets"]] {
            try notaryCLI(rotation)
            try compare()
        }
        try notaryCLI(["key", "rotate", gun, "root"], input: "yes\n")
        try compare()
        // Fresh clients: trust on first use (said), and pinned by root key ID.
        let tofu = try signet(["dct", "verify", "\(gun):v2", "--trust-on-first-use"] + dctSource, home: "tofu")
        XCTAssertEqual(tofu.stdout, "\(gun)@\(v2.digest)\n")
        XCTAssertTrue(tofu.stderr.contains("trust on first use"), tofu.stderr)
        let currentRoot = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rootFile))) as? [String: Any]
        let rootKeyID = try XCTUnwrap((((currentRoot?["signed"] as? [String: Any])?["roles"] as? [String: Any])?["root"] as? [String: Any])?["keyids"] as? [String]).first
        try signet(["dct", "verify", "\(gun):v1", "--root-key-id", try XCTUnwrap(rootKeyID)] + dctSource, home: "by-key-id")
        try signet(["dct", "verify", "\(gun):v1", "--root-key-id", String(repeating: "ab", count: 32)] + dctSource, home: "wrong-key-id", expect: 1)
        let unpinned = try signet(["dct", "verify", "\(gun):v1"] + dctSource, home: "nothing", expect: 1)
        XCTAssertTrue(unpinned.stderr.contains("no Notary root pinned"), unpinned.stderr)

        // Answers tampered with, served by a look-alike server with the real server's certificate.
        let before = try notaryFiles()
        try notaryCLI(["addhash", gun, "v4", "\(v1.size)", "--sha256", String(v1.digest.dropFirst(7)), "-r", "targets/releases"])
        try notaryCLI(["publish", gun])
        try compare()
        // v4 moved to another image: the manifest a warm client fetches early, by the digest it verified
        // last time, is not used.
        try notaryCLI(["addhash", gun, "v4", "\(v2.size)", "--sha256", String(v2.digest.dropFirst(7)), "-r", "targets/releases"])
        try notaryCLI(["publish", gun])
        try compare()
        XCTAssertEqual(try signet(["dct", "verify", "\(gun):v4"] + dctSource, home: "dct-client").stdout, "\(gun)@\(v2.digest)\n")
        func serve(_ files: [String: [UInt8]], change: (inout [String: [UInt8]]) -> Void = { _ in }) throws -> LoopbackHTTPSFileServer {
            var named: [String: [UInt8]] = [:]
            for (role, bytes) in files {
                named["\(role).json"] = bytes
                if role != "timestamp" && role != "root" { named["\(role).\(try SHA256.hash(bytes).hex).json"] = bytes }
            }
            change(&named)
            let dir = work + "/served-\(UUID().uuidString)/v2/\(gun)/_trust/tuf"
            for (name, bytes) in named {
                try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: dir + "/" + name).deletingLastPathComponent().path, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
            }
            return try LoopbackHTTPSFileServer(directory: String(dir.dropLast("/v2/\(gun)/_trust/tuf".count)), certificate: notary.serverCertificate, key: notary.serverKey)
        }
        func attempt(_ server: LoopbackHTTPSFileServer, home: String, expect: Int32, env: [String: String] = [:]) throws -> ProcessResult {
            try signet(["dct", "verify", "\(gun):v1", "--server", server.url, "--notary-ca-file", notary.caFile, "--root", rootFile], home: home, env: env, expect: expect)
        }
        let current = try notaryFiles()
        XCTAssertEqual(try attempt(try serve(current), home: "look-alike", expect: 0).stdout, "\(gun)@\(v1.digest)\n")
        let flipped = try serve(current) { named in
            let name = named.keys.first { $0.hasPrefix("targets.") && $0.count > 20 }!
            named[name]![named[name]!.count / 2] ^= 0x01
        }
        XCTAssertTrue(try attempt(flipped, home: "flipped", expect: 1).stderr.contains("targets.json"))
        let swapped = try serve(current) { named in named["timestamp.json"] = named["snapshot.json"] }
        XCTAssertTrue(try attempt(swapped, home: "swapped", expect: 1).stderr.contains("expected _type \"Timestamp\""))
        let older = try serve(before)
        let rolledBack = try signet(["dct", "verify", "\(gun):v1", "--server", older.url, "--notary-ca-file", notary.caFile], home: "dct-client", expect: 1)
        XCTAssertTrue(rolledBack.stderr.contains("rollback refused"), rolledBack.stderr)
        let later = ["SIGNET_UNSAFE_NOW": String(Int(Date().timeIntervalSince1970) + 20 * 86400)]
        let expired = try signet(["dct", "verify", "\(gun):v1"] + dctSource, home: "dct-client", env: later, expect: 1)
        XCTAssertTrue(expired.stderr.contains("timestamp.json") && expired.stderr.contains("expired"), expired.stderr)

        // The notary CLI's keys import (a wrong passphrase names the key), and sign in Signet.
        let wrong = try signet(["key", "import", work + "/notary-trust"], home: "keys", env: notaryEnv.merging(["NOTARY_ROOT_PASSPHRASE": "wrong"]) { $1 }, expect: 4)
        XCTAssertTrue(wrong.stderr.contains("wrong passphrase for this encrypted root key") && wrong.stderr.contains(".key"), wrong.stderr)
        let keys = try signet(["key", "import", work + "/notary-trust", "--json"], home: "owner", env: notaryEnv)
        let imported = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]])
        XCTAssertTrue(imported.contains { ($0["labels"] as? [String: String])?["role"] == "alice" }, keys.stdout)
        XCTAssertTrue(imported.contains { ($0["labels"] as? [String: String])?["role"] == "root" }, keys.stdout)
        // Migration of this repository: alice becomes a releases signer and signs; v3 is refused.
        let report = try json(try signet(["dct", "import", gun, "--json", "--root", rootFile] + dctSource))
        XCTAssertEqual(Set(((report["imported"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2", "v4"])
        XCTAssertEqual(((report["ignored"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }, ["v3"])
        XCTAssertEqual(((report["refused"] as? [[String: Any]]) ?? []).count, 0)
        XCTAssertTrue(((report["signersAdded"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "alice" }, "\(report)")
        let newRoot = try XCTUnwrap(report["rootFile"] as? String)
        for (tag, digest) in [("v1", v1.digest), ("v2", v2.digest)] {
            XCTAssertEqual(try signet(["verify", "\(gun):\(tag)", "--root", newRoot], home: "migrated-client").stdout, "\(gun)@\(digest)\n")
        }
        // v4 was signed in DCT (last for v2's image) and never pushed as a tag: verified by its signed
        // digest, and the report says the registry tag is missing.
        XCTAssertEqual(((report["registryTagDiffers"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }, ["v4"])
        XCTAssertEqual(try signet(["verify", "\(gun):v4", "--ignore-registry-tag"], home: "migrated-client").stdout, "\(gun)@\(v2.digest)\n")
        let again = try json(try signet(["dct", "import", gun, "--json"] + dctSource))
        XCTAssertEqual(((again["unchanged"] as? [[String: Any]]) ?? []).count, 3)
        XCTAssertEqual(((again["imported"] as? [[String: Any]]) ?? []).count, 0)

        // The server goes away: the notary CLI's cache still verifies, the same way.
        try FileManager.default.copyItem(atPath: work + "/notary-trust", toPath: work + "/trust-copy")
        notary.stop()
        let offline = try signet(["dct", "verify", "\(gun):v2", "--trust-dir", work + "/trust-copy", "--root", rootFile], home: "offline")
        XCTAssertEqual(offline.stdout, "\(gun)@\(v2.digest)\n")
        let offlineInspect = try json(try signet(["dct", "inspect", gun, "--json", "--trust-dir", work + "/trust-copy"], home: "offline"))
        XCTAssertEqual(Set(((offlineInspect["tags"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2", "v4"])
        try signet(["dct", "verify", "\(gun):v3", "--trust-dir", work + "/trust-copy"], home: "offline", expect: 1)
    }

    /// The most common DCT repository: `docker push` with content trust and no signer roles, every tag
    /// signed by the repository key in `targets`. Importing it with the default `--signers dct` needs
    /// that key (said so when it is missing), makes it the `releases` signer, and moves every tag.
    func testARepositoryWithoutSignerRolesImportsWithItsRepositoryKey() throws {
        let v1 = try pushImage("v1"), v2 = try pushImage("v2")
        try notaryCLI(["init", gun])
        try notaryCLI(["key", "rotate", gun, "snapshot", "-r"])
        try notaryCLI(["addhash", gun, "v1", "\(v1.size)", "--sha256", String(v1.digest.dropFirst(7))])
        try notaryCLI(["addhash", gun, "v2", "\(v2.size)", "--sha256", String(v2.digest.dropFirst(7))])
        try notaryCLI(["publish", gun])
        let rootFile = work + "/notary-trust/tuf/\(gun)/metadata/root.json"
        let inspect = try signet(["dct", "inspect", gun, "--root", rootFile] + dctSource, home: "owner")
        XCTAssertTrue(inspect.stdout.contains("(Repo Admin)"), inspect.stdout)
        // Without the repository key in the key store: refused, naming what is needed.
        let missing = try signet(["dct", "import", gun] + dctSource, home: "owner", expect: 1)
        XCTAssertTrue(missing.stderr.contains("the repository key") && missing.stderr.contains("signet key import"), missing.stderr)
        // With the notary CLI's keys imported: every tag moves, signed by the repository key.
        try signet(["key", "import", work + "/notary-trust"], home: "owner", env: notaryEnv)
        let report = try json(try signet(["dct", "import", gun, "--json"] + dctSource, home: "owner"))
        XCTAssertEqual(Set(((report["imported"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1", "v2"])
        XCTAssertEqual(((report["signersAdded"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }, ["dct-repository"])
        let newRoot = try XCTUnwrap(report["rootFile"] as? String)
        for (tag, digest) in [("v1", v1.digest), ("v2", v2.digest)] {
            XCTAssertEqual(try signet(["verify", "\(gun):\(tag)", "--root", newRoot], home: "migrated-client").stdout, "\(gun)@\(digest)\n")
        }
        let signers = try signet(["signer", "list", gun], home: "owner")
        XCTAssertTrue(signers.stdout.contains("dct-repository"), signers.stdout)
        // Signing goes on in Signet with the same key.
        let v3 = try pushImage("v3")
        try signet(["sign", "\(gun):v3@\(v3.digest)"], home: "owner")
        XCTAssertEqual(try signet(["verify", "\(gun):v3"], home: "migrated-client").stdout, "\(gun)@\(v3.digest)\n")
    }

    /// A signer whose certificate OpenSSL made self-signed (`req -x509`, which marks it CA:TRUE): notary
    /// verifies the delegation with the certificate's key whatever the CA flag, and so does Signet (only
    /// root keys must be leaf certificates).
    func testADelegationCertificateMarkedAsCAVerifiesAsNotaryVerifiesIt() throws {
        let v1 = try pushImage("v1")
        try notaryCLI(["init", gun])
        try notaryCLI(["key", "rotate", gun, "snapshot", "-r"])
        try notaryCLI(["publish", gun])
        let openssl = { (args: [String]) in
            let r = try TestProcesses.run("/usr/bin/openssl", args)
            XCTAssertEqual(r.status, 0, "openssl \(args.joined(separator: " ")): \(r.stderr)")
        }
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", work + "/bob.key"])
        try openssl(["pkcs8", "-topk8", "-nocrypt", "-in", work + "/bob.key", "-out", work + "/bob.p8"])
        try openssl(["req", "-new", "-x509", "-key", work + "/bob.key", "-subj", "/CN=bob", "-days", "30", "-out", work + "/bob.crt"])
        let text = try TestProcesses.run("/usr/bin/openssl", ["x509", "-in", work + "/bob.crt", "-noout", "-text"]).stdout
        XCTAssertTrue(text.contains("CA:TRUE"), "the certificate is marked as a CA: \(text)")
        try notaryCLI(["key", "import", work + "/bob.p8", "--role", "bob"])
        try notaryCLI(["delegation", "add", gun, "targets/releases", work + "/bob.crt", "--all-paths"])
        try notaryCLI(["publish", gun])
        // A delegation listed but not (yet) loaded is among the roles, with its keys and no version.
        let early = try json(try signet(["dct", "inspect", gun, "--json", "--root", work + "/notary-trust/tuf/\(gun)/metadata/root.json"] + dctSource, home: "early"))
        let releasesRole = ((early["roles"] as? [[String: Any]]) ?? []).first { $0["role"] as? String == "targets/releases" }
        XCTAssertNotNil(releasesRole, "\(early)")
        XCTAssertEqual((releasesRole?["keyIDs"] as? [String])?.count, 1)
        try notaryCLI(["addhash", gun, "v1", "\(v1.size)", "--sha256", String(v1.digest.dropFirst(7)), "-r", "targets/releases"])
        try notaryCLI(["publish", gun])
        let rootFile = work + "/notary-trust/tuf/\(gun)/metadata/root.json"
        let verified = try signet(["dct", "verify", "\(gun):v1", "--root", rootFile] + dctSource, home: "ca-client")
        XCTAssertEqual(verified.stdout, "\(gun)@\(v1.digest)\n")
        XCTAssertFalse(verified.stderr.contains("skipped"), verified.stderr)
        // Without --notary-ca-file, the server's CA is taken from Docker's per-host directory, as the
        // Docker CLI takes it (~/.docker/tls/HOST:PORT/*.crt); without either, TLS fails.
        let serverOnly = ["--server", notary.url]
        let noCA = try signet(["dct", "verify", "\(gun):v1", "--root", rootFile] + serverOnly, home: "ca-client", expect: 3)
        XCTAssertTrue(noCA.stderr.lowercased().contains("certificate") || noCA.stderr.contains("TLS"), noCA.stderr)
        let hostDirectory = work + "/docker-config/tls/" + String(notary.url.dropFirst("https://".count))
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: notary.caFile, toPath: hostDirectory + "/ca.crt")
        // A file there that is not PEM certificates is left out, as Docker leaves it out.
        try Data("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: hostDirectory + "/zz-broken.crt"))
        let withDockerCA = try signet(["dct", "verify", "\(gun):v1", "--root", rootFile] + serverOnly, home: "ca-client", env: ["DOCKER_CONFIG": work + "/docker-config"])
        XCTAssertEqual(withDockerCA.stdout, "\(gun)@\(v1.digest)\n")
        // A name the server holds nothing for is said in Notary's terms.
        let unknown = try signet(["dct", "inspect", registry.address + "/library/none", "--trust-on-first-use"] + dctSource, home: "ca-client", expect: 1)
        XCTAssertTrue(unknown.stderr.contains("no Docker Content Trust data for") && !unknown.stderr.contains("_tuf"), unknown.stderr)
        // Migrated, the signer (only in targets/releases, as the notary CLI made it) keeps the name its
        // key file gives it, for policies to name.
        try signet(["key", "import", work + "/notary-trust"], home: "owner", env: notaryEnv)
        let report = try json(try signet(["dct", "import", gun, "--json", "--root", rootFile] + dctSource, home: "owner"))
        XCTAssertEqual(((report["signersAdded"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }, ["bob"], "\(report)")
        XCTAssertEqual(Set(((report["imported"] as? [[String: Any]]) ?? []).compactMap { $0["tag"] as? String }), ["v1"])
    }

    /// Every file the server serves now for the GUN, by the names clients ask for.
    func notaryFiles() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for role in ["root", "timestamp", "snapshot", "targets", "targets/releases", "targets/alice"] {
            let r = try TestProcesses.run("/usr/bin/curl", ["-fsS", "--cacert", notary.caFile, "\(notary.url)/v2/\(gun)/_trust/tuf/\(role).json"])
            if r.status == 0 { out[role] = Array(r.stdout.utf8) }
        }
        return out
    }
}

/// Migration at scale: a Docker Content Trust repository with 1 000 signed tags moves into
/// registry-native trust, survives an interruption, and changes nothing when run again.
final class DCTMigrationTests: TrustTestCase {
    func testAThousandTagsMoveWithTheirDigestsAndReRunsChangeNothing() throws {
        let notary = try NotaryStack()
        let gun = "\(registry.address)/library/many"
        let env = ["NOTARY_ROOT_PASSPHRASE": "root-pw", "NOTARY_TARGETS_PASSPHRASE": "targets-pw",
                   "NOTARY_SNAPSHOT_PASSPHRASE": "snapshot-pw", "NOTARY_DELEGATION_PASSPHRASE": "delegation-pw"]
        func notaryCLI(_ args: [String], input: String? = nil) throws {
            let r = try TestProcesses.run("/usr/bin/notary", ["-s", notary.url, "-d", work + "/notary-trust", "--tlscacert", notary.caFile] + args,
                                          environment: env, input: input)
            XCTAssertEqual(r.status, 0, "notary \(args.joined(separator: " ")): \(r.stderr)")
        }
        // 1 000 manifests in the registry (one config and layer, a different annotation each), tagged.
        let base = try image("base", message: "base")
        try signet(["push", base, gun + ":base", "--unsigned"])
        let client = try registryClient()
        let template = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try manifestBytes("base", repository: "library/many"))) as? [String: Any])
        var digests: [String: (String, Int)] = [:]
        for i in 0..<1000 {
            var m = template
            m["annotations"] = ["org.example.build": "\(i)"]
            let bytes = [UInt8](try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]))
            let d = try client.putManifest(repository: "library/many", reference: "t\(i)", bytes: bytes, mediaType: MediaType.ociManifest)
            digests["t\(i)"] = (d.ociString, bytes.count)
        }
        // Docker Content Trust: a releases signer signs all of them, in one publish.
        try notaryCLI(["init", gun])
        try notaryCLI(["key", "rotate", gun, "snapshot", "-r"])
        try notaryCLI(["key", "generate", "ecdsa", "--role", "signer", "-o", work + "/signer"])
        let headerless = try String(contentsOfFile: work + "/signer-key.pem", encoding: .utf8).split(separator: "\n")
            .filter { !$0.isEmpty && !($0.contains(": ") && !$0.hasPrefix("-")) }.joined(separator: "\n") + "\n"
        try Data(headerless.utf8).write(to: URL(fileURLWithPath: work + "/signer-bare.pem"))
        let plain = try TestProcesses.run("/usr/bin/openssl", ["pkcs8", "-in", work + "/signer-bare.pem", "-passin", "env:NOTARY_DELEGATION_PASSPHRASE",
                                                               "-out", work + "/signer-plain.pem"], environment: env)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        try notaryCLI(["key", "import", work + "/signer-plain.pem", "--role", "signer"])
        try notaryCLI(["delegation", "add", gun, "targets/releases", work + "/signer.pem", "--all-paths"])
        try notaryCLI(["publish", gun])
        // The first tags go through `notary addhash`; the rest are written as the same changelist entries
        // addhash writes (one JSON file each), which `notary publish` then signs and publishes: 1 000
        // addhash processes would take a minute of the suite.
        let sorted = digests.sorted { $0.key < $1.key }
        for (tag, (digest, size)) in sorted.prefix(10) {
            try notaryCLI(["addhash", gun, tag, "\(size)", "--sha256", String(digest.dropFirst(7)), "-r", "targets/releases"])
        }
        let changelist = work + "/notary-trust/tuf/\(gun)/changelist"
        var clock = UInt64(Date().timeIntervalSince1970 * 1e9)
        for (tag, (digest, size)) in sorted.dropFirst(10) {
            let hash = Base64.encode(try XCTUnwrap(Hex.decode(String(digest.dropFirst(7)))))
            let data = Base64.encode(Array("{\"length\":\(size),\"hashes\":{\"sha256\":\"\(hash)\"}}".utf8))
            let change = "{\"action\":\"create\",\"role\":\"targets/releases\",\"type\":\"target\",\"path\":\"\(tag)\",\"data\":\"\(data)\"}"
            clock += 1000
            let name = String(repeating: "0", count: max(0, 20 - String(clock).count)) + "\(clock)_\(UUID().uuidString.lowercased()).change"
            try Data(change.utf8).write(to: URL(fileURLWithPath: changelist + "/" + name))
        }
        try notaryCLI(["publish", gun])
        let rootFile = work + "/notary-trust/tuf/\(gun)/metadata/root.json"
        try signet(["key", "import", work + "/notary-trust"], env: env)
        let dct = ["--server", notary.url, "--notary-ca-file", notary.caFile, "--root", rootFile]

        // Interrupted just before the trust tag moves: nothing is published.
        try signet(["dct", "import", gun] + dct, env: ["SIGNET_FAULT_INJECT": "before-trust-tag"], expect: 70)
        XCTAssertNil(try? manifestBytes("_tuf", repository: "library/many"))
        // Run again: every tag, every digest.
        let report = try json(try signet(["dct", "import", gun, "--json"] + dct))
        XCTAssertEqual(((report["imported"] as? [[String: Any]]) ?? []).count, 1000)
        // The DCT releases signer signs in Signet too, named after the role its key file gives
        // (`notary key import --role signer`).
        XCTAssertEqual(((report["signersAdded"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }, ["signer"])
        let newRoot = try XCTUnwrap(report["rootFile"] as? String)
        // A fresh client pinned to the new root verifies every tag as `signet verify` does.
        let trust = RegistryTrust(reference: try ImageReference(parsing: gun), client: client, options: TrustOptions(home: work + "/home-fresh"))
        let state = try trust.refresh(try RootChoice.file(newRoot))
        for (tag, (digest, _)) in digests {
            XCTAssertEqual(try trust.verifyTag(tag, state: state).target.digest.ociString, digest, tag)
        }
        XCTAssertEqual(try signet(["verify", gun + ":t999", "--root", newRoot], home: "fresh-cli").stdout, "\(gun)@\(try XCTUnwrap(digests["t999"]).0)\n")
        // Interrupted again, and run again: the same end state.
        let index = try manifestBytes("_tuf", repository: "library/many")
        try signet(["dct", "import", gun] + dct, env: ["SIGNET_FAULT_INJECT": "before-trust-tag"])
        let again = try json(try signet(["dct", "import", gun, "--json"] + dct))
        XCTAssertEqual(((again["unchanged"] as? [[String: Any]]) ?? []).count, 1000)
        XCTAssertEqual(((again["imported"] as? [[String: Any]]) ?? []).count, 0)
        XCTAssertEqual(try manifestBytes("_tuf", repository: "library/many"), index, "nothing was published again")
    }
}
