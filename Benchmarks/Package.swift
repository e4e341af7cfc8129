// swift-tools-version:6.1
// Internal benchmarks of Tapedeck's hot paths (ordo-one/benchmark), kept in a
// package of their own so the main package does not depend on the benchmark
// tooling. Run them with scripts/bench-internal, or:
//   swift package --package-path Benchmarks --scratch-path Benchmarks/.build benchmark
import PackageDescription

let package = Package(
    name: "TapedeckBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Tapedeck", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Recording", package: "Tapedeck"),
                .product(name: "PcapFile", package: "Tapedeck"),
                .product(name: "Faults", package: "Tapedeck"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
