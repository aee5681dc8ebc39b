// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Signet",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SignetCrypto", targets: ["SignetCrypto"]),
        .library(name: "SignetHTTP", targets: ["SignetHTTP"]),
        .library(name: "SignetJSON", targets: ["SignetJSON"]),
        .library(name: "SignetTUF", targets: ["SignetTUF"]),
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
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "SignetCrypto", dependencies: ["CSodium", "COpenSSL"]),
        .target(name: "SignetHTTP", dependencies: ["CCurl"]),
        .target(name: "SignetJSON"),
        .target(name: "SignetTUF", dependencies: ["SignetJSON", "SignetCrypto", "SignetHTTP"]),
        .target(name: "SignetOCI", dependencies: ["SignetHTTP", "SignetCrypto", "SignetJSON"]),
        .target(name: "SignetTrust", dependencies: ["SignetTUF", "SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON"]),
        .target(name: "SignetTestSupport", dependencies: ["SignetTUF", "SignetJSON", "SignetCrypto", "SignetHTTP"]),
        .executableTarget(name: "signet-tuf-client", dependencies: ["SignetTUF"]),
        .executableTarget(name: "signet", dependencies: ["SignetTrust", "SignetTUF", "SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON"]),
        .executableTarget(name: "signet-json-fuzz", dependencies: ["SignetJSON"],
                          linkerSettings: [
                              // Lets libFuzzer's main win over the target's own when built with --sanitize=fuzzer.
                              .unsafeFlags(["-Xlinker", "--allow-multiple-definition"], .when(platforms: [.linux])),
                          ]),
        .executableTarget(name: "signet-bench", dependencies: ["SignetCrypto", "SignetHTTP", "SignetJSON", "SignetTUF"]),
        .testTarget(name: "SignetCryptoTests", dependencies: ["SignetCrypto"]),
        .testTarget(name: "SignetHTTPTests", dependencies: ["SignetHTTP"]),
        .testTarget(name: "SignetOCITests", dependencies: ["SignetOCI", "SignetHTTP", "SignetCrypto", "SignetJSON", "SignetTestSupport"]),
        .testTarget(name: "SignetJSONTests", dependencies: ["SignetJSON"]),
        .testTarget(name: "SignetTrustTests", dependencies: ["SignetTestSupport"]),
        .testTarget(name: "SignetCLITests", dependencies: ["SignetTestSupport"]),
        .testTarget(name: "SignetTUFTests", dependencies: ["SignetTUF", "SignetTestSupport", "SignetJSON", "SignetCrypto", "SignetHTTP"]),
    ],
    swiftLanguageModes: [.v6]
)
