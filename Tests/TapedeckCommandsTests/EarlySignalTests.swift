import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// A SIGTERM sent the moment a long-running command says it listens (a
/// script that starts it, reads the port and stops it) stops it as any
/// later one does: the summary, exit status 0 — never death by the signal.
@Suite(.serialized) struct EarlySignalTests {
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis.pcap").path

    @Test(arguments: [
        (["replay", "serve", "RECORDING", "--listen", "127.0.0.1:0"], "listener.address=", "connections 0 · sessions used 0"),
        (["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--quiet"], "listener.address=", " stopped "),
        (["sample-server", "--listen", "127.0.0.1:0"], "echo server listening on ", nil),
    ])
    func sigtermRightAfterListeningStopsCleanly(arguments: [String], listening: String, summary: String?) throws {
        let binary = try TapedeckBinary.located.get()
        for run in 1...20 {
            let process = try BackgroundProcess(binary, arguments.map { $0 == "RECORDING" ? Self.recording : $0 })
            _ = try process.waitForLine(containing: listening, poll: .microseconds(200))
            process.signal(SIGTERM)
            let status = try process.waitForExit()
            #expect(status == 0, "run \(run): \(process.outputLines.joined(separator: "\n"))")
            if let summary {
                #expect(process.outputLines.contains { $0.contains(summary) }, "run \(run): \(process.outputLines.joined(separator: "\n"))")
            }
            if status != 0 { return }
        }
    }
}
