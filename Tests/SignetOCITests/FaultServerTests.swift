import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import XCTest

/// Network faults from `scripts/oci-fault-server.py`: redirects to another host, 5xx answers,
/// connection resets, truncated and oversized bodies, and parallel layer fetching.
final class FaultServerTests: XCTestCase {
    var scratch: String!
    var image: TestImage!
    var server: FaultServer!

    override func setUpWithError() throws {
        scratch = try Paths.temporaryDirectory("signet-oci-faultserver")
        image = TestImage(layerCount: 3, layerSize: 300_000)
        try LayoutWriter.layout(image, name: "v1", at: scratch + "/layout")
        server = try FaultServer(layout: scratch + "/layout")
    }

    override func tearDown() {
        server?.stop()
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    private var reference: ImageReference {
        get throws { try ImageReference(parsing: "\(server.registry)/fault/app:v1") }
    }

    private var victim: Digest { image.layerDescriptors[1].digest }

    private func fault(_ kind: String, times: Int = -1, extra: [(String, JSONValue)] = []) -> JSONValue {
        var object: JSONObject = ["path": .string("/blobs/\(victim)"), "kind": .string(kind), "times": .integer(Int64(times))]
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// Pulls into a fresh layout; on failure checks that only verified blobs were stored.
    private func pull(_ client: RegistryClient) throws -> Result<PullResult, OCIError> {
        let output = scratch + "/out-\(UUID().uuidString.prefix(6))"
        do {
            return .success(try ImagePuller(client: client).pull(try reference, trust: .digest(image.digest, size: nil), to: .layout(output)))
        } catch let error as OCIError {
            if FileManager.default.fileExists(atPath: output) {
                XCTAssertFalse(try verifiedLayoutContents(output).contains(victim.ociString))
            }
            return .failure(error)
        }
    }

    private func blobGets(_ digest: Digest) throws -> Int {
        try server.requests().filter { $0["method"]?.stringValue == "GET" && ($0["path"]?.stringValue ?? "").hasSuffix("/blobs/\(digest)") }.count
    }

    func testRedirectToAnotherHostDropsCredentials() throws {
        let other = try FaultServer(layout: scratch + "/layout", host: "127.0.0.2")
        defer { other.stop() }
        try other.configure()
        try server.configure(auth: "alice:s3cret", faults: [
            ["path": "/blobs/", "kind": "redirect", "target": .string(other.base)],
        ])
        let client = try makeClient(server.registry, credentials: StaticCredentials(.basic(username: "alice", password: SecretBytes(utf8: "s3cret"))))
        let result = try pull(client).get()
        XCTAssertEqual(result.blobs.count, 4)

        let redirected = try other.requests().filter { ($0["path"]?.stringValue ?? "").contains("/blobs/") }
        XCTAssertEqual(redirected.count, 4, "every blob was served by the other host")
        for request in redirected {
            XCTAssertNil(request["headers"]?["authorization"], "credentials leaked to \(other.host): \(request)")
        }
        let original = try server.requests().filter { ($0["path"]?.stringValue ?? "").contains("/blobs/") }
        XCTAssertFalse(original.isEmpty)
        XCTAssertTrue(original.allSatisfy { $0["headers"]?["authorization"]?.stringValue?.hasPrefix("Basic ") == true })
    }

    /// A host a redirect leads to answers 401 with a token realm of its own choosing: the registry's
    /// credentials must not go there (nor to any other host), and the pull fails saying why.
    func testARedirectTargetsChallengeNeverReceivesTheRegistrysCredentials() throws {
        let cdn = try FaultServer(layout: scratch + "/layout", host: "127.0.0.2")
        defer { cdn.stop() }
        let collector = try FaultServer(layout: scratch + "/layout", host: "127.0.0.3")
        defer { collector.stop() }
        try collector.configure()
        try cdn.configure(faults: [
            ["path": "/blobs/", "kind": "status", "status": 401,
             "headers": ["WWW-Authenticate": .string("Bearer realm=\"\(collector.base)/v2/steal\",service=\"x\"")]],
        ])
        try server.configure(auth: "alice:s3cret", faults: [
            ["path": "/blobs/", "kind": "redirect", "target": .string(cdn.base)],
        ])
        let client = try makeClient(server.registry, credentials: StaticCredentials(.basic(username: "alice", password: SecretBytes(utf8: "s3cret"))))
        guard case .failure(let error) = try pull(client) else { return XCTFail("the pull succeeded") }
        XCTAssertTrue("\(error)".contains("never sent to another host"), "\(error)")
        let stolen = try collector.requests()
        XCTAssertEqual(stolen.count, 0, "the redirect target's realm was asked for a token: \(stolen)")
        for request in try cdn.requests() {
            XCTAssertNil(request["headers"]?["authorization"], "credentials leaked to \(cdn.host): \(request)")
        }
        // The same through the API version check (`GET /v2/`), which learns how to authenticate.
        try cdn.configure(faults: [
            ["path": "/v2/", "kind": "status", "status": 401,
             "headers": ["WWW-Authenticate": .string("Bearer realm=\"\(collector.base)/v2/steal\",service=\"x\"")]],
        ])
        try server.configure(faults: [["path": "/v2/", "kind": "redirect", "target": .string(cdn.base)]])
        let fresh = try makeClient(server.registry, credentials: StaticCredentials(.basic(username: "alice", password: SecretBytes(utf8: "s3cret"))))
        guard case .failure(let probeError) = try pull(fresh) else { return XCTFail("the pull succeeded") }
        XCTAssertTrue("\(probeError)".contains("never sent to another host"), "\(probeError)")
        let stolenAtProbe = try collector.requests()
        XCTAssertEqual(stolenAtProbe.count, 0, "the redirect target's realm was asked for a token: \(stolenAtProbe)")
    }

    func testServerErrorsAreRetriedWithBackoff() throws {
        try server.configure(faults: [fault("status", times: 2, extra: [("status", 503)])])
        let sleeps = SleepRecorder()
        let result = try pull(try makeClient(server.registry, retry: sleeps.policy)).get()
        XCTAssertEqual(result.blobs.count, 4)
        XCTAssertEqual(sleeps.delays, [0.2, 0.4], "200 ms × 2^n between the three attempts")
        XCTAssertEqual(try blobGets(victim), 3)

        // Manifests too: one 500, then the answer.
        try server.configure(faults: [["path": "/manifests/", "kind": "status", "status": 500, "times": 1]])
        let again = SleepRecorder()
        XCTAssertEqual(try pull(try makeClient(server.registry, retry: again.policy)).get().manifest.digest, image.digest)
        XCTAssertEqual(again.delays, [0.2])
    }

    func testPersistentServerErrorFailsAfterThreeAttempts() throws {
        try server.configure(faults: [fault("status", extra: [("status", 502)])])
        let sleeps = SleepRecorder()
        guard case .failure(let error) = try pull(try makeClient(server.registry, retry: sleeps.policy)) else {
            return XCTFail("the pull should fail")
        }
        guard case .registry(let what, 502, let code, _) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.contains(victim.ociString), what)
        XCTAssertEqual(code, "FAULT")
        XCTAssertTrue(error.isRegistryFailure)
        XCTAssertEqual(sleeps.delays, [0.2, 0.4])
        XCTAssertEqual(try blobGets(victim), 3)
    }

    func testConnectionResetsAreRetried() throws {
        try server.configure(faults: [fault("reset", times: 1)])
        XCTAssertEqual(try pull(try makeClient(server.registry)).get().blobs.count, 4)

        try server.configure(faults: [fault("reset")])
        guard case .failure(let error) = try pull(try makeClient(server.registry)) else { return XCTFail("the pull should fail") }
        guard case .network(_, _, let attempts) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(attempts, 3)
        XCTAssertTrue("\(error)".contains("after 3 attempts"), "\(error)")
    }

    func testTruncatedBodies() throws {
        // Truncated once: the retry starts the blob again from zero.
        try server.configure(faults: [fault("truncate", times: 1)])
        let recovered = try pull(try makeClient(server.registry)).get()
        XCTAssertEqual(recovered.blobs.map(\.reused), [false, false, false, false])
        XCTAssertEqual(try blobGets(victim), 2)

        // Connection closed before Content-Length bytes: a broken transfer, retried, then an error.
        try server.configure(faults: [fault("truncate")])
        guard case .failure(let truncated) = try pull(try makeClient(server.registry)) else { return XCTFail("the pull should fail") }
        guard case .network(_, _, 3) = truncated else { return XCTFail("\(truncated)") }
        XCTAssertEqual(try blobGets(victim), 3)

        // A well-formed but short chunked body: fewer bytes than the descriptor says.
        try server.configure(faults: [fault("short")])
        guard case .failure(let short) = try pull(try makeClient(server.registry)) else { return XCTFail("the pull should fail") }
        guard case .sizeMismatch(_, 300_000, 150_000) = short else { return XCTFail("\(short)") }
        XCTAssertTrue(short.isVerificationFailure)
    }

    func testEndlessBodyIsCutAtTheDescriptorSize() throws {
        try server.configure(faults: [fault("endless")])
        guard case .failure(let error) = try pull(try makeClient(server.registry)) else { return XCTFail("the pull should fail") }
        guard case .tooLarge(let what, 300_000) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.contains(victim.ociString), what)
    }

