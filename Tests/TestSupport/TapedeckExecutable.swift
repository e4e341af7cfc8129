import Foundation

/// The `tapedeck` executable SwiftPM built beside the test bundle, for tests
/// that run it as a user would.
public enum TapedeckExecutable {
    /// Where the executable is, or why it was not found.
    public static let located: Swift.Result<String, ChildProcess.Failure> = locate()

    /// Under `swift test` on Linux the test bundle is an executable in the
    /// build's bin directory, so `arguments[0]` and `Bundle.main` point there;
    /// on macOS the `.xctest` bundle sits in that directory.
    private static func locate() -> Swift.Result<String, ChildProcess.Failure> {
        var directories = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        directories += Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map { $0.bundleURL.deletingLastPathComponent() }
        var candidates: [String] = []
        for path in directories.map({ $0.appendingPathComponent("tapedeck").standardizedFileURL.path }) where !candidates.contains(path) {
            candidates.append(path)
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return .success(found)
        }
        return .failure(ChildProcess.Failure(description: """
            the tapedeck executable is not beside the tests (looked for \(candidates.joined(separator: ", "))); \
            build it first: swift build --build-tests
            """))
    }
}
