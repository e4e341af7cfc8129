import Foundation
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Captures of real traffic made by tcpdump and dumpcap (see Captures/README.md),
/// reassembled and compared with what tshark's Follow TCP Stream gives.
@Suite struct RealCaptureTests {
    struct Capture: CustomTestStringConvertible, Sendable {
        var file: String
        var linkType: LinkType
        var sessions: Int
        var testDescription: String { file }
        var path: String { RealCaptureTests.capturePath(file) }
    }

    static let captures = [
        Capture(file: "redis.pcap", linkType: .ethernet, sessions: 5),
        Capture(file: "http6-any.pcap", linkType: .linuxCooked2, sessions: 3),
        Capture(file: "http4.pcapng", linkType: .ethernet, sessions: 2),
        Capture(file: "midflow.pcap", linkType: .ethernet, sessions: 1),
    ]

    static func capturePath(_ file: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Captures").appendingPathComponent(file).path
    }

    @Test(arguments: captures)
    func everySessionMatchesTsharkFollowTCPStream(_ capture: Capture) throws {
        #expect(try PcapReader(path: capture.path).linkType == capture.linkType)

        let result = try Reassembled.read([capture.path])

        #expect(result.sessions.count == capture.sessions)
        #expect(try TShark.streamCount(capture.path) == capture.sessions)
        let followed = try TShark.follow(capture.path, streams: Array(0..<capture.sessions))
        for stream in result.sessions {
            // In these captures every stream's first packet comes from its client.
            let expected = try #require(followed[stream.session.index])
            #expect(!expected.client.isEmpty && !expected.server.isEmpty)
            #expect(stream.bytes(.clientToServer) == expected.client, "session \(stream.session.index) client bytes")
            #expect(stream.bytes(.serverToClient) == expected.server, "session \(stream.session.index) server bytes")
            #expect(stream.gaps(.clientToServer) + stream.gaps(.serverToClient) == [])
            #expect(stream.end == .fin)
        }
    }

    /// `inspect` and `--verify` take bytes delivered in order uncopied
    /// (`LentBytes`): their summaries — counts, gaps, ends, both checksums —
    /// must be those of the copied events, retransmissions, a capture begun
    /// mid-flow and snapshot-length cuts included.
    @Test(arguments: captures + [Capture(file: "redis-snaplen.pcap", linkType: .ethernet, sessions: 0)])
    func bytesLentUncopiedSummarizeAsBytesCopied(_ capture: Capture) throws {
        var copied = SessionSummaries(checksums: [.xxh3, .sha256])
        try StreamReassembler.read(paths: [capture.path]) { copied.take($0) }
        var lent = SessionSummaries(checksums: [.xxh3, .sha256])
        var lentBytes = 0
        try StreamReassembler.read(paths: [capture.path], lend: { bytes in
            lentBytes += bytes.bytes.count
            lent.take(bytes)
        }) { lent.take($0) }
        #expect(lentBytes > 0)
        #expect(!copied.closed.isEmpty)
        #expect(lent.closed == copied.closed)
    }

    @Test func snapshotLengthCutBytesAreGapsOfTheRightSize() throws {
        let path = Self.capturePath("redis-snaplen.pcap")

        let result = try Reassembled.read([path])

        try #require(result.sessions.count == 3)
        let followed = try TShark.follow(path, streams: [0, 1, 2])
        // Stream lengths from the RESP messages: SET big <70,000 bytes>, GET big, PING.
        let lengths: [(client: Int, server: Int)] = [(70_032, 5), (22, 70_010), (14, 7)]
        for stream in result.sessions {
            let index = stream.session.index
            #expect(stream.bytes(.clientToServer) == followed[index]?.client)
            #expect(stream.bytes(.serverToClient) == followed[index]?.server)
            #expect(stream.bytes(.clientToServer).count + stream.gaps(.clientToServer).reduce(0, +) == lengths[index].client)
            #expect(stream.bytes(.serverToClient).count + stream.gaps(.serverToClient).reduce(0, +) == lengths[index].server)
            #expect(stream.end == .fin)
        }
        #expect(result.sessions[0].gaps(.clientToServer).count == 3)
    }

    @Test func redisSessionsHaveTheirRolesAndRequests() throws {
        let result = try Reassembled.read([Self.capturePath("redis.pcap")])

        for stream in result.sessions {
            #expect(stream.session.server.port == 6390)
            #expect(!stream.session.startedMidFlow)
        }
        #expect(Array(result.sessions[0].bytes(.clientToServer).prefix(13)) == Array("*3\r\n$3\r\nSET\r\n".utf8))
        #expect(result.sessions[4].bytes(.serverToClient).suffix(7) == Array("+PONG\r\n".utf8))
    }

    @Test func captureStartedMidFlowKeepsItsRoles() throws {
        let stream = try #require(try Reassembled.read([Self.capturePath("midflow.pcap")]).sessions.first)

        #expect(stream.session.startedMidFlow)
        #expect(stream.session.server.port == 6390)
        #expect(stream.bytes(.clientToServer).starts(with: Array("SET after yyy".utf8)))
        #expect(stream.bytes(.serverToClient).suffix(7) == Array("+PONG\r\n".utf8))
    }

    @Test func filterSelectsOneConnection() throws {
        let whole = try Reassembled.read([Self.capturePath("redis.pcap")])
        guard case .ip(_, let port) = whole.sessions[2].session.client else {
            Issue.record("not an IP session")
            return
        }

        let filtered = try Reassembled.read([Self.capturePath("redis.pcap")], filter: "tcp port \(port)")

        try #require(filtered.sessions.count == 1)
        #expect(filtered.sessions[0].session.client == whole.sessions[2].session.client)
        #expect(filtered.sessions[0].steps == whole.sessions[2].steps)
    }

    @Test func rotatedSetReadsAsOneCapture() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = Self.capturePath("redis.pcap")
        #expect(try run("/usr/bin/editcap", ["-c", "7", source, directory.file("part.pcap")]) == 0)
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map(directory.file)
        try #require(parts.count > 5)

        let whole = try Reassembled.read([source])
        let rotated = try Reassembled.read(parts)

        #expect(rotated.sessions.count == whole.sessions.count)
        for (a, b) in zip(rotated.sessions, whole.sessions) {
            #expect(a.session == b.session)
            #expect(a.mergedSteps == b.mergedSteps)
            #expect(a.end == b.end)
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
