import SignetCrypto
import SignetOCI
import XCTest

final class ReferenceTests: XCTestCase {
    let hex = String(repeating: "ab", count: 32)

    func testValidReferencesNormalise() throws {
        // (input, registry, repository, tag, digest?)
        let cases: [(String, String, String, String?, Bool)] = [
            ("alpine", "docker.io", "library/alpine", nil, false),
            ("alpine:3.19", "docker.io", "library/alpine", "3.19", false),
            ("docker.io/alpine", "docker.io", "library/alpine", nil, false),
            ("index.docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", false),
            ("user/app", "docker.io", "user/app", nil, false),
            ("localhost/app", "localhost", "app", nil, false),
            ("localhost:5000/team/app:v1", "localhost:5000", "team/app", "v1", false),
            ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", nil, false),
            ("[::1]:5000/app:1", "[::1]:5000", "app", "1", false),
            ("registry.example.com/a_b/c__d/e-f/g--h/i.j", "registry.example.com", "a_b/c__d/e-f/g--h/i.j", nil, false),
            ("Registry.Example/app", "registry.example", "app", nil, false),
            ("REGISTRY.example:0443/team/app", "registry.example", "team/app", nil, false),
            ("registry.example:05000/team/app", "registry.example:5000", "team/app", nil, false),
            ("127.0.0.1:443/team/app", "127.0.0.1:443", "team/app", nil, false),
            ("registry-1.docker.io/team/app", "docker.io", "team/app", nil, false),
            ("LOCALHOST:5000/app", "localhost:5000", "app", nil, false),
            ("10.0.0.5/app", "10.0.0.5", "app", nil, false),
            ("1example.com/app", "1example.com", "app", nil, false),
            ("[0:0:0:0:0:0:0:1]:5000/app", "[::1]:5000", "app", nil, false),
            ("[::0001]:5000/app", "[::1]:5000", "app", nil, false),
            ("[2001:DB8:0::1]/app", "[2001:db8::1]", "app", nil, false),
            ("registry.hub.docker.com/team/app", "docker.io", "team/app", nil, false),
            ("host:5000/app:tag@sha256:\(String(repeating: "ab", count: 32))", "host:5000", "app", "tag", true),
            ("app@sha256:\(String(repeating: "ab", count: 32))", "docker.io", "library/app", nil, true),
            ("app:_under.score-ok", "docker.io", "library/app", "_under.score-ok", false),
        ]
        for (input, registry, repository, tag, hasDigest) in cases {
            let reference = try ImageReference(parsing: input)
            XCTAssertEqual(reference.registry, registry, input)
            XCTAssertEqual(reference.repository, repository, input)
            XCTAssertEqual(reference.tag, tag, input)
            XCTAssertEqual(reference.digest != nil, hasDigest, input)
        }
    }

    func testDigestAndManifestReference() throws {
        let reference = try ImageReference(parsing: "host:5000/app:v1@sha256:\(hex)")
        XCTAssertEqual(reference.digest?.ociString, "sha256:\(hex)")
        XCTAssertEqual(reference.manifestReference, "sha256:\(hex)")
        XCTAssertEqual(reference.description, "host:5000/app:v1@sha256:\(hex)")
        let tagOnly = try ImageReference(parsing: "host:5000/app")
        XCTAssertEqual(tagOnly.manifestReference, "latest")
        XCTAssertEqual(tagOnly.host, "host")
        let sha512 = try ImageReference(parsing: "host/app@sha512:\(String(repeating: "cd", count: 64))")
        XCTAssertEqual(sha512.digest?.algorithm, .sha512)
    }

