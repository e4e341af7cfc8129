import Foundation
import NIOCore
import PcapFile
@testable import Recording
import TapedeckTestSupport
import Testing

/// A recording of more sessions than its writer keeps in memory: the
/// finished sessions go to a spill file beside the recording, and the
/// manifest is merged from it in index order, byte for byte what encoding
/// the whole manifest at once gives.
@Suite struct ManySessionsManifestTests {
    @Test func aManifestMergedFromSpilledSessionsIsTheWholeOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("many.pcap")
        let writer = try RecordingFileWriter(path: path)
        let sessions = FinishedSummaries.runLength * 2 + 1_000
        var clock = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)
        func tick() -> Timestamp {
            clock = clock.advanced(by: .microseconds(10))
            return clock
        }
        let client = try Endpoint(parsing: "10.0.0.1:40000"), server = try Endpoint(parsing: "10.0.0.2:6379")
        // Sessions end out of order: each even one waits for the odd one after it.
        for index in 0..<sessions {
            let session = Session(index: index, client: client, server: server, opened: tick())
            try writer.open(session)
            let bytes = ByteBuffer(string: "session \(index)\r\n")
            try writer.append(SessionEvent(time: tick(), direction: .clientToServer, kind: .data(bytes)), session: UInt64(index))
            if index % 2 == 1 {
                writer.close(session: UInt64(index), at: tick())
                writer.close(session: UInt64(index - 1), at: tick())
            }
        }
        // One session in a run already spilled lost bytes; one still open is closed by finish.
        writer.addUnrecorded(7, direction: .serverToClient, session: 10)
        try writer.finish()

        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.sessions.count == sessions)
        #expect(manifest.sessions.map(\.index) == Array(0..<sessions))
        #expect(manifest.sessions[10].serverToClient.unrecordedBytes == 7)
        #expect(manifest.sessions.filter { $0.serverToClient.unrecordedBytes > 0 }.count == 1)
        #expect(manifest.sessions[sessions - 1].end == .open)
        #expect(manifest.sessions[1234].clientToServer.bytes == "session 1234\r\n".utf8.count)

        // The same manifest written whole has the same bytes.
        let whole = directory.file("whole.json")
        try manifest.write(to: whole)
        #expect(try Data(contentsOf: URL(fileURLWithPath: whole)) == Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: path))))
        // The spill file was unlinked as soon as it was made.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)) == ["many.pcap", "many.pcap.json", "whole.json"])
    }
}
