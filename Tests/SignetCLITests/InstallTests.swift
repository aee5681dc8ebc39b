import Foundation
import SignetTestSupport
import XCTest

/// README's install path (`scripts/install`): release binaries with the Swift and C++ runtimes linked in, a
/// manual page and completions; the installed `signet` runs with the Swift toolchain's libraries hidden.
final class InstallTests: XCTestCase {
    func testTheInstalledSignetRunsWithoutTheToolchain() throws {
        guard try TestProcesses.run("/usr/bin/unshare", ["-m", "true"]).status == 0 else {
            throw XCTSkip("cannot hide the toolchain here (unshare -m not permitted)")
        }
        let work = try TestProcesses.temporaryDirectory("signet-install")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let prefix = work + "/prefix"
        let install = try TestProcesses.run(TestProcesses.packageRoot.appendingPathComponent("scripts/install").path, ["--prefix", prefix])
        XCTAssertEqual(install.status, 0, install.stderr)
        for file in ["bin/signet", "bin/signet-tuf-client", "share/man/man1/signet.1", "share/bash-completion/completions/signet",
                     "share/zsh/site-functions/_signet"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/" + file), file)
        }
        let man = try String(contentsOfFile: prefix + "/share/man/man1/signet.1", encoding: .utf8)
        XCTAssertTrue(man.hasPrefix(".TH SIGNET 1") && man.contains(".SH VERIFY") && man.contains("--ignore-registry-tag"))
        let completed = try TestProcesses.run("/bin/bash", ["-c", "source \(prefix)/share/bash-completion/completions/signet; COMP_WORDS=(signet veri); COMP_CWORD=1; _signet; echo ${COMPREPLY[@]}; COMP_WORDS=(signet trust res); COMP_CWORD=2; _signet; echo ${COMPREPLY[@]}"])
        XCTAssertEqual(completed.stdout, "verify\nrestore\n", completed.stderr)
        XCTAssertTrue(try String(contentsOfFile: prefix + "/share/zsh/site-functions/_signet", encoding: .utf8).hasPrefix("#compdef signet"))

        // The C++ runtime is linked in too (scripts/lib/deps.sh, signet_release_build): no libstdc++ or
        // libgcc_s to map and relocate at every start.
        for binary in ["bin/signet", "bin/signet-tuf-client"] {
            let needed = try TestProcesses.run("/usr/bin/ldd", [prefix + "/" + binary])
            XCTAssertEqual(needed.status, 0, needed.stderr)
            XCTAssertTrue(needed.stdout.contains("libsodium"), needed.stdout)
            XCTAssertFalse(needed.stdout.contains("libstdc++") || needed.stdout.contains("libgcc_s"), "\(binary) links the C++ runtime dynamically:\n\(needed.stdout)")
            // libcurl is loaded when first needed, not linked (docs/architecture.md).
            XCTAssertFalse(needed.stdout.contains("libcurl"), "\(binary) links libcurl:\n\(needed.stdout)")
        }

        // Hide the toolchain's library directory (where libswiftCore.so and Foundation live) and run.
        let swift = try TestProcesses.run("/bin/sh", ["-c", "readlink -f \"$(command -v swift)\""]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let toolchainLib = URL(fileURLWithPath: swift).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: toolchainLib + "/swift/linux/libswiftCore.so"), toolchainLib)
        let script = """
        mount -t tmpfs tmpfs "$1" || exit 90
        "$2" --version || exit 91
        SIGNET_HOME="$4" SIGNET_KEY_PASSPHRASE=p SIGNET_UNSAFE_TEST_KDF=1 "$2" key generate --json >/dev/null || exit 92
        "$3" --version >/dev/null 2>&1 && exit 93
        exit 0
        """
        let hidden = try TestProcesses.run("/usr/bin/unshare", ["-m", "sh", "-c", script, "sh", toolchainLib, prefix + "/bin/signet",
                                                                TestProcesses.product("signet"), work + "/home"])
        XCTAssertEqual(hidden.status, 0, "91: the installed signet did not run; 92: it could not make a key; 93: the check cannot fail (the debug build ran too)\n\(hidden.stdout)\n\(hidden.stderr)")
        XCTAssertTrue(hidden.stdout.hasPrefix("signet "), hidden.stdout)
    }
}
