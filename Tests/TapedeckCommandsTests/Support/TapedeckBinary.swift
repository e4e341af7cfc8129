import TapedeckTestSupport
import Foundation

/// The `tapedeck` executable SwiftPM built beside this test bundle; the tests
/// run it as a user would.
enum TapedeckBinary {
    /// Where the executable is, or why it was not found.
    static let located: Swift.Result<String, ChildProcess.Failure> = TapedeckExecutable.located

    /// Runs `tapedeck` with `arguments` (standard input: the file at `standardInput`, or empty).
    static func run(_ arguments: [String], standardInput: String? = nil) throws -> ChildProcess.Result {
        try ChildProcess.run(try located.get(), arguments, standardInput: standardInput)
    }

    /// Runs `tapedeck inspect --format json` and decodes what it printed.
    static func inspectJSON(_ arguments: [String], standardInput: String? = nil) throws -> [InspectedSession] {
        let result = try run(["inspect", "--format", "json"] + arguments, standardInput: standardInput)
        guard result.status == 0, !result.crashed else {
            throw ChildProcess.Failure(description: "tapedeck inspect \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return try JSONDecoder().decode([InspectedSession].self, from: result.standardOutput)
    }
}
