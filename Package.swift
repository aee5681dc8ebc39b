// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Signet",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SignetCrypto", targets: ["SignetCrypto"]),
    ],
    targets: [
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "SignetCrypto", dependencies: ["CSodium", "COpenSSL"]),
        .testTarget(name: "SignetCryptoTests", dependencies: ["SignetCrypto"]),
    ],
    swiftLanguageModes: [.v6]
)
