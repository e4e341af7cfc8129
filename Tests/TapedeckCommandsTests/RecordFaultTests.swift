import Faults
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

        // Which of the connections 0…7 a fault applies to is fixed by the
        // seed: the run must reset exactly those, and some but not all.
        let plan = [
            try Fault(.resetPeer(timeout: .seconds(1)), stream: .upstream, toxicity: 0.3),
            try Fault(.resetPeer(timeout: .seconds(1)), stream: .downstream, toxicity: 0.3),
        ]
        let predicted = (0..<8).filter { id in
            FaultStream.allCases.contains { FaultPipeline(stream: $0, faults: plan, seed: 7, connectionID: UInt64(id), at: .zero).applies.contains(true) }
        }.count
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

        let manifest = try JSONDecoder().decode(RecordingManifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        #expect(manifest.sessions.count == 8)
        var markedReset: Set<UInt16> = []
        for session in manifest.sessions {
            let port = try #require(UInt16(session.client.split(separator: ":").last ?? ""))
            guard let faults = session.faults else {
                #expect(session.end == "fin", "session \(session.index): untouched, it ends with FINs")
                continue
            }
            #expect(faults.count == 1, "one fault resets the connection; the other never saw data: \(faults)")
            let fault = try #require(faults.first)
            #expect(fault.type == "reset_peer" && fault.action == "reset" && fault.name == "reset_peer_\(fault.stream)")
            #expect(session.end == "rst")
            markedReset.insert(port)
        }
        #expect(markedReset == resetPorts, "the manifest marks exactly the clients that were reset")

        // One RST each way per reset session: toward the client (as sent by
        // the server's side) and toward the upstream (as sent by the client's).
        let resets = try TShark.resets(recording)
        #expect(resets.count == 2 * predicted)
        for port in resetPorts {
            let ofSession = resets.filter { $0.source == port || $0.destination == port }
            #expect(ofSession.count == 2)
            #expect(ofSession.contains { $0.source == upstreamPort && $0.destination == port })
            #expect(ofSession.contains { $0.source == port && $0.destination == upstreamPort })
        }

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
