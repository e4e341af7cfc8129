import Crypto
import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck inspect`, run as a user runs it, against tshark's reading of the
/// same captures.
@Suite struct InspectCommandTests {
    @Test func fixturesArePresent() {
        let captures = Set(Fixture.captures.map(\.name))
        #expect(captures.isSuperset(of: ["redis.pcap", "http6-any.pcap", "http4.pcapng", "midflow.pcap", "redis-snaplen.pcap"]))
        #expect(Set(Fixture.recordings.map(\.name)) == ["http.pcap", "redis.pcap", "redis-tcp.pcap", "redis-unix.pcap", "http-proxy.pcap"])
    }

    /// The acceptance check: per direction, exactly the bytes tshark's
    /// Follow TCP Stream gives, on every capture tcpdump or dumpcap made.
    @Test(arguments: Fixture.all)
    func jsonBytesAndHashesMatchTsharkFollow(_ fixture: Fixture) throws {
        let result = try TapedeckBinary.run(["inspect", "--format", "json", fixture.path])
        #expect(result.status == 0)
        #expect(result.standardError == "")
        let sessions = try JSONDecoder().decode([InspectedSession].self, from: result.standardOutput)
        let streams = try TShark.followEveryStream(fixture.path)

        #expect(sessions.count == streams.count)
        #expect(sessions.map(\.index) == Array(sessions.indices))
        for session in sessions {
            let followed = try session.followed(in: streams)
            #expect(!followed.clientToServer.isEmpty || !followed.serverToClient.isEmpty, "session \(session.index) carried nothing")
            #expect(session.clientToServer.bytes == followed.clientToServer.count, "session \(session.index) client→server")
            #expect(session.clientToServer.sha256 == sha256(followed.clientToServer), "session \(session.index) client→server")
            #expect(session.serverToClient.bytes == followed.serverToClient.count, "session \(session.index) server→client")
            #expect(session.serverToClient.sha256 == sha256(followed.serverToClient), "session \(session.index) server→client")
            #expect(session.start.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z/) != nil, "start \(session.start)")
            #expect(session.durationNanoseconds >= 0)
        }
    }

    @Test(arguments: Fixture.all)
    func dumpWritesWhatTsharkFollows(_ fixture: Fixture) throws {
        let sessions = try TapedeckBinary.inspectJSON([fixture.path])
        let streams = try TShark.followEveryStream(fixture.path)
        try #require(!sessions.isEmpty)

        for session in sessions {
            let followed = try session.followed(in: streams)
            for (side, expected) in [("client", followed.clientToServer), ("server", followed.serverToClient)] {
                let result = try TapedeckBinary.run(["inspect", fixture.path, "--session", String(session.index), "--dump", side])
                #expect(result.status == 0, "session \(session.index) \(side): \(result.standardError)")
                #expect(Array(result.standardOutput) == expected, "session \(session.index) \(side)")
            }
        }
    }

    @Test func filterSelectsByPort() throws {
        let path = Fixture.capture("redis.pcap").path
        let whole = try TapedeckBinary.inspectJSON([path])
        try #require(whole.count == 5)
        let chosen = whole[2]
        let clientPort = try #require(try Endpoint(parsing: chosen.client).port)

        let filtered = try TapedeckBinary.inspectJSON([path, "--filter", "tcp port \(clientPort)"])
        let byServerPort = try TapedeckBinary.inspectJSON([path, "--filter", "tcp port 6390"])
        let none = try TapedeckBinary.inspectJSON([path, "--filter", "tcp port 1"])

        try #require(filtered.count == 1)
        #expect(filtered[0].client == chosen.client)
        #expect(filtered[0].server == chosen.server)
        #expect(filtered[0].clientToServer == chosen.clientToServer)
        #expect(filtered[0].serverToClient == chosen.serverToClient)
        #expect(byServerPort.map(\.clientToServer) == whole.map(\.clientToServer))
        #expect(none == [])
    }

    @Test func sessionSelectsOneByIndex() throws {
        let path = Fixture.capture("redis.pcap").path
        let whole = try TapedeckBinary.inspectJSON([path])

        let selected = try TapedeckBinary.inspectJSON([path, "--session", "3"])

        #expect(selected == [whole[3]])
    }

    @Test func badFilterFailsWithOneLine() throws {
        let result = try TapedeckBinary.run(["inspect", Fixture.capture("redis.pcap").path, "--filter", "tcp port"])

        #expect(result.status == 2)
        #expect(!result.crashed)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix("tapedeck: ") == true)
        #expect(result.standardError.contains("tcp port"))
    }

    @Test(arguments: Fixture.recordings)
    func recordingShowsTheEndpointsItsManifestNames(_ fixture: Fixture) throws {
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: fixture.path + ".json"))
        let manifest = try JSONDecoder().decode(RecordingManifest.self, from: manifestData)

        let sessions = try TapedeckBinary.inspectJSON([fixture.path])

        try #require(sessions.count == manifest.sessions.count)
        for (shown, listed) in zip(sessions, manifest.sessions) {
            #expect(shown.index == listed.index)
            #expect(shown.client == listed.client)
            #expect(shown.server == listed.server)
            #expect(shown.clientToServer == listed.clientToServer)
            #expect(shown.serverToClient == listed.serverToClient)
            #expect(shown.end == listed.end)
        }
    }

    @Test(arguments: Fixture.all)
    func tableEndsWithTotals(_ fixture: Fixture) throws {
        let sessions = try TapedeckBinary.inspectJSON([fixture.path])
        let result = try TapedeckBinary.run(["inspect", fixture.path])
        #expect(result.status == 0)
        let lines = String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)

        let sent = sessions.reduce(0) { $0 + $1.clientToServer.bytes }
        let received = sessions.reduce(0) { $0 + $1.serverToClient.bytes }
        let count = sessions.count == 1 ? "1 session" : "\(sessions.count) sessions"
        #expect(lines.last == "\(count), \(sent) bytes client→server, \(received) bytes server→client")
        #expect(lines.count == sessions.count + 2, "a header, one row per session and the totals")
        for (row, session) in zip(lines.dropFirst(), sessions) {
            #expect(row.split(separator: " ").prefix(3) == [Substring(String(session.index)), Substring(session.client), Substring(session.server)])
        }
    }

    @Test func dumpWithoutSessionIsAUsageError() throws {
        let result = try TapedeckBinary.run(["inspect", Fixture.capture("redis.pcap").path, "--dump", "client"])

        #expect(result.status != 0)
        #expect(!result.crashed)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("--session"))
        #expect(result.standardError.contains("Usage: tapedeck inspect"))
    }

    @Test func dumpOfAMissingSessionFailsWithOneLine() throws {
        let result = try TapedeckBinary.run(["inspect", Fixture.capture("redis.pcap").path, "--session", "99", "--dump", "server"])

        #expect(result.status == 2)
        #expect(result.standardOutput.isEmpty)
        #expect(result.errorLines == ["tapedeck: no session 99 in the capture (tapedeck inspect lists them)"])
    }

    private func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
