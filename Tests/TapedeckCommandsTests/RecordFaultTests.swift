import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// Faults as a user records them: what each client saw, what the recording
/// and its manifest say, what tshark finds and what the log counts must
/// all agree.
@Suite(.serialized) struct RecordFaultTests {
    /// `--reset-after 1s --toxicity 0.3 --seed 7` on both streams, eight
    /// clients that hold their connection for 2 s: the clients reset are
    /// exactly the sessions the manifest marks reset, each recorded with one
    /// RST toward the client and one toward the upstream, and the log
    /// counts one fired fault per reset connection.
    @Test func everyInjectedResetIsSeenRecordedListedAndCountedOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let upstreamPort = try #require(UInt16(sample.endpoint.split(separator: ":").last ?? ""))
        let recording = directory.file("faults.pcap")
        let (recorder, listen) = try TapedeckProcess.proxy([
            "record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", recording,
            "--reset-after", "1s", "--toxicity", "0.3", "--seed", "7", "--quiet",
        ])
        defer { recorder.stop() }
        // Which of the connections 0…7 the faults apply to is fixed by the
        // seed: the run must reset exactly that many, and some but not all.
        let predicted = try ResetAccount.predicted(seed: 7, toxicity: 0.3, connections: 8)
        #expect((1...7).contains(predicted), "seed 7 should reset some of the eight connections, not \(predicted)")

        let clients = try await HeldClients.run(listen, count: 8, hold: .seconds(2))
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)

        let resetPorts = Set(clients.filter { $0.outcome == .reset }.map(\.port))
        #expect(resetPorts.count == predicted, "\(clients.map { "\($0.port) \($0.outcome)" })")
        for client in clients where client.outcome != .reset {
            #expect(client.outcome == .held)
            #expect(client.received == client.sent, "an untouched client gets its echo")
        }
        let account = try ResetAccount(recording: recording, upstreamPort: upstreamPort)
        #expect(account.markedReset == resetPorts, "the manifest marks exactly the clients that were reset")
        #expect(account.touched == resetPorts)
        #expect(account.listed.count == predicted, "one fault per reset connection; the other one never saw data: \(account.listed)")
        #expect(account.listed.allSatisfy { $0.name == "reset_peer_\($0.stream)" })
        #expect(account.untouchedEnds == Array(repeating: .fin, count: 8 - predicted))
        #expect(account.resetCount == 2 * predicted)
        #expect(account.eachWayOnce(resetPorts), "\(account.resets)")

        let stopped = try #require(recorder.outputLines.first { $0.contains(" stopped ") })
        #expect(stopped.contains("faults.fired=\(predicted) "), "\(stopped)")

        let inspected = try TapedeckBinary.inspectJSON([recording])
        #expect(inspected.filter { $0.faults != nil }.count == predicted)
        let table = String(decoding: try TapedeckBinary.run(["inspect", recording]).standardOutput, as: UTF8.self)
        #expect(table.split(separator: "\n").first?.hasSuffix("  faults") == true, "\(table)")
        #expect(table.components(separatedBy: ": reset").count - 1 == predicted, "\(table)")
        #expect(table.contains(", \(predicted) touched by faults\n"), "\(table)")
    }
}