    func testManifestLargerThanTheCapIsRefused() throws {
        try server.configure()
        var options = RegistryClientOptions()
        options.maxManifestBytes = 64
        let client = try makeClient(server.registry, options: options)
        XCTAssertThrowsError(try ImagePuller(client: client).pull(try reference, trust: .unsafeUnverifiedTag, to: .verifyOnly)) { error in
            // The registry declares the manifest's length: refused before reading, as a declared size.
            guard case OCIError.declaredTooLarge(_, _, 64) = error else { return XCTFail("\(error)") }
        }
    }

    func testInterruptedPullLeavesOnlyVerifiedBlobs() throws {
        try server.configure(faults: [fault("slow", extra: [("pause_ms", 50)])])
        let output = scratch + "/interrupted"
        let staging = output + "/.signet-staging"
        for signal in [SIGINT, SIGKILL] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Paths.signet)
            process.arguments = ["pull", "\(try reference)@\(image.digest)", "--output", output]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until the slow layer is partly downloaded, then interrupt.
            let deadline = Date().addingTimeInterval(20)
            var partial = false
            while !partial && Date() < deadline {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
                partial = names.contains { name in
                    name.hasPrefix(victim.hex) && ((try? FileManager.default.attributesOfItem(atPath: staging + "/" + name))?[.size] as? Int ?? 0) > 0
                }
                usleep(10_000)
            }
            XCTAssertTrue(partial, "the download did not start")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            if signal == SIGINT {
                XCTAssertEqual(process.terminationStatus, 130, "Ctrl-C cancels cleanly")
                XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? [], [], "staging files removed")
            }
            // Whatever happened, blobs/ holds only verified content and the victim is absent.
            let blobs = (try? FileManager.default.contentsOfDirectory(atPath: output + "/blobs/sha256")) ?? []
            for name in blobs {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output + "/blobs/sha256/" + name)))
                XCTAssertEqual(sha256(bytes).hex, name)
            }
            XCTAssertFalse(blobs.contains(victim.hex))
            XCTAssertEqual(try OCILayout(existingAt: output).readIndex().count, 0)
        }
        // The next pull completes the layout.
        try server.configure()
        let completed = try signet(["pull", "\(try reference)@\(image.digest)", "--output", output])
        XCTAssertEqual(completed.status, 0, completed.stderr)
        XCTAssertEqual(try OCILayout(existingAt: output).readIndex().first?.digest, image.digest)
    }

    func testTwentyLayersAreFetchedInParallel() throws {
        let many = TestImage(layerCount: 20, layerSize: 4_000)
        try LayoutWriter.layout(many, name: "v1", at: scratch + "/many")
        let parallel = try FaultServer(layout: scratch + "/many")
        defer { parallel.stop() }
        try parallel.configure(delayMilliseconds: 300)
        let client = try makeClient(parallel.registry)
        let start = Date()
        let result = try ImagePuller(client: client).pull(try ImageReference(parsing: "\(parallel.registry)/many/app:v1"),
                                                          trust: .digest(many.digest, size: nil), to: .layout(scratch + "/many-out"))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(result.blobs.count, 21)
        let stats = try parallel.stats()
        XCTAssertEqual(stats.blobGets, 21)
        XCTAssertEqual(stats.maxInFlight, 4, "four blobs in flight at once (the default concurrency)")
        XCTAssertLessThan(elapsed, 21 * 0.3, "parallel fetching beats 21 sequential 300 ms answers")
    }

    // MARK: Transfers that always end

    /// A registry that drips the layer at 2 000 bytes/s (above libcurl's low-speed limit): the transfer
    /// still ends at its deadline (allowance + size at the minimum rate), naming the blob, bytes and rate.
    func testADrippingTransferEndsAtItsDeadline() throws {
        try server.configure(faults: [fault("drip", extra: [("bytes_per_second", 2000)])])
        var options = RegistryClientOptions()
        options.minimumRate = 100_000
        options.transferAllowance = 1
        let client = try makeClient(server.registry, retry: RetryPolicy(attempts: 1), options: options)
        let start = Date()
        guard case .failure(let error) = try pull(client) else { return XCTFail("the dripping pull succeeded") }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 8, "1 s + 300 000 bytes at 100 000 bytes/s, plus the other blobs")
        guard case .network(let what, .deadlineExceeded(_, let received, _), _) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.contains(victim.ociString), what)
        XCTAssertGreaterThan(received, 0)
        XCTAssertLessThan(received, 300_000)
        XCTAssertTrue(error.description.contains("bytes/s"), error.description)
    }

    /// The CLI: `--timeout` bounds the whole command (exit 3, no partial file); SIGTERM ends it within a
    /// second (exit 130, no partial file, reported as an interruption); a partial file left by SIGKILL is
    /// gone after the next pull.
    func testTimeoutsSignalsAndAbandonedPartialFiles() throws {
        try server.configure(faults: [fault("drip", extra: [("bytes_per_second", 2000)])])
        let output = scratch + "/drip"
        let staging = output + "/.signet-staging"
        let ref = "\(try reference)@\(image.digest)"
        let started = Date()
        let timedOut = try signet(["pull", ref, "--output", output, "--timeout", "2"])
        XCTAssertEqual(timedOut.status, 3, timedOut.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
        XCTAssertTrue(timedOut.stderr.contains(victim.ociString) && timedOut.stderr.contains("bytes received"), timedOut.stderr)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? [], [], "no partial file")

        func startPull() throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Paths.signet)
            process.arguments = ["pull", ref, "--output", output]
            process.environment = ["DOCKER_CONFIG": "/nonexistent-signet-test-docker-config", "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = Pipe()
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
                if names.contains(where: { $0.hasPrefix(victim.hex) && $0.hasSuffix(".partial") }) { break }
                usleep(20_000)
            }
            usleep(300_000)   // some bytes in
            return process
        }
        let terminated = try startPull()
        let signalled = Date()
        kill(terminated.processIdentifier, SIGTERM)
        terminated.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(signalled), 1.6, "SIGTERM ends the pull within a second")
        XCTAssertEqual(terminated.terminationStatus, 130)
        let stderr = String(decoding: ((terminated.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile()) ?? Data(), as: UTF8.self)
        XCTAssertTrue(stderr.contains("interrupted") && !stderr.contains("another transfer"), stderr)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? [], [], "no partial file")

        let killed = try startPull()
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []).isEmpty, "SIGKILL leaves the partial file")
        try server.configure()
        let completed = try signet(["pull", ref, "--output", output])
        XCTAssertEqual(completed.status, 0, completed.stderr)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? [], [], "the next pull removed it")
    }

    /// A `Content-Length` larger than the descriptor's size is reported as what it is.
    func testALyingContentLengthIsReportedAsSuch() throws {
        try server.configure(faults: [fault("declare-larger", extra: [("extra", 5000)])])
        guard case .failure(let error) = try pull(try makeClient(server.registry, retry: RetryPolicy(attempts: 1))) else { return XCTFail("succeeded") }
        guard case .declaredTooLarge(let what, let declared, let limit) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.contains(victim.ociString), what)
        XCTAssertEqual(declared, limit + 5000)
        XCTAssertTrue(error.description.contains("declared \(declared) bytes (Content-Length), more than the expected \(limit)"), error.description)
    }
}
