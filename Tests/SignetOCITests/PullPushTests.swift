import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI
import XCTest

/// Push and verified pull against a real docker-registry (plain HTTP, loopback).
final class PullPushTests: XCTestCase {
    var registries: Registries!
    var scratch: String!

    override func setUpWithError() throws {
        registries = try Registries.get()
        scratch = try Paths.temporaryDirectory("signet-oci-pullpush")
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    func testPushThenPullRoundTripAndReuse() throws {
        let image = TestImage(layerCount: 3, layerSize: 200_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, name: "v1", at: source)
        let destination = try ImageReference(parsing: "\(registries.plain)/roundtrip/app:v1")
        let client = try makeClient(registries.plain)

        let pushed = try ImagePusher(client: client).push(layoutPath: source, to: destination)
        XCTAssertEqual(pushed.manifest.digest, image.digest)
        XCTAssertEqual(pushed.blobs.map(\.outcome), [.uploaded, .uploaded, .uploaded, .uploaded])
        XCTAssertEqual(pushed.reference.description, "\(registries.plain)/roundtrip/app:v1@\(image.digest)")
        let again = try ImagePusher(client: client).push(layoutPath: source, to: destination)
        XCTAssertEqual(again.blobs.map(\.outcome), [.alreadyPresent, .alreadyPresent, .alreadyPresent, .alreadyPresent])

        let events = EventLog()
        let output = scratch + "/pulled"
        let result = try ImagePuller(client: client, progress: events.record)
            .pull(destination, trust: .digest(image.digest, size: Int64(image.manifest.count)), to: .layout(output))
        XCTAssertEqual(result.manifest.digest, image.digest)
        XCTAssertTrue(result.tagVerified)
        XCTAssertEqual(result.blobs.map(\.reused), [false, false, false, false])
        XCTAssertEqual(result.images.first?.platform?.description, "linux/amd64")
        XCTAssertEqual(result.bytesDownloaded, Int64(image.config.count + 600_000))
        let present = try verifiedLayoutContents(output)
        XCTAssertEqual(present, Set(image.blobs.map { $0.0.ociString } + [image.digest.ociString]))
        for (digest, bytes) in image.blobs {
            XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: output + "/blobs/sha256/" + digest.hex))), bytes)
        }
        let index = try OCILayout(existingAt: output).readIndex()
        XCTAssertEqual(index.count, 1)
        XCTAssertEqual(index.first?.digest, image.digest)
        XCTAssertEqual(index.first?.annotation(Descriptor.refNameAnnotation), "v1")
        XCTAssertEqual(events.finished.sorted(), image.blobs.map { $0.0.ociString }.sorted())
        XCTAssertEqual(events.plannedBytes, Int64(image.config.count + 600_000))

        // A second pull reuses every (re-verified) blob; a corrupted local blob is fetched again.
        let reused = try ImagePuller(client: client).pull(destination, trust: .digest(image.digest, size: nil), to: .layout(output))
        XCTAssertEqual(reused.blobs.map(\.reused), [true, true, true, true])
        XCTAssertEqual(reused.bytesDownloaded, 0)
        let victim = output + "/blobs/sha256/" + image.layerDescriptors[1].digest.hex
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let repaired = try ImagePuller(client: client).pull(destination, trust: .digest(image.digest, size: nil), to: .layout(output))
        XCTAssertEqual(repaired.blobs.map(\.reused), [true, true, false, true])
        XCTAssertEqual(try verifiedLayoutContents(output).count, 5)
        XCTAssertEqual(try OCILayout(existingAt: output).readIndex().count, 1, "same ref.name replaces the entry")
    }

    func testVerifyOnlyStoresNothing() throws {
        let image = TestImage(layerCount: 2, layerSize: 50_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let reference = try ImageReference(parsing: "\(registries.plain)/verifyonly/app:latest")
        let client = try makeClient(registries.plain)
        _ = try ImagePusher(client: client).push(layoutPath: source, to: reference)
        let result = try ImagePuller(client: client).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)
        XCTAssertEqual(result.blobs.count, 3)
        XCTAssertNil(result.indexEntry)
        XCTAssertEqual(result.bytesDownloaded, Int64(image.config.count + 100_000))
    }

    func testPullByUnverifiedTagStillVerifiesBlobs() throws {
        let image = TestImage(layerCount: 1, layerSize: 1000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let reference = try ImageReference(parsing: "\(registries.plain)/unsafe/app:v9")
        let client = try makeClient(registries.plain)
        _ = try ImagePusher(client: client).push(layoutPath: source, to: reference)
        let result = try ImagePuller(client: client).pull(reference, trust: .unsafeUnverifiedTag, to: .layout(scratch + "/out"))
        XCTAssertFalse(result.tagVerified)
        XCTAssertEqual(result.manifest.digest, image.digest)
        XCTAssertEqual(result.reference.digest, image.digest)
        // A digest in the reference must agree with the trusted digest.
        XCTAssertThrowsError(try ImagePuller(client: client).pull(reference.with(digest: sha256([1])), trust: .digest(image.digest, size: nil),
                                                                   to: .verifyOnly)) { error in
            XCTAssertTrue((error as? OCIError)?.isUsageError ?? false, "\(error)")
        }
    }

    func testChunkedUploadAndCrossRepositoryMount() throws {
        let image = TestImage(layerCount: 2, layerSize: 300_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        var options = RegistryClientOptions()
        options.monolithicUploadLimit = 100_000
        options.uploadChunkSize = 64 * 1024
        let chunked = try makeClient(registries.plain, options: options)
        let first = try ImageReference(parsing: "\(registries.plain)/chunked/a:v1")
        let pushed = try ImagePusher(client: chunked).push(layoutPath: source, to: first)
        XCTAssertEqual(pushed.blobs.map(\.outcome), [.uploaded, .uploaded, .uploaded])
        _ = try ImagePuller(client: chunked).pull(first, trust: .digest(image.digest, size: nil), to: .verifyOnly)

        let second = try ImageReference(parsing: "\(registries.plain)/chunked/b:v1")
        let mounted = try ImagePusher(client: chunked).push(layoutPath: source, to: second,
                                                            options: PushOptions(mountFrom: ["chunked/a"]))
        XCTAssertEqual(mounted.blobs.map(\.outcome), [.mounted, .mounted, .mounted])
        _ = try ImagePuller(client: chunked).pull(second, trust: .digest(image.digest, size: nil), to: .verifyOnly)
    }

    func testTagListingFollowsLinkPagination() throws {
        let image = TestImage(layerCount: 1, layerSize: 100)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, at: source)
        let client = try makeClient(registries.plain)
        let tags = ["t1", "t2", "t3", "t4", "t5"]
        for tag in tags {
            _ = try ImagePusher(client: client).push(layoutPath: source, to: try ImageReference(parsing: "\(registries.plain)/tags/app:\(tag)"))
        }
        XCTAssertEqual(try client.listTags(repository: "tags/app", pageSize: 2).sorted(), tags)
        XCTAssertThrowsError(try client.listTags(repository: "tags/app", pageSize: 1, maxTags: 3)) { error in
            guard case OCIError.tooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try client.listTags(repository: "tags/nothing-here")) { error in
            guard case OCIError.notFound = error else { return XCTFail("\(error)") }
        }
        let head = try client.headManifest(repository: "tags/app", reference: "t3")
        XCTAssertEqual(head?.claimedDigest, image.digest.ociString)
        XCTAssertNil(try client.headManifest(repository: "tags/app", reference: "missing"))
    }

    func testIndexPullsSelectedPlatformOrAll() throws {
        let amd64 = TestImage(layerCount: 2, layerSize: 20_000, platform: Platform(os: "linux", architecture: "amd64"))
        let arm64 = TestImage(layerCount: 2, layerSize: 20_000, platform: Platform(os: "linux", architecture: "arm64", variant: "v8"))
        let index = TestIndex(images: [amd64, arm64])
        let source = scratch + "/source"
        try LayoutWriter.layout(index, name: "multi", at: source)
        let reference = try ImageReference(parsing: "\(registries.plain)/multi/app:multi")
        let client = try makeClient(registries.plain)
        let pushed = try ImagePusher(client: client).push(layoutPath: source, to: reference)
        XCTAssertEqual(pushed.manifest.digest, index.digest)
        XCTAssertEqual(pushed.childManifests.map(\.digest), [amd64.digest, arm64.digest])

        let armOut = scratch + "/arm"
        let arm = try ImagePuller(client: client).pull(reference, trust: .digest(index.digest, size: nil), to: .layout(armOut),
                                                       options: PullOptions(platforms: .platform(try Platform(parsing: "linux/arm64"))))
        XCTAssertEqual(arm.manifest.digest, index.digest)
        XCTAssertEqual(arm.images.map(\.digest), [arm64.digest])
        XCTAssertEqual(arm.images.first?.platform?.description, "linux/arm64/v8")
        XCTAssertEqual(try verifiedLayoutContents(armOut), Set(arm64.blobs.map { $0.0.ociString } + [arm64.digest.ociString]))
        let armEntry = try OCILayout(existingAt: armOut).readIndex()
        XCTAssertEqual(armEntry.first?.digest, arm64.digest)
        XCTAssertEqual(armEntry.first?.platform?.architecture, "arm64")
        XCTAssertEqual(armEntry.first?.annotation(Descriptor.refNameAnnotation), "multi")

        let host = try ImagePuller(client: client).pull(reference, trust: .digest(index.digest, size: nil), to: .verifyOnly)
        XCTAssertEqual(host.images.map(\.digest), [amd64.digest], "the default is the host platform (linux/amd64 here)")

        let allOut = scratch + "/all"
        let all = try ImagePuller(client: client).pull(reference, trust: .digest(index.digest, size: nil), to: .layout(allOut),
                                                       options: PullOptions(platforms: .all))
        XCTAssertEqual(all.images.map(\.digest), [amd64.digest, arm64.digest])
        XCTAssertEqual(try verifiedLayoutContents(allOut),
                       Set((amd64.blobs + arm64.blobs).map { $0.0.ociString } + [amd64.digest, arm64.digest, index.digest].map(\.ociString)))
        XCTAssertEqual(try OCILayout(existingAt: allOut).readIndex().first?.digest, index.digest)

        XCTAssertThrowsError(try ImagePuller(client: client).pull(reference, trust: .digest(index.digest, size: nil), to: .verifyOnly,
                                                                   options: PullOptions(platforms: .platform(try Platform(parsing: "linux/s390x"))))) { error in
            guard case OCIError.platformNotFound(let requested, let available) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(requested, "linux/s390x")
            XCTAssertEqual(available, ["linux/amd64", "linux/arm64/v8"])
        }
        // The pulled all-platform layout pushes back as the same index.
        let copy = try ImageReference(parsing: "\(registries.plain)/multi/copy:multi")
        XCTAssertEqual(try ImagePusher(client: client).push(layoutPath: allOut, to: copy).manifest.digest, index.digest)
    }
}

/// Collects transfer events from several threads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var finishedDigests: [String] = []
    private var planned: Int64 = -1

    var record: @Sendable (TransferEvent) -> Void {
        { [self] event in
            self.lock.lock()
            defer { self.lock.unlock() }
            switch event {
            case .plan(_, let bytes): self.planned = bytes
            case .finished(let digest, _): self.finishedDigests.append(digest.ociString)
            default: break
            }
        }
    }

    var finished: [String] {
        lock.lock()
        defer { lock.unlock() }
        return finishedDigests
    }

    var plannedBytes: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return planned
    }
}
