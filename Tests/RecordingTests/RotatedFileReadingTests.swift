import Foundation
import NIOCore
import PcapFile
@testable import Recording
import TapedeckTestSupport
import Testing

/// A file of a rotated set read alone, as a kill leaves the one being
/// written: without its manifest, the sessions it went on with from the
/// file before are taken the right way round from that file's manifest.
@Suite struct RotatedFileReadingTests {
    // Both ports ephemeral, the client's the lower: the ports alone would
    // make the client the server.
    static let client = try! Endpoint(parsing: "127.0.0.1:40000")
    static let server = try! Endpoint(parsing: "127.0.0.1:50000")
    static let start = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)

    static func at(_ milliseconds: Int64) -> Timestamp { start.advanced(by: .milliseconds(milliseconds)) }

    /// What the one session of `path`, read alone, carried: its client and
    /// each direction's bytes.
    static func readAlone(_ path: String) throws -> (client: Endpoint?, toServer: String, toClient: String) {
        var client: Endpoint?
        var toServer = "", toClient = ""
        try RecordingReader(paths: [path]).read { event in
            switch event {
            case .opened(let session): client = session.client
            case .event(_, let event):
                guard case .data(let buffer) = event.kind else { return }
                if event.direction == .clientToServer { toServer += String(buffer: buffer) } else { toClient += String(buffer: buffer) }
            case .closed: break
            }
        }
        return (client, toServer, toClient)
    }

    @Test func aFileLeftWithoutItsManifestTakesItsContinuedSessionsFromTheFileBefore() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = directory.file("ring_00041.pcap")
        let second = directory.file("ring_00042.pcap")
        let before = try RecordingFileWriter(path: first)
        try before.open(Session(index: 0, client: Self.client, server: Self.server, opened: Self.start))
        try before.append(SessionEvent(time: Self.at(1), direction: .clientToServer, kind: .data(ByteBuffer(string: "GET /a"))), session: 0)
        let continuations = before.continuations
        try before.finish()
        let killed = try RecordingFileWriter(path: second)
        killed.continue(continuations)
        try killed.append(SessionEvent(time: Self.at(2), direction: .serverToClient, kind: .data(ByteBuffer(string: "200 OK"))), session: 0)
        try killed.append(SessionEvent(time: Self.at(3), direction: .clientToServer, kind: .data(ByteBuffer(string: "GET /b"))), session: 0)
        try killed.finish()
        try FileManager.default.removeItem(atPath: Manifest.path(forRecording: second))

        let read = try Self.readAlone(second)
        #expect(read.client == Self.client)
        #expect(read.toServer == "GET /b" && read.toClient == "200 OK", "\(read)")

        // Without the file before's manifest, only the ports are left.
        try FileManager.default.removeItem(atPath: Manifest.path(forRecording: first))
        let guessed = try Self.readAlone(second)
        #expect(guessed.client == Self.server, "the ports alone take the lower for the server")
    }

    @Test func theFileBeforeInASet() {
        #expect(FileNamer.previous(of: "/tmp/x/ring_00042.pcap") == "/tmp/x/ring_00041.pcap")
        #expect(FileNamer.previous(of: "ring_100000.pcap") == "ring_99999.pcap")
        #expect(FileNamer.previous(of: "/tmp/x_00003/ring_00010") == "/tmp/x_00003/ring_00009")
        #expect(FileNamer.previous(of: "ring_00000.pcap") == nil)
        #expect(FileNamer.previous(of: "ring_0042.pcap") == nil)
        #expect(FileNamer.previous(of: "ring00042.pcap") == nil)
        #expect(FileNamer.previous(of: "/tmp/x_00003/ring.pcap") == nil)
    }

    @Test func membersOfASet() {
        let set = FileNamer(path: "/tmp/x_00003/ring.pcap", numbered: true)
        for name in ["ring_00000.pcap", "ring_00042.pcap.json", "ring_123456.pcap"] {
            #expect(set.isMember(name), "\(name)")
        }
        for name in ["ring_0042.pcap", "ring_00042.json", "ring_00042.pcapng", "ring_x_00042.pcap", "ring00042.pcap", "x_00003", "ring.pcap"] {
            #expect(!set.isMember(name), "\(name)")
        }
        let bare = FileNamer(path: "ring", numbered: true)
        #expect(bare.isMember("ring_00010") && bare.isMember("ring_00010.json"))
        #expect(!bare.isMember("ring_00010.pcap"))
    }
}
