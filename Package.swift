// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Signet",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SignetPlatform", targets: ["SignetPlatform"]),
        .library(name: "SignetFiles", targets: ["SignetFiles"]),
        .library(name: "SignetCrypto", targets: ["SignetCrypto"]),
        .library(name: "SignetHTTP", targets: ["SignetHTTP"]),
        .library(name: "SignetJSON", targets: ["SignetJSON"]),
        .library(name: "SignetTUF", targets: ["SignetTUF"]),
        .library(name: "SignetKeys", targets: ["SignetKeys"]),
        .library(name: "SignetEditor", targets: ["SignetEditor"]),
        .library(name: "SignetOCI", targets: ["SignetOCI"]),
        .library(name: "SignetTrust", targets: ["SignetTrust"]),
        .executable(name: "signet-tuf-client", targets: ["signet-tuf-client"]),
        .executable(name: "signet-bench", targets: ["signet-bench"]),
        .executable(name: "signet", targets: ["signet"]),
    ],
    targets: [
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // libcurl's headers only: the library is loaded when first needed (Sources/CCurl/shim.h), so it
        // is not linked (no pkg-config, whose flags would link it).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "SignetPlatform"),
        .target(name: "SignetFiles", dependencies: ["SignetPlatform"]),
        .target(name: "SignetCrypto", dependencies: ["CSodium", "COpenSSL", "SignetPlatform"]),
        .target(name: "SignetHTTP", dependencies: ["CCurl", "SignetPlatform"],
                linkerSettings: [
                    // GnuTLS looks this symbol up in the program (Backends/GnuTLSInit.swift); builds that do
                    // not export every symbol must still export this one.
                    .unsafeFlags(["-Xlinker", "--export-dynamic-symbol=_gnutls_global_init_skip"], .when(platforms: [.linux])),
                ]),
        .target(name: "SignetJSON", dependencies: ["SignetPlatform"]),
        .target(name: "SignetTUF", dependencies: ["SignetPlatform", "SignetJSON", "SignetCrypto", "SignetHTTP", "SignetFiles"]),
        .target(name: "SignetKeys", dependencies: ["SignetPlatform", "SignetTUF", "SignetCrypto", "SignetJSON", "SignetFiles"]),
        .target(name: "SignetEditor", dependencies: ["SignetPlatform", "SignetTUF", "SignetCrypto", "SignetJSON", "SignetHTTP", "SignetFiles"]),
        .target(name: "SignetOCI", dependencies: ["SignetPlatform", "SignetHTTP", "SignetCrypto", "SignetJSON", "SignetFiles"]),
        .target(name: "SignetTrust", dependencies: ["SignetPlatform", "SignetTUF", "SignetEditor", "SignetKeys", "SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON", "SignetFiles"]),
        .target(name: "SignetTestSupport", dependencies: ["SignetTUF", "SignetJSON", "SignetCrypto", "SignetHTTP", "SignetFiles"]),
        .executableTarget(name: "signet-tuf-client", dependencies: ["SignetPlatform", "SignetHTTP", "SignetTUF"]),
        .executableTarget(name: "signet", dependencies: ["SignetPlatform", "SignetTrust", "SignetEditor", "SignetKeys", "SignetTUF", "SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON", "SignetFiles"]),
        .executableTarget(name: "signet-json-fuzz", dependencies: ["SignetJSON"],
                          linkerSettings: [
                              // Lets libFuzzer's main win over the target's own when built with --sanitize=fuzzer.
                              .unsafeFlags(["-Xlinker", "--allow-multiple-definition"], .when(platforms: [.linux])),
                          ]),
        .executableTarget(name: "signet-bench", dependencies: ["SignetCrypto", "SignetHTTP", "SignetJSON", "SignetTUF", "SignetEditor", "SignetKeys", "SignetFiles", "SignetOCI", "SignetTrust"]),
        .testTarget(name: "SignetCryptoTests", dependencies: ["SignetCrypto"]),
        .testTarget(name: "SignetHTTPTests", dependencies: ["SignetHTTP"]),
        .testTarget(name: "SignetOCITests", dependencies: ["SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON", "SignetTestSupport"]),
        .testTarget(name: "SignetJSONTests", dependencies: ["SignetJSON"]),
        .testTarget(name: "SignetEditorTests", dependencies: ["SignetEditor", "SignetKeys", "SignetTUF", "SignetFiles", "SignetTestSupport", "SignetJSON", "SignetCrypto", "SignetHTTP"]),
        .testTarget(name: "SignetFilesTests", dependencies: ["SignetFiles"]),
        .testTarget(name: "SignetPlatformTests", dependencies: ["SignetPlatform"]),
        .testTarget(name: "SignetKeysTests", dependencies: ["SignetKeys", "SignetTUF", "SignetFiles", "SignetTestSupport", "SignetCrypto"]),
        .testTarget(name: "SignetTrustTests", dependencies: ["SignetTestSupport", "SignetTrust", "SignetEditor", "SignetKeys", "SignetTUF", "SignetOCI", "SignetFiles", "SignetJSON", "SignetCrypto"]),
        .testTarget(name: "SignetCLITests", dependencies: ["SignetTestSupport"]),
        .testTarget(name: "SignetTUFTests", dependencies: ["SignetTUF", "SignetFiles", "SignetTestSupport", "SignetJSON", "SignetCrypto", "SignetHTTP"]),
    ],
    swiftLanguageModes: [.v6]
)
