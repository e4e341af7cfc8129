import Foundation
import NIOConcurrencyHelpers

/// A program running beside a test: its output lines are collected as they
/// come, and every wait on it is bounded.
public final class BackgroundProcess: @unchecked Sendable {
    public let process = Process()
    private let lines = NIOLockedValueBox<[String]>([])
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `executable`; standard output and standard error are merged
    /// into `outputLines` — unless `standardOutput` (a `FileHandle` or
    /// `Pipe`) takes standard output. Standard input is `standardInput`, or
    /// empty.
    public init(_ executable: String, _ arguments: [String], standardInput: Any? = nil, standardOutput: Any? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = standardInput ?? FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = standardOutput ?? pipe
        process.standardError = pipe
        let collected = lines
        let pending = NIOLockedValueBox(Data())
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            let complete = pending.withLockedValue { pending -> [String] in
                pending.append(data)
                var complete: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    complete.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
                return complete
            }
            collected.withLockedValue { $0 += complete }
        }
        let done = exited
        process.terminationHandler = { _ in done.signal() }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var outputLines: [String] { lines.withLockedValue { $0 } }

    /// The first output line containing `text`, waiting up to `timeout`
    /// and looking every `poll`.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(10), poll: Duration = .milliseconds(20)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = outputLines.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
        }
        throw ChildProcess.Failure(description: "no output line containing '\(text)' within \(timeout); output so far:\n\(outputLines.joined(separator: "\n"))")
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the exit; returns the status (or 128 + the signal). Kills
    /// the process and throws when it outlives `timeout`. Can be called
    /// again after the exit (a test's `defer` stopping it once more).
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(15)) throws -> Int32 {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        // The exit is signalled once: put it back for the next caller.
        defer { exited.signal() }
        if exited.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            throw ChildProcess.Failure(description: "process did not exit within \(timeout); output:\n\(outputLines.joined(separator: "\n"))")
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
}
