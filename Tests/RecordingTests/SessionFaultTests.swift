import Foundation
import NIOCore
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Sessions a fault acted on, as a recording holds them: each peer's RST in
/// the pcap, the faults in the manifest, both read back.
@Suite struct SessionFaultTests {
    static let client = try! Endpoint(parsing: "127.0.0.1:51000")
    static let server = try! Endpoint(parsing: "127.0.0.1:6379")
    static let start = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)
    static let reset = SessionFault(name: "reset_peer_upstream", type: "reset_peer", stream: "upstream", action: "reset")

    static func at(_ milliseconds: Int64) -> Timestamp { start.advanced(by: .milliseconds(milliseconds)) }

    /// Tapedeck reset both legs: the client got an RST "from the server",
    /// the upstream one "from the client". A second RST the same way (the
    /// other leg passing a reset on) adds nothing.
    @Test func aResetOfBothLegsIsOneRSTEachWay() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("reset.pcap")
        let writer = try RecordingFileWriter(path: path)
        try writer.open(Session(index: 0, client: Self.client, server: Self.server, opened: Self.start))
        try writer.append(SessionEvent(time: Self.at(1), direction: .clientToServer, kind: .data(ByteBuffer(string: "GET"))), session: 0)
        try writer.append(SessionEvent(time: Self.at(2), direction: .serverToClient, kind: .reset), session: 0)
        try writer.append(SessionEvent(time: Self.at(2), direction: .clientToServer, kind: .reset), session: 0)
        try writer.append(SessionEvent(time: Self.at(3), direction: .serverToClient, kind: .reset), session: 0)
        try writer.append(SessionEvent(time: Self.at(3), direction: .clientToServer, kind: .halfClose), session: 0)
        try writer.finish()

        let resets = try TShark.resets(path)
        #expect(resets.count == 2)
        #expect(resets.first.map { [$0.source, $0.destination] } == [6379, 51000], "first the client's RST")
        #expect(resets.last.map { [$0.source, $0.destination] } == [51000, 6379], "then the upstream's")
        #expect(try TShark.run(["-r", path, "-Y", "tcp.flags.fin == 1"]).isEmpty, "no FIN after the reset")
        var ends: [SessionEnd] = []
        try StreamReassembler.read(paths: [path]) { event in
            if case .closed(_, _, let end) = event { ends.append(end) }
        }
        #expect(ends == [.reset])
    }

    /// The manifest lists, per session, the faults that acted on it (the
    /// last list it was sent); a session no fault touched has no `faults`.
    @Test func theManifestListsTheFaultsThatActed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("faults.pcap")
        let writer = try RecordingFileWriter(path: path)
        let delayed = SessionFault(name: "latency_downstream", type: "latency", stream: "downstream", action: "delayed")
        for index in 0..<2 {
            let client = try Endpoint(parsing: "127.0.0.1:\(51000 + index)")
            try writer.open(Session(index: index, client: client, server: Self.server, opened: Self.at(Int64(index))))
        }
        writer.setFaults([delayed], session: 0)
        writer.setFaults([delayed, Self.reset], session: 0)
        try writer.append(SessionEvent(time: Self.at(5), direction: .serverToClient, kind: .reset), session: 0)
        for direction in Direction.allCases {
            try writer.append(SessionEvent(time: Self.at(5), direction: direction, kind: .halfClose), session: 1)
        }
        try writer.finish()

        let text = try String(contentsOfFile: Manifest.path(forRecording: path), encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let sessions = try #require(json["sessions"] as? [[String: Any]])
        #expect(sessions[0]["faults"] as? [[String: String]] == [
            ["name": "latency_downstream", "type": "latency", "stream": "downstream", "action": "delayed"],
            ["name": "reset_peer_upstream", "type": "reset_peer", "stream": "upstream", "action": "reset"],
        ])
        #expect(sessions[1]["faults"] == nil, "\(text)")

        var read: [Int: [SessionFault]] = [:]
        var summaries = SessionSummaries()
        try RecordingReader(paths: [path]).read { event in
            if case .opened(let session) = event { read[session.index] = session.faults }
            summaries.take(event)
        }
        #expect(read == [0: [delayed, Self.reset], 1: []])
        #expect(summaries.closed.first { $0.index == 0 }?.faults == [delayed, Self.reset])
        #expect(summaries.closed.first { $0.index == 1 }?.faults == nil)
    }

    /// A session that goes on in the next file of a rotated set keeps the
    /// faults that acted on it before; read as a set, the later list wins.
    @Test func faultsGoOnIntoTheNextFileOfASet() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = directory.file("set_00000.pcap")
        let second = directory.file("set_00001.pcap")
        let dropped = SessionFault(name: "reset_peer_upstream", type: "reset_peer", stream: "upstream", action: "dropped")
        let writerA = try RecordingFileWriter(path: first)
        try writerA.open(Session(index: 0, client: Self.client, server: Self.server, opened: Self.start))
        try writerA.append(SessionEvent(time: Self.at(1), direction: .clientToServer, kind: .data(ByteBuffer(string: "x"))), session: 0)
        writerA.setFaults([dropped], session: 0)
        let continuations = writerA.continuations
        try writerA.finish()
        let alone = try RecordingFileWriter(path: directory.file("alone.pcap"))
        alone.continue(continuations)
        try alone.finish()
        #expect(try Manifest.load(forRecording: directory.file("alone.pcap"))?.sessions.first?.faults == [dropped], "carried into the next file")
        let writerB = try RecordingFileWriter(path: second)
        writerB.continue(continuations)
        writerB.setFaults([Self.reset], session: 0)
        try writerB.append(SessionEvent(time: Self.at(2), direction: .serverToClient, kind: .reset), session: 0)
        try writerB.finish()

        var read: [SessionFault] = []
        var summaries = SessionSummaries()
        try RecordingReader(paths: [first, second]).read { event in
            if case .opened(let session) = event { read = session.faults }
            summaries.take(event)
        }
        #expect(read == [Self.reset])
        #expect(summaries.closed.first?.end == .reset)
    }
}
