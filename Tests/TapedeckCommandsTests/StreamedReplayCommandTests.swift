import Foundation
import Recording
import Replay
import TapedeckTestSupport
import Testing

/// `replay drive` and `replay serve` over a recording of many sessions,
/// which they stream from a temporary file session by session: every byte
/// reaches the real server, and the real client, as recorded.
@Suite struct StreamedReplayCommandTests {
    static let sessions = 120

    /// The bytes session `index` sends: its own pattern, sizes from 1 byte to ~60 KB.
    static func message(_ index: Int) -> [UInt8] {
        let count = index % 10 == 0 ? 60_000 + index : 1 + (index * 997) % 5_000
        return (0..<count).map { UInt8(truncatingIfNeeded: $0 * (index + 3) + index) }
    }

    /// `tapedeck record` in front of `tapedeck sample-server` (an echo)
    /// while one client after another sends its message, reads the echo
    /// and half-closes.
    static func record(in directory: TemporaryDirectory) async throws -> String {
        let (upstream, upstreamEndpoint) = try TapedeckProcess.sampleServer()
        defer { upstream.stop() }
        let path = directory.file("many.pcap")
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstreamEndpoint, "-w", path, "--quiet"])
        for index in 0..<sessions {
            let echoed = try await BlockingClient.exchange(listen, send: message(index), halfClose: true)
            #expect(echoed == message(index))
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)
        return path
    }

    private static func report(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func driveSendsEverySessionsBytesToTheServerAsRecorded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        let (target, targetEndpoint) = try TapedeckProcess.sampleServer()
        defer { target.stop() }
        let result = try TapedeckBinary.run([
            "replay", "drive", recording, "--target", targetEndpoint, "--speed", "0", "--strict", "--compare", "bytes",
            "--report", directory.file("report.json"),
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try Self.report(directory.file("report.json"))
        let total = (0..<Self.sessions).reduce(0) { $0 + Self.message($1).count }
        #expect(report["sessions"] as? Int == Self.sessions)
        #expect(report["connect_failures"] as? Int == 0)
        // The echo answered every session with exactly what it was sent, and
        // the driver compared each answer with the recorded one.
        #expect(report["bytes_sent"] as? Int == total)
        #expect(report["bytes_received"] as? Int == total)
        #expect((report["mismatches"] as? [Any])?.isEmpty == true)
        #expect((report["failures"] as? [Any])?.isEmpty == true)
    }

    @Test func serveAnswersEveryClientAsRecorded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        let (server, endpoint) = try TapedeckProcess.proxy(["replay", "serve", recording, "--listen", "127.0.0.1:0", "--match", "order", "--strict", "--speed", "0"])
        for index in 0..<Self.sessions {
            let answer = try await BlockingClient.exchange(endpoint, send: Self.message(index), halfClose: true)
            #expect(answer == Self.message(index), "session \(index)")
        }
        server.signal(SIGINT)
        #expect(try server.waitForExit() == 0)
        let summary = server.outputLines.first { $0.hasPrefix("connections ") }
        #expect(summary == "connections \(Self.sessions) · sessions used \(Self.sessions) · unused 0 · mismatches 0 · refused 0 · failed 0")
    }

    @Test(.enabled(if: SmallDisk.canMount, "needs to mount a tmpfs (run as root)"))
    func aFullTemporaryFolderIsOneLineAndExitsNonZero() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        let disk = try SmallDisk(bytes: 64 << 10)
        defer { disk.remove() }
        for command in [["drive", "--target", "127.0.0.1:1"], ["serve", "--listen", "127.0.0.1:0"]] {
            let result = try ChildProcess.run("/bin/sh", ["-c", "TMPDIR=\(disk.directory) exec \"$0\" \"$@\"", try TapedeckBinary.located.get(), "replay", command[0], recording] + command.dropFirst())
            #expect(result.status == 2)
            #expect(result.errorLines == ["tapedeck: cannot set the capture's bytes aside in a temporary file in \(disk.directory): no space left on the device; point TMPDIR at a folder with room for them"], "\(result.standardError)")
        }
    }

    @Test func aSessionTheRecordingDoesNotHaveIsNamed() throws {
        let result = try TapedeckBinary.run(["replay", "drive", ReplayCommandTests.recording, "--session", "99", "--target", "127.0.0.1:1"])
        #expect(result.status == 2)
        #expect(result.errorLines == ["tapedeck: no session 99 in \(ReplayCommandTests.recording)"], "\(result.standardError)")
    }
}
