import Foundation
import SignetCrypto
import SignetJSON
import SignetOCI
import XCTest

/// Basic auth over TLS and bearer tokens against real registries; credentials from Docker's
/// config.json and credential helpers. Secrets must never appear in errors.
final class AuthTests: XCTestCase {
    var registries: Registries!
    var scratch: String!

    override func setUpWithError() throws {
        registries = try Registries.get()
        scratch = try Paths.temporaryDirectory("signet-oci-auth")
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    private func credentials(password: String? = nil) -> StaticCredentials {
        StaticCredentials(.basic(username: registries.user, password: SecretBytes(utf8: password ?? registries.password)))
    }

    private func layout(_ image: TestImage) throws -> String {
        let path = scratch + "/layout-\(image.digest.hex.prefix(8))"
        try LayoutWriter.layout(image, at: path)
        return path
    }

    func testBasicAuthOverTLS() throws {
        let image = TestImage(layerCount: 2, layerSize: 10_000)
        let reference = try ImageReference(parsing: "\(registries.basic)/basic/app:v1")
        let client = try makeClient(registries.basic, credentials: credentials(), security: .requireTLS, caFile: registries.caCert)
        XCTAssertEqual(client.endpoint.scheme, "https")
        try client.checkAPI()
        _ = try ImagePusher(client: client).push(layoutPath: try layout(image), to: reference)
        let pulled = try ImagePuller(client: client).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)
        XCTAssertEqual(pulled.blobs.count, 3)

        let wrongPassword = "wrong-password-\(Hex.encode(randomBytes(4)))"
        let wrong = try makeClient(registries.basic, credentials: credentials(password: wrongPassword), security: .requireTLS,
                                   caFile: registries.caCert)
        XCTAssertThrowsError(try ImagePuller(client: wrong).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)) { error in
            guard case OCIError.unauthorized(_, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("rejected"), detail)
            XCTAssertFalse("\(error)".contains(wrongPassword))
            XCTAssertFalse("\(error)".contains(registries.password))
        }
        let anonymous = try makeClient(registries.basic, security: .requireTLS, caFile: registries.caCert)
        XCTAssertThrowsError(try anonymous.checkAPI()) { error in
            XCTAssertTrue("\(error)".contains("requires credentials"), "\(error)")
        }
        let untrusted = try makeClient(registries.basic, credentials: credentials(), security: .requireTLS)
        XCTAssertThrowsError(try untrusted.checkAPI()) { error in
            guard case OCIError.network(_, let underlying, _) = error, case .tls = underlying else { return XCTFail("\(error)") }
        }
    }

    func testBearerTokensAreCachedPerScope() throws {
        let image = TestImage(layerCount: 3, layerSize: 5_000)
        let reference = try ImageReference(parsing: "\(registries.token)/token/app:v1")
        let pusher = try makeClient(registries.token, credentials: credentials())
        _ = try ImagePusher(client: pusher).push(layoutPath: try layout(image), to: reference)
        XCTAssertEqual(pusher.tokenRequests, 1, "one token for repository:token/app:pull,push serves every request of the push")

        let puller = try makeClient(registries.token, credentials: credentials())
        _ = try ImagePuller(client: puller).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)
        _ = try ImagePuller(client: puller).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)
        XCTAssertEqual(puller.tokenRequests, 1, "two pulls of 4 objects each need one pull token")

        // Mounting needs a token for both repositories.
        let other = try ImageReference(parsing: "\(registries.token)/token/other:v1")
        let mounted = try ImagePusher(client: pusher).push(layoutPath: try layout(image), to: other,
                                                           options: PushOptions(mountFrom: ["token/app"]))
        XCTAssertEqual(mounted.blobs.map(\.outcome), [.mounted, .mounted, .mounted, .mounted])
        let issued = try Control.get("http://\(registries.tokenServer)/stats")["scopes"]?.arrayValue ?? []
        XCTAssertTrue(issued.contains(["repository:token/app:pull", "repository:token/other:pull,push"]), "\(issued)")
    }

    func testAnonymousAndWrongCredentialsAgainstTokenAuth() throws {
        let image = TestImage(layerCount: 1, layerSize: 100)
        let reference = try ImageReference(parsing: "\(registries.token)/token/private:v1")
        _ = try ImagePusher(client: try makeClient(registries.token, credentials: credentials()))
            .push(layoutPath: try layout(image), to: reference)

        // Anonymous: the first request goes out without a token; its 401 challenge names the scope; the
        // client fetches a token for it (the issuer grants nothing), is refused again, and gives up.
        let anonymous = try makeClient(registries.token)
        XCTAssertThrowsError(try ImagePuller(client: anonymous).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)) { error in
            guard case OCIError.unauthorized(_, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("insufficient_scope"), detail)
            XCTAssertTrue(detail.contains("no credentials"), detail)
        }
        XCTAssertEqual(anonymous.tokenRequests, 1)

        let secret = "not-the-password-\(Hex.encode(randomBytes(4)))"
        let wrong = try makeClient(registries.token, credentials: credentials(password: secret))
        XCTAssertThrowsError(try ImagePuller(client: wrong).pull(reference, trust: .digest(image.digest, size: nil), to: .verifyOnly)) { error in
            guard case OCIError.unauthorized(_, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("rejected the credentials"), detail)
            XCTAssertFalse("\(error)".contains(secret))
            XCTAssertTrue((error as? OCIError)?.isRegistryFailure ?? false)
        }
    }

    func testDockerConfigAuthsAndCredentialHelpers() throws {
        let basicAuth = Base64.encode(Array("\(registries.user):\(registries.password)".utf8))
        let helperDirectory = scratch + "/bin"
        try FileManager.default.createDirectory(atPath: helperDirectory, withIntermediateDirectories: true)
        let helper = helperDirectory + "/docker-credential-signettest"
        let script = """
        #!/bin/sh
        read server
        case "$1:$server" in
          "get:\(registries.token)") printf '{"ServerURL":"%s","Username":"\(registries.user)","Secret":"\(registries.password)"}' "$server" ;;
          *) echo "credentials not found in native keychain"; exit 1 ;;
        esac
        """
        try Data(script.utf8).write(to: URL(fileURLWithPath: helper))
        chmod(helper, 0o755)
        let config = """
        {"auths": {"https://\(registries.basic)": {"auth": "\(basicAuth)"}, "elsewhere.example": {}},
         "credHelpers": {"\(registries.token)": "signettest"}}
        """
        try Data(config.utf8).write(to: URL(fileURLWithPath: scratch + "/config.json"))
        let provider = DockerConfigCredentials(configFile: scratch + "/config.json", searchPath: [helperDirectory])

        guard case .basic(let user, let password)? = try provider.credential(for: registries.basic) else {
            return XCTFail("no credential from auths")
        }
        XCTAssertEqual(user, registries.user)
        XCTAssertEqual(password, SecretBytes(utf8: registries.password))
        XCTAssertFalse("\(password)".contains(registries.password), "SecretBytes prints redacted")
        guard case .basic(let helperUser, _)? = try provider.credential(for: registries.token) else {
            return XCTFail("no credential from the helper")
        }
        XCTAssertEqual(helperUser, registries.user)
        XCTAssertNil(try provider.credential(for: "unknown.example"))

        // End to end through the CLI: DOCKER_CONFIG and PATH locate the config and the helper.
        let image = TestImage(layerCount: 1, layerSize: 2_000)
        let source = try layout(image)
        let environment = ["DOCKER_CONFIG": scratch!, "PATH": helperDirectory + ":/usr/bin:/bin"]
        let pushed = try signet(["push", source, "\(registries.token)/config/app:v1"], environment: environment)
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        XCTAssertEqual(pushed.stdout, image.digest.ociString + "\n")
        let pulled = try signet(["pull", "--tls", "--ca-file", registries.caCert, "--verify-only",
                                 "\(registries.basic)/config/app@\(image.digest)"], environment: environment)
        XCTAssertEqual(pulled.status, 3, "the basic registry has no such image yet: \(pulled.stderr)")
        XCTAssertTrue(pulled.stderr.contains("not found"), pulled.stderr)

        let broken = scratch + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data(#"{"credHelpers": {"\#(registries.token)": "../evil"}}"#.utf8).write(to: URL(fileURLWithPath: broken + "/config.json"))
        XCTAssertThrowsError(try DockerConfigCredentials(configFile: broken + "/config.json", searchPath: [helperDirectory])
            .credential(for: registries.token)) { error in
            guard case OCIError.credentials = error else { return XCTFail("\(error)") }
        }
    }
}
