import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI
import SignetTestSupport
import SignetTrust
import XCTest

/// Shared set-up for content-trust tests: a real docker-registry on 127.0.0.1, the `signet` executable
/// with a key store per "machine" (`home`), and the registry's API for playing the attacker.
class TrustTestCase: XCTestCase {
    var work = ""
    var registry: TestRegistry!
    var repo = ""

    override func setUpWithError() throws {
        work = try TestProcesses.temporaryDirectory("signet-e2e")
        registry = try TestRegistry()
        repo = "\(registry.address)/team/app"
    }

    override func tearDown() {
        registry = nil
        try? FileManager.default.removeItem(atPath: work)
    }

    /// Runs `signet` with a key store under `work/home-NAME`.
    @discardableResult
    func signet(_ args: [String], home: String = "owner", env: [String: String] = [:], expect status: Int32? = 0,
                file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        var environment = ["SIGNET_HOME": work + "/home-" + home, "SIGNET_ROOT_PASSPHRASE": "root pass",
                           "SIGNET_KEY_PASSPHRASE": "key pass", "SIGNET_UNSAFE_TEST_KDF": "1",
                           "DOCKER_CONFIG": work + "/no-docker-config"]
        environment.merge(env) { $1 }
        // SIGNET_UNDER_TEST runs another build of signet (for example an older release) against these tests.
        let binary = ProcessInfo.processInfo.environment["SIGNET_UNDER_TEST"] ?? TestProcesses.product("signet")
        let r = try TestProcesses.run(binary, args, environment: environment, currentDirectory: work)
        if let status {
            XCTAssertEqual(r.status, status, "signet \(args.joined(separator: " ")):\nstdout: \(r.stdout)\nstderr: \(r.stderr)", file: file, line: line)
        }
        return r
    }

    func image(_ name: String, message: String, platforms: String = "") throws -> String {
        let dir = work + "/" + name
        var args = [TestProcesses.packageRoot.appendingPathComponent("scripts/lib/make-oci-image.py").path, dir, "--message", message]
        if !platforms.isEmpty { args += ["--platforms", platforms] }
        let r = try TestProcesses.run("/usr/bin/env", ["python3"] + args)
        XCTAssertEqual(r.status, 0, r.stderr)
        return dir
    }

