// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tapedeck",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tapedeck", targets: ["tapedeck"]),
        .library(name: "PcapFile", targets: ["PcapFile"]),
        .library(name: "Recording", targets: ["Recording"]),
        .library(name: "Faults", targets: ["Faults"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "Replay", targets: ["Replay"]),
        .library(name: "TapedeckTesting", targets: ["TapedeckTesting"]),
        .library(name: "Protocols", targets: ["Protocols"]),
        .library(name: "TapedeckTLS", targets: ["TapedeckTLS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPCAP",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(
            name: "CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        .systemLibrary(
            name: "CCompression",
            providers: [.apt(["zlib1g-dev", "libzstd-dev"])]
        ),
        // The Linux calls of the proxy's splice path that Glibc's overlay leaves out.
        .target(name: "CSplice"),
        // Read-only mappings that a file cut short under them does not crash (SIGBUS).
        .target(name: "CMappingGuard"),
        // RFC 1071's word sum, vectorised, for the checksum of every recorded frame.
        .target(name: "CInternetChecksum"),
        .target(
            name: "PcapFile",
            dependencies: ["CLibPCAP", "CCompression", "CMappingGuard"]
        ),
        .target(name: "TapedeckErrors"),
        .target(
            name: "Recording",
            dependencies: [
                "TapedeckErrors",
                "PcapFile",
                "CInternetChecksum",
                "CPCRE2",
                "CXXHash",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Faults",
            dependencies: [
                "TapedeckErrors",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Sockets",
            dependencies: [
                "TapedeckErrors",
                "Recording",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TapedeckTLS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SampleServer",
            dependencies: [
                "Recording",
                "Sockets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Proxy",
            dependencies: [
                "TapedeckErrors",
                "TapedeckTLS",
                "Faults",
                "Recording",
                "Sockets",
                "PcapFile",
                "CSplice",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Replay",
            dependencies: [
                "CXXHash",
                "TapedeckErrors",
                "TapedeckTLS",
                "Faults",
                "Protocols",
                "Recording",
                "Sockets",
                "PcapFile",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TapedeckTesting",
            dependencies: [
                "TapedeckTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "Proxy",
                "Replay",
                "Faults",
                "Recording",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Report",
            dependencies: [
                "Protocols",
                "Recording",
                "Replay",
                "PcapFile",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .target(
            name: "ControlAPI",
            dependencies: [
                "TapedeckTLS",
                "Proxy",
                "Report",
                "Faults",
                "Recording",
                "PcapFile",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TapedeckCommands",
            dependencies: [
                "TapedeckTLS",
                "ControlAPI",
                "PcapFile",
                "Recording",
                "Proxy",
                "Faults",
                "Protocols",
                "Replay",
                "Report",
                "SampleServer",
                "Sockets",
                "CStandardIO",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CStandardIO"),
        .executableTarget(
            name: "tapedeck",
            dependencies: ["TapedeckCommands", "CMalloc"]
        ),
        .target(
            name: "TapedeckTestSupport",
            dependencies: [
                "TapedeckTLS",
                "Faults",
                "Recording",
                "SampleServer",
                "Sockets",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .target(
            name: "Protocols",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ProtocolsTests",
            dependencies: [
                "Protocols",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TapedeckTLSTests",
            dependencies: [
                "TapedeckTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
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
                "TapedeckTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Captures")]
        ),
        .testTarget(
            name: "FaultsTests",
            dependencies: [
                "Faults",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SocketsTests",
            dependencies: [
                "Sockets",
                "Recording",
                "TapedeckTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ProxyTests",
            dependencies: [
                "Proxy",
                "Faults",
                "Recording",
                "PcapFile",
                "SampleServer",
                "TapedeckTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ReplayTests",
            dependencies: [
                "TapedeckTLS",
                "Replay",
                "Faults",
                "Recording",
                "PcapFile",
                "Proxy",
                "SampleServer",
                "TapedeckTesting",
                "TapedeckTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ControlAPITests",
            dependencies: [
                "ControlAPI",
                "Proxy",
                "Faults",
                "Recording",
                "PcapFile",
                "SampleServer",
                "TapedeckTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Python")]
        ),
        .testTarget(
            name: "ReportTests",
            dependencies: [
                "Report", "Recording", "PcapFile", "Replay", "TapedeckTestSupport",
            ],
            resources: [.copy("Browser")]
        ),
        .testTarget(
            name: "TapedeckCommandsTests",
            dependencies: [
                "TapedeckCommands", "Recording", "PcapFile", "TapedeckTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
