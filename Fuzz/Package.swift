// swift-tools-version:6.1
// A libFuzzer harness for Tapedeck's protocol framers, in a package of its
// own so the main package never builds with the fuzzer runtime. Run it with
// scripts/fuzz-protocols, or:
//   swift build --package-path Fuzz --scratch-path Fuzz/.build --sanitize fuzzer
//   Fuzz/.build/debug/ProtocolsFuzzer -max_total_time=60 Fuzz/Corpus
import PackageDescription

let package = Package(
    name: "TapedeckFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Tapedeck", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "ProtocolsFuzzer",
            dependencies: [
                .product(name: "Protocols", package: "Tapedeck"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