    func json(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            XCTFail("not a JSON object on stdout: \(r.stdout)\nstderr: \(r.stderr)", file: file, line: line)
            throw XCTSkip("no JSON")
        }
        return object
    }

    /// trust init + signed push of v1; returns (root file, pushed digest).
    func setUpSignedRepository() throws -> (String, String) {
        let initResult = try json(try signet(["trust", "init", repo, "--json"]))
        let rootFile = try XCTUnwrap(initResult["rootFile"] as? String)
        let pushed = try signet(["push", try image("img1", message: "one"), repo + ":v1"])
        let digest = pushed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(digest.hasPrefix("sha256:"), pushed.stdout)
        XCTAssertTrue(pushed.stderr.contains("signed v1"), pushed.stderr)
        return (rootFile, digest)
    }


    // MARK: The attacker's tools: the registry's own API, no signing keys.

    /// A registry client for the test registry (anonymous, plain HTTP on loopback).
    func registryClient(_ address: String? = nil) throws -> RegistryClient {
        RegistryClient(endpoint: RegistryEndpoint(registry: address ?? registry.address), transport: try CurlTransport())
    }

    /// The files a trust index lists (`_tuf` unless another tag is given), by title.
    func indexFiles(repository: String = "team/app", tag: String = "_tuf", client: RegistryClient? = nil) throws -> [String: Descriptor] {
        let c = try client ?? registryClient()
        let fetched = try c.fetchManifest(repository: repository, reference: tag, what: "index")
        return try TrustIndex(manifestBytes: fetched.bytes).files
    }

    /// A blob's bytes.
    func blob(_ d: Descriptor, repository: String = "team/app", client: RegistryClient? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        try (try client ?? registryClient()).fetchBlob(repository: repository, descriptor: d, what: "blob", restart: { out.removeAll() }) { out.append(contentsOf: $0) }
        return out
    }

    /// Uploads `bytes` as a blob and returns its descriptor (titled `title`).
    func upload(_ bytes: [UInt8], repository: String = "team/app", title: String? = nil, client: RegistryClient? = nil) throws -> Descriptor {
        var annotations: JSONObject?
        if let title { var a = JSONObject(); a[TrustIndex.titleAnnotation] = .string(title); annotations = a }
        let d = Descriptor(mediaType: TrustIndex.metadataMediaType, digest: try SHA256.hash(bytes), size: Int64(bytes.count), annotations: annotations)
        _ = try (try client ?? registryClient()).uploadBlob(repository: repository, descriptor: d, source: .bytes(bytes))
        return d
    }

    /// Publishes an index listing `layers` (descriptors with titles) under `tag`, as anyone with write
    /// access to the registry can.
    func putIndex(repository: String = "team/app", layers: [Descriptor], tag: String = "_tuf", client: RegistryClient? = nil) throws {
        let c = try client ?? registryClient()
        let empty = Descriptor(mediaType: TrustIndex.emptyMediaType, digest: try SHA256.hash(TrustIndex.emptyBlob), size: 2)
        _ = try c.uploadBlob(repository: repository, descriptor: empty, source: .bytes(TrustIndex.emptyBlob))
        var manifest = JSONObject()
        manifest["schemaVersion"] = .integer(2)
        manifest["mediaType"] = .string(MediaType.ociManifest)
        manifest["artifactType"] = .string(TrustIndex.artifactType)
        manifest["config"] = empty.jsonValue
        manifest["layers"] = .array(layers.map(\.jsonValue))
        let bytes = try CanonicalJSON.encode(.object(manifest))
        try c.putManifest(repository: repository, reference: tag, bytes: bytes, mediaType: MediaType.ociManifest)
    }

    /// Re-publishes a set of metadata files (title → bytes) as the trust index under `tag`.
    func putFiles(_ files: [(String, [UInt8])], repository: String = "team/app", tag: String = "_tuf", client: RegistryClient? = nil) throws {
        var layers: [Descriptor] = []
        for (title, bytes) in files { layers.append(try upload(bytes, repository: repository, title: title, client: client)) }
        try putIndex(repository: repository, layers: layers, tag: tag, client: client)
    }

    /// The raw manifest bytes under a tag.
    func manifestBytes(_ reference: String, repository: String = "team/app", client: RegistryClient? = nil) throws -> [UInt8] {
        try (try client ?? registryClient()).fetchManifest(repository: repository, reference: reference, what: "manifest").bytes
    }

    /// Puts raw manifest bytes under a tag (or digest).
    func putManifest(_ reference: String, _ bytes: [UInt8], repository: String = "team/app", mediaType: String = MediaType.ociManifest) throws {
        try registryClient().putManifest(repository: repository, reference: reference, bytes: bytes, mediaType: mediaType)
    }

    /// Copies a key store (the keys only) to another home.
    func copyKeys(from: String, to: String) throws {
        let source = work + "/home-" + from + "/keys", target = work + "/home-" + to + "/keys"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + entry, toPath: target + "/" + entry)
        }
    }

    /// A new key in the key store of `home`, exported as a PEM public key file; returns its path.
    func exportNewKey(home: String) throws -> String {
        let k = try json(try signet(["key", "generate", "--json"], home: home))
        let pem = try signet(["key", "export", try XCTUnwrap(k["keyID"] as? String)], home: home)
        let path = work + "/\(home).pem"
        try Data(pem.stdout.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Whether any root is pinned under a home.
    func pinnedRoots(home: String) -> [String] {
        (FileManager.default.enumerator(atPath: work + "/home-" + home)?.allObjects as? [String] ?? []).filter { $0.hasSuffix("/root.json") && !$0.contains("/roots/") }
    }
}
