import SignetCrypto
import SignetJSON
import SignetOCI
import XCTest

final class ManifestTests: XCTestCase {
    func testVerifiedManifestKeepsExactBytes() throws {
        let image = TestImage(layerCount: 3, layerSize: 10)
        let verified = try VerifiedManifest.verify(image.manifest, expectedDigest: image.digest,
                                                   expectedSize: Int64(image.manifest.count), what: "m")
        XCTAssertEqual(verified.bytes, image.manifest)
        XCTAssertEqual(verified.mediaType, MediaType.ociManifest)
        guard case .image(let parsed) = verified.content else { return XCTFail("expected an image manifest") }
        XCTAssertEqual(parsed.layers.map(\.digest), image.layerDescriptors.map(\.digest))
        XCTAssertEqual(parsed.config.size, Int64(image.config.count))
    }

    func testDigestAndSizeMismatchAreReportedWithBothValues() throws {
        let image = TestImage(layerCount: 1, layerSize: 10)
        let other = sha256([1, 2, 3])
        XCTAssertThrowsError(try VerifiedManifest.verify(image.manifest, expectedDigest: other, what: "the manifest")) { error in
            guard case OCIError.digestMismatch(let what, let expected, let received) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(what, "the manifest")
            XCTAssertEqual(expected, other.ociString)
            XCTAssertEqual(received, image.digest.ociString)
            XCTAssertTrue("\(error)".contains("expected \(other.ociString)"))
        }
        XCTAssertThrowsError(try VerifiedManifest.verify(image.manifest, expectedDigest: image.digest, expectedSize: 5, what: "m")) { error in
            guard case OCIError.sizeMismatch(_, 5, let received) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(received, Int64(image.manifest.count))
        }
    }

    func testMalformedManifestsAreRejected() {
        let good = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":1}"#
        let cases: [(String, String)] = [
            (#"{"schemaVersion":2,"schemaVersion":2,"config":\#(good),"layers":[]}"#, "duplicate"),
            (#"{"schemaVersion":1,"name":"x"}"#, "vnd.docker.distribution.manifest.v1"),
            (#"{"schemaVersion":3,"config":\#(good),"layers":[]}"#, "schemaVersion is 3"),
            (#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#, "without \"config\""),
            (#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(good)}"#, "layers"),
            (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:zz","size":1},"layers":[]}"#, "descriptor digest"),
            (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:\#(String(repeating: "a", count: 64))","size":-1},"layers":[]}"#, "negative"),
            (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:\#(String(repeating: "a", count: 64))","size":1.5},"layers":[]}"#, "integer"),
            (#"{"schemaVersion":2,"mediaType":"text/plain","config":\#(good),"layers":[]}"#, "text/plain"),
            (#"{"schemaVersion":2,"manifests":[],"config":\#(good)}"#, "neither"),
            (#"[]"#, "not a JSON object"),
        ]
        for (text, fragment) in cases {
            let bytes = Array(text.utf8)
            XCTAssertThrowsError(try VerifiedManifest.verify(bytes, expectedDigest: sha256(bytes), what: "m"), text) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(text): \(error)")
                XCTAssertTrue((error as? OCIError)?.isVerificationFailure ?? false, "\(error)")
            }
        }
    }

    func testDeclaredMediaTypeMustAgreeWithTheDocument() throws {
        let image = TestImage(layerCount: 1, layerSize: 10)
        XCTAssertThrowsError(try VerifiedManifest.verify(image.manifest, expectedDigest: image.digest,
                                                         declaredMediaType: MediaType.ociIndex, what: "m")) { error in
            XCTAssertTrue("\(error)".contains("referenced as"), "\(error)")
        }
        // A Content-Type with parameters or an unrelated generic type does not conflict.
        XCTAssertNoThrow(try VerifiedManifest.verify(image.manifest, expectedDigest: image.digest,
                                                     declaredMediaType: "application/vnd.oci.image.manifest.v1+json; charset=utf-8", what: "m"))
        XCTAssertNoThrow(try VerifiedManifest.verify(image.manifest, expectedDigest: image.digest,
                                                     declaredMediaType: "application/json", what: "m"))
    }

    func testIndexWithoutMediaTypeIsRecognisedByShape() throws {
        let images = [TestImage(layerCount: 1, layerSize: 5), TestImage(layerCount: 1, layerSize: 5, platform: Platform(os: "linux", architecture: "arm64"))]
        let text = #"{"schemaVersion":2,"manifests":[\#(String(decoding: JSONWriter.encode(images[0].descriptor.jsonValue, pretty: false), as: UTF8.self)),\#(String(decoding: JSONWriter.encode(images[1].descriptor.jsonValue, pretty: false), as: UTF8.self))]}"#
        let bytes = Array(text.utf8)
        let verified = try VerifiedManifest.verify(bytes, expectedDigest: sha256(bytes), what: "i")
        XCTAssertEqual(verified.mediaType, MediaType.ociIndex)
        guard case .index(let index) = verified.content else { return XCTFail("expected an index") }
        XCTAssertEqual(index.manifests.map { $0.platform?.description }, ["linux/amd64", "linux/arm64"])
    }

    func testWWWAuthenticateParsing() {
        let challenges = AuthChallenge.parse([
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
            #"Basic realm="x y", Bearer realm="https://t.example/",error=insufficient_scope"#,
            #"Negotiate abc==, Basic realm="q\"uote""#,
        ])
        XCTAssertEqual(challenges.map(\.scheme), ["bearer", "basic", "bearer", "negotiate", "basic"])
        XCTAssertEqual(challenges[0].realm, "https://auth.example/token")
        XCTAssertEqual(challenges[0].service, "registry.example")
        XCTAssertEqual(challenges[0].scope, "repository:a/b:pull,push")
        XCTAssertEqual(challenges[1].realm, "x y")
        XCTAssertEqual(challenges[2].error, "insufficient_scope")
        XCTAssertEqual(challenges[3].parameters[""], "abc==")
        XCTAssertEqual(challenges[4].realm, "q\"uote")
        XCTAssertEqual(AuthChallenge.parse(["", ",,,"]).count, 0)
    }
}