    func testInvalidReferencesAreRejectedWithReasons() {
        let cases: [(String, String)] = [
            ("", "empty"),
            ("App", "lowercase"),
            ("host/App", "lowercase"),
            ("host/app:", "invalid tag"),
            ("host/app:-bad", "invalid tag"),
            ("host/app:" + String(repeating: "t", count: 129), "invalid tag"),
            ("host/app@sha256:abc", "invalid digest"),
            ("host/app@sha256:\(String(repeating: "AB", count: 32))", "invalid digest"),
            ("host/app@sha384:\(String(repeating: "ab", count: 48))", "unsupported digest algorithm"),
            ("host/app@md5:\(String(repeating: "ab", count: 16))", "invalid digest"),
            ("host/a//b", "path component"),
            ("host/a-", "path component"),
            ("host/.a", "path component"),
            ("host/a___b", "path component"),
            ("host:99999/app", "port"),
            ("host:/app", "port"),
            ("-host.com/app", "registry host"),
            ("[::1/app", "IPv6"),
            ("host/app with space", "printable ASCII"),
            ("host.com/" + String(repeating: "a", count: 250), "255"),
            ("127.0.0.01:5000/app", "four decimal numbers"),
            ("0x7f.0.0.1:5000/app", "four decimal numbers"),
            ("127.1:5000/app", "four decimal numbers"),
            ("2130706433:5000/app", "four decimal numbers"),
            ("127.0.0.256/app", "four decimal numbers"),
            ("example.0x7f/app", "four decimal numbers"),
            ("[::ffff:127.0.0.1]:5000/app", "IPv4 address written as IPv6"),
            ("[::1::2]/app", "invalid IPv6"),
        ]
        for (input, fragment) in cases {
            XCTAssertThrowsError(try ImageReference(parsing: input), input) { error in
                guard case OCIError.invalidReference(_, let reason) = error else {
                    return XCTFail("\(input): expected invalidReference, got \(error)")
                }
                XCTAssertTrue(reason.contains(fragment), "\(input): reason \"\(reason)\" lacks \"\(fragment)\"")
                XCTAssertTrue((error as? OCIError)?.isUsageError ?? false)
            }
        }
    }

    func testEndpointSchemeRule() {
        // Default: HTTPS, except loopback hosts.
        XCTAssertEqual(RegistryEndpoint(registry: "registry.example.com").baseURL, "https://registry.example.com")
        XCTAssertEqual(RegistryEndpoint(registry: "docker.io").baseURL, "https://registry-1.docker.io")
        XCTAssertEqual(RegistryEndpoint(registry: "127.0.0.1:5000").baseURL, "http://127.0.0.1:5000")
        XCTAssertEqual(RegistryEndpoint(registry: "127.1.2.3:5000").scheme, "http")
        XCTAssertEqual(RegistryEndpoint(registry: "localhost:5000").scheme, "http")
        XCTAssertEqual(RegistryEndpoint(registry: "[::1]:5000").baseURL, "http://[::1]:5000")
        XCTAssertEqual(RegistryEndpoint(registry: "128.0.0.1:5000").scheme, "https")
        XCTAssertEqual(RegistryEndpoint(registry: "localhost.example.com").scheme, "https")
        // --tls and the explicit unsafe switch.
        XCTAssertEqual(RegistryEndpoint(registry: "127.0.0.1:5000", security: .requireTLS).scheme, "https")
        XCTAssertEqual(RegistryEndpoint(registry: "registry.example.com", security: .unsafePlainHTTP).scheme, "http")
    }

    func testPlatformParsingAndMatching() throws {
        let arm = try Platform(parsing: "linux/arm/v7")
        XCTAssertEqual(arm.description, "linux/arm/v7")
        XCTAssertEqual(try Platform(parsing: "linux/x86_64").architecture, "amd64")
        XCTAssertThrowsError(try Platform(parsing: "linux"))
        XCTAssertThrowsError(try Platform(parsing: "linux//v7"))
        XCTAssertThrowsError(try Platform(parsing: "a/b/c/d"))
        let anyArm64 = Platform(os: "linux", architecture: "arm64")
        XCTAssertTrue(anyArm64.isSatisfied(by: Platform(os: "linux", architecture: "arm64", variant: "v8")))
        XCTAssertTrue(Platform(os: "linux", architecture: "arm64", variant: "v8").isSatisfied(by: anyArm64),
                      "arm64 without a variant counts as v8")
        XCTAssertFalse(arm.isSatisfied(by: Platform(os: "linux", architecture: "arm", variant: "v6")))
        XCTAssertFalse(Platform(os: "linux", architecture: "amd64").isSatisfied(by: Platform(os: "windows", architecture: "amd64")))
        XCTAssertEqual(Platform.host.os, "linux")
    }
}
