// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tapedeck",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tapedeck", targets: ["tapedeck"]),
        .library(name: "PcapFile", targets: ["PcapFile"]),
        .library(name: "Recording", targets: ["Recording"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPCAP",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .target(
            name: "PcapFile",
            dependencies: ["CLibPCAP"]
        ),
        .target(
            name: "Recording",
            dependencies: [
                "PcapFile",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TapedeckCommands",
            dependencies: [
                "PcapFile",
                "Recording",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "tapedeck",
            dependencies: ["TapedeckCommands"]
        ),
        .testTarget(
            name: "PcapFileTests",
            dependencies: ["PcapFile"]
        ),
        .testTarget(
            name: "RecordingTests",
            dependencies: [
                "PcapFile",
                "Recording",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Captures")]
        ),
        .testTarget(
            name: "TapedeckCommandsTests",
            dependencies: ["TapedeckCommands", "Recording", "PcapFile"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
