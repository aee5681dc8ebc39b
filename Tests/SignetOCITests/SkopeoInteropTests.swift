import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import XCTest

/// Interoperability with skopeo in both directions, through a real registry.
final class SkopeoInteropTests: XCTestCase {
    var registries: Registries!
    var scratch: String!

    override func setUpWithError() throws {
        registries = try Registries.get()
        scratch = try Paths.temporaryDirectory("signet-oci-skopeo")
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    private func skopeo(_ arguments: [String]) throws -> ProcessOutput {
        let result = try runProgram("/usr/bin/skopeo", arguments)
        XCTAssertEqual(result.status, 0, "skopeo \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func testSkopeoPushesSignetPulls() throws {
        let image = TestImage(layerCount: 2, layerSize: 100_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, name: "v1", at: source)
        let reference = "\(registries.plain)/interop/from-skopeo:v1"
        _ = try skopeo(["copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests", "oci:\(source):v1", "docker://\(reference)"])
        let inspected = try JSONParser.parse(try skopeo(["inspect", "--tls-verify=false", "docker://\(reference)"]).stdout)
        let digestText = try XCTUnwrap(inspected["Digest"]?.stringValue)
        XCTAssertEqual(digestText, image.digest.ociString, "skopeo kept the manifest bytes")

        let output = scratch + "/pulled"
        let result = try signet(["pull", "--json", "\(reference)@\(digestText)", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try verifiedLayoutContents(output), Set(image.blobs.map { $0.0.ociString } + [image.digest.ociString]))
        // skopeo reads signet's layout back.
        let local = try JSONParser.parse(try skopeo(["inspect", "oci:\(output):v1"]).stdout)
        XCTAssertEqual(local["Digest"]?.stringValue, image.digest.ociString)
    }

    func testDockerSchema2ManifestFromSkopeo() throws {
        let image = TestImage(layerCount: 1, layerSize: 20_000)
        let source = scratch + "/source"
        try LayoutWriter.layout(image, name: "v1", at: source)
        let reference = "\(registries.plain)/interop/docker-format:v1"
        _ = try skopeo(["copy", "--quiet", "--dest-tls-verify=false", "--format", "v2s2", "oci:\(source):v1", "docker://\(reference)"])
        let raw = try skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdout
        let digest = sha256(Array(raw.utf8))
        XCTAssertNotEqual(digest, image.digest, "skopeo converted the manifest")

        let result = try signet(["pull", "--json", "--verify-only", "\(reference)@\(digest)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONParser.parse(result.stdout)
        XCTAssertEqual(json["mediaType"]?.stringValue, MediaType.dockerManifest)
        XCTAssertEqual(json["platform"]?.stringValue, "linux/amd64")
        // Docker schema 2 needs compressed layers, so skopeo recompressed the layer: other digests,
        // Docker media types, all verified.
        XCTAssertEqual(json["blobs"]?.arrayValue?.compactMap { $0["mediaType"]?.stringValue },
                       [MediaType.dockerConfig, MediaType.dockerLayerGzip])
    }

    func testSignetPushesSkopeoPulls() throws {
        let amd64 = TestImage(layerCount: 2, layerSize: 50_000)
        let arm64 = TestImage(layerCount: 1, layerSize: 50_000, platform: Platform(os: "linux", architecture: "arm64"))
        let index = TestIndex(images: [amd64, arm64])
        let source = scratch + "/source"
        try LayoutWriter.layout(index, name: "multi", at: source)
        let reference = "\(registries.plain)/interop/from-signet:multi"
        let pushed = try signet(["push", source, reference])
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        XCTAssertEqual(pushed.stdout, index.digest.ociString + "\n")

        let raw = try skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdout
        XCTAssertEqual(Array(raw.utf8), index.bytes, "the registry serves the exact index bytes")
        let inspected = try JSONParser.parse(try skopeo(["inspect", "--tls-verify=false", "--override-arch", "arm64",
                                                          "docker://\(reference)"]).stdout)
        XCTAssertEqual(inspected["Digest"]?.stringValue, index.digest.ociString)
        XCTAssertEqual(inspected["Architecture"]?.stringValue, "arm64")
        XCTAssertEqual(inspected["Layers"]?.arrayValue?.compactMap(\.stringValue), arm64.layerDescriptors.map(\.digest.ociString))

        let output = scratch + "/skopeo-copy"
        _ = try skopeo(["copy", "--quiet", "--src-tls-verify=false", "--preserve-digests", "--all",
                        "docker://\(registries.plain)/interop/from-signet@\(index.digest)", "oci:\(output):copied"])
        XCTAssertEqual(try verifiedLayoutContents(output),
                       Set((amd64.blobs + arm64.blobs).map { $0.0.ociString } + [amd64.digest, arm64.digest, index.digest].map(\.ociString)))
    }
}
