// swift-tools-version:6.1
// Internal benchmarks of Tapedeck's hot paths (ordo-one/benchmark), kept in a
// package of their own so the main package does not depend on the benchmark
// tooling. Run them with scripts/bench-internal, or:
//   swift package --package-path Benchmarks --scratch-path Benchmarks/.build benchmark
import Foundation
import PackageDescription

// HotPaths measures Tapedeck's `package`-access hot paths (FrameSynthesizer,
// RecordingFileWriter), so it compiles as part of Tapedeck's package: SwiftPM
// names a root package's module package after its directory, lowercased, with
// every other character than a letter or digit made `_`.
let tapedeckPackageName: String = {
    let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent
    return String(root.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
}()

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
            // Off, or SwiftPM's own `-package-name` for this package would win.
            packageAccess: false,
            swiftSettings: [.unsafeFlags(["-package-name", tapedeckPackageName])],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
