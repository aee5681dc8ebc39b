import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetOCI
import XCTest

/// Tampering inside a real registry's storage: every case is a clear verification or registry
/// error, and the output layout holds no unverified file afterwards.
final class RegistryFaultTests: XCTestCase {
    var registries: Registries!
    var scratch: String!

    override func setUpWithError() throws {
        registries = try Registries.get()
        scratch = try Paths.temporaryDirectory("signet-oci-faults")
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    /// Pushes `image` to the plain registry under `repository:v1`.
    private func push(_ image: TestImage, _ repository: String) throws -> ImageReference {
        let source = scratch + "/source-\(repository.replacingOccurrences(of: "/", with: "-"))"
        try LayoutWriter.layout(image, name: "v1", at: source)
        let reference = try ImageReference(parsing: "\(registries.plain)/\(repository):v1")
        _ = try ImagePusher(client: try makeClient(registries.plain)).push(layoutPath: source, to: reference)
        return reference
    }

    /// Pulls into a fresh layout and returns the error together with the layout's checked contents.
    private func failingPull(_ reference: ImageReference, _ digest: Digest,
                             options: PullOptions = PullOptions()) throws -> (OCIError, Set<String>, String) {
        let output = scratch + "/out-\(UUID().uuidString.prefix(6))"
        do {
            _ = try ImagePuller(client: try makeClient(registries.plain))
                .pull(reference, trust: .digest(digest, size: nil), to: .layout(output), options: options)
        } catch let error as OCIError {
            // Manifest failures happen before the layout is created.
            guard FileManager.default.fileExists(atPath: output) else { return (error, [], output) }
            let contents = try verifiedLayoutContents(output)
            XCTAssertEqual(try OCILayout(existingAt: output).readIndex().count, 0, "index.json must not name a failed image")
            return (error, contents, output)
        }
        throw HarnessError("the pull succeeded but should have failed")
    }

    func testBlobAlteredInRegistryStorage() throws {
        let image = TestImage(layerCount: 3, layerSize: 300_000)
        let reference = try push(image, "faults/altered-blob")
        let layer = image.layerDescriptors[1].digest
        let file = registries.plainBlobFile(layer)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[150_000] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let (error, contents, _) = try failingPull(reference, image.digest)
        guard case .digestMismatch(let what, let expected, let received) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(expected, layer.ociString)
        XCTAssertEqual(received, sha256(bytes).ociString)
        XCTAssertTrue(what.contains("layer \(layer)"), what)
        XCTAssertTrue(error.isVerificationFailure)
        XCTAssertFalse(contents.contains(layer.ociString))
    }

    func testManifestAlteredInRegistryStorage() throws {
        let image = TestImage(layerCount: 1, layerSize: 1000, note: "original")
        let reference = try push(image, "faults/altered-manifest")
        let file = registries.plainBlobFile(image.digest)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
        XCTAssertTrue(text.contains("original"))
        let tampered = Array(text.replacingOccurrences(of: "original", with: "tampered").utf8)
        try Data(tampered).write(to: URL(fileURLWithPath: file))

        let (error, contents, _) = try failingPull(reference, image.digest)
        guard case .digestMismatch(let what, let expected, let received) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.hasPrefix("manifest"), what)
        XCTAssertEqual(expected, image.digest.ociString)
        XCTAssertEqual(received, sha256(tampered).ociString)
        XCTAssertTrue(contents.isEmpty)
    }

    func testBlobLargerThanItsDescriptor() throws {
        // The manifest claims the layer is 100 bytes shorter than it is; the registry accepts it.
        let image = TestImage(layerCount: 2, layerSize: 50_000, layerSizeOverride: [0: 49_900])
        let client = try makeClient(registries.plain)
        for (digest, bytes) in image.blobs {
            _ = try client.uploadBlob(repository: "faults/oversize",
                                      descriptor: Descriptor(mediaType: "application/octet-stream", digest: digest, size: Int64(bytes.count)),
                                      source: .bytes(bytes))
        }
        try client.putManifest(repository: "faults/oversize", reference: "v1", bytes: image.manifest, mediaType: MediaType.ociManifest)
        let reference = try ImageReference(parsing: "\(registries.plain)/faults/oversize:v1")

        let (error, contents, _) = try failingPull(reference, image.digest)
        // The registry sends the blob's real Content-Length: refused before reading, as a declared size.
        guard case .declaredTooLarge(let what, 50_000, let limit) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(limit, 49_900)
        XCTAssertTrue(what.contains(image.layerDescriptors[0].digest.ociString), what)
        XCTAssertFalse(contents.contains(image.layerDescriptors[0].digest.ociString))
    }

    func testIndexWhoseChildManifestIsMissing() throws {
        let amd64 = TestImage(layerCount: 1, layerSize: 1000, platform: Platform(os: "linux", architecture: "amd64"))
        let arm64 = TestImage(layerCount: 1, layerSize: 1000, platform: Platform(os: "linux", architecture: "arm64"))
        let index = TestIndex(images: [amd64, arm64])
        let source = scratch + "/index"
        try LayoutWriter.layout(index, name: "v1", at: source)
        let reference = try ImageReference(parsing: "\(registries.plain)/faults/missing-child:v1")
        let client = try makeClient(registries.plain)
        _ = try ImagePusher(client: client).push(layoutPath: source, to: reference)
        // Delete the arm64 manifest (the registry allows deletes).
        let deletion = try Control.transport.send(
            HTTPRequest(method: .delete, url: "http://\(registries.plain)/v2/faults/missing-child/manifests/\(arm64.digest)"),
            maxBodyBytes: 1 << 16)
        XCTAssertEqual(deletion.status, 202)

        let (error, contents, _) = try failingPull(reference, index.digest,
                                                   options: PullOptions(platforms: .platform(try Platform(parsing: "linux/arm64"))))
        guard case .notFound(let what) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(what.contains(arm64.digest.ociString) && what.contains("linux/arm64"), what)
        XCTAssertTrue(error.isRegistryFailure)
        XCTAssertTrue(contents.isEmpty)
        // The other platform is still complete.
        _ = try ImagePuller(client: client).pull(reference, trust: .digest(index.digest, size: nil), to: .verifyOnly)
    }

    func testUnknownDigestIsNotFound() throws {
        let reference = try ImageReference(parsing: "\(registries.plain)/faults/nothing:v1")
        let (error, _, _) = try failingPull(reference, sha256(randomBytes(8)))
        guard case .notFound = error else { return XCTFail("\(error)") }
    }
}
