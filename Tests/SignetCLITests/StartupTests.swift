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

    func testGnuTLSLoadTimeInitialisationIsSkipped() throws {
        let report = try loaderReport("bindings")
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
