// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Signet",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SignetCrypto", targets: ["SignetCrypto"]),
        .library(name: "SignetHTTP", targets: ["SignetHTTP"]),
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
        .testTarget(name: "SignetCryptoTests", dependencies: ["SignetCrypto"]),
        .testTarget(name: "SignetHTTPTests", dependencies: ["SignetHTTP"]),
    ],
    swiftLanguageModes: [.v6]
)
