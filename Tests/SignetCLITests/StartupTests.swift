import Foundation
import SignetTestSupport
import XCTest

/// What the `signet` process loads and runs before `main` (docs/performance.md, start-up).
final class StartupTests: XCTestCase {
    /// The dynamic loader's report of a `signet --version` run (`LD_DEBUG` on standard error).
    func loaderReport(_ what: String) throws -> String {
        let r = try TestProcesses.run(TestProcesses.product("signet"), ["--version"], environment: ["LD_DEBUG": what])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stderr
    }

    /// The loader's report of a command that makes a request (to a closed port: it fails, after
    /// libcurl was loaded and used).
    func registryCommandLoaderReport(_ what: String) throws -> String {
        let home = try TestProcesses.temporaryDirectory("signet-startup")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let r = try TestProcesses.run(TestProcesses.product("signet"), ["inspect", "127.0.0.1:9/team/app"],
                                      environment: ["LD_DEBUG": what, "SIGNET_HOME": home, "DOCKER_CONFIG": home + "/docker"])
        XCTAssertNotEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("127.0.0.1:9"), String(r.stderr.suffix(2000)))
        return r.stderr
    }

    /// libcurl (and its ~30 libraries) is loaded only by commands that talk to a registry, when they
    /// start: never by the others, and never by the agent.
    func testOnlyCommandsThatMakeRequestsLoadLibcurl() throws {
        let home = try TestProcesses.temporaryDirectory("signet-startup")
        defer { try? FileManager.default.removeItem(atPath: home) }
        for args in [["--version"], ["key", "list"], ["man"], ["agent", "--help"], ["verify", "--help"]] {
            let r = try TestProcesses.run(TestProcesses.product("signet"), args, environment: ["LD_DEBUG": "files", "SIGNET_HOME": home])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr.suffix(2000))")
            XCTAssertTrue(r.stderr.contains("file=libsodium"), "no loader report for \(args)")
            XCTAssertFalse(r.stderr.contains("libcurl"), "\(args) loaded libcurl")
        }
        let report = try registryCommandLoaderReport("files")
        let curl = report.split(separator: "\n").filter { $0.contains("file=libcurl.so.4") && $0.contains("dynamically loaded by") }
        XCTAssertFalse(curl.isEmpty, "inspect did not load libcurl when it started: \(report.suffix(3000))")
    }

    /// Without a usable libcurl, commands that make requests say so and the others work.
    func testAMissingLibcurlIsReportedByName() throws {
        guard try TestProcesses.run("/usr/bin/unshare", ["-m", "true"]).status == 0 else {
            throw XCTSkip("cannot hide libcurl here (unshare -m not permitted)")
        }
        let home = try TestProcesses.temporaryDirectory("signet-startup")
        defer { try? FileManager.default.removeItem(atPath: home) }
        // In a mount namespace of its own, libcurl's file is replaced by an empty one.
        let script = """
        lib=$(readlink -f /lib/x86_64-linux-gnu/libcurl.so.4) || exit 90
        mount --bind /dev/null "$lib" || exit 90
        SIGNET_HOME="$2" SIGNET_KEY_PASSPHRASE=p SIGNET_UNSAFE_TEST_KDF=1 "$1" key generate --json >/dev/null || exit 91
        SIGNET_HOME="$2" DOCKER_CONFIG="$2/docker" "$1" inspect 127.0.0.1:9/team/app
        exit $?
        """
        let r = try TestProcesses.run("/usr/bin/unshare", ["-m", "sh", "-c", script, "sh", TestProcesses.product("signet"), home])
        if r.status == 90 { throw XCTSkip("cannot replace libcurl's file here: \(r.stderr)") }
        XCTAssertNotEqual(r.status, 91, "key generate needs no libcurl: \(r.stderr)")
        XCTAssertNotEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot make HTTP requests: cannot load libcurl (libcurl.so.4)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("attempts"), "a missing library is not retried: \(r.stderr)")
    }

    func testGnuTLSLoadTimeInitialisationIsSkipped() throws {
        let report = try registryCommandLoaderReport("bindings")
        let gnutls = report.split(separator: "\n").filter { $0.contains("binding file") && $0.contains("libgnutls") }
        guard !gnutls.isEmpty else { throw XCTSkip("this libcurl does not load GnuTLS") }
        // GnuTLS's constructor asks for the symbol; it must be bound to the program's definition (which
        // returns 1), not to GnuTLS's own default (which returns 0).
        let binding = gnutls.first { $0.contains("`_gnutls_global_init_skip'") }
        let line = try XCTUnwrap(binding, "GnuTLS did not look up _gnutls_global_init_skip")
        XCTAssertTrue(line.contains("/signet [0]"), String(line))
        XCTAssertFalse(line.contains("to /lib") || line.contains("to /usr/lib"), String(line))
    }

    func testFoundationWithCoreFoundationIsNotLoaded() throws {
        // The tool uses FoundationEssentials only; Foundation proper brings CoreFoundation and its
        // initialiser into every start. (A statically linked build loads no Swift library at all.)
        let report = try loaderReport("files")
        let loaded = report.split(separator: "\n").filter { $0.contains("file=") && $0.contains("[0];  needed by") }
        XCTAssertFalse(loaded.isEmpty, "no loader report")
        for line in loaded {
            XCTAssertFalse(line.contains("file=libFoundation.so") || line.contains("file=libCoreFoundation"), String(line))
        }
    }
}
