import Foundation

/// Runs a program to completion, bounded in time, with its standard output
/// and standard error captured.
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    public struct Result: Sendable {
        public var status: Int32
        public var reason: Process.TerminationReason
        public var standardOutput: Data
        public var standardError: String

        public var errorLines: [String] {
            standardError.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }

        /// Killed by a signal (a Swift trap is SIGILL or SIGTRAP), or an exit
        /// status a shell reports for one.
        public var crashed: Bool {
            reason == .uncaughtSignal || status >= 128
        }
    }

    /// Runs `executable` with `arguments` (standard input: the file at
    /// `standardInput`, or empty); kills it and throws when it runs longer
    /// than `timeoutSeconds`. Output goes through files, so neither stream
    /// can fill a pipe and stall the child.
    public static func run(_ executable: String, _ arguments: [String], standardInput: String? = nil, timeoutSeconds: Int = 60) throws -> Result {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let outputPath = directory.file("stdout")
        let errorPath = directory.file("stderr")
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              FileManager.default.createFile(atPath: errorPath, contents: nil)
        else {
            throw Failure(description: "could not create output files in \(directory.path)")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let standardInput {
            guard let input = FileHandle(forReadingAtPath: standardInput) else {
                throw Failure(description: "cannot read \(standardInput)")
            }
            process.standardInput = input
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = output
        process.standardError = errors
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        try output.close()
        try errors.close()
        if exited.wait(timeout: .now() + .seconds(timeoutSeconds)) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) ran longer than \(timeoutSeconds) s and was killed")
        }
        return Result(
            status: process.terminationStatus,
            reason: process.terminationReason,
            standardOutput: try Data(contentsOf: URL(fileURLWithPath: outputPath)),
            standardError: try String(contentsOfFile: errorPath, encoding: .utf8)
        )
    }
}
