import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck record` as a user runs it: a real process in front of the
/// built-in echo upstream, stopped with SIGTERM or killed with SIGKILL, its
/// recording read back by `tapedeck inspect` and tshark.
@Suite(.serialized) struct RecordProcessTests {
    /// The echo upstream and a recording proxy in front of it.
    struct Running {
        let upstream: BackgroundProcess
        let recorder: BackgroundProcess
        let listen: Endpoint
        let recording: String

        init(directory: TemporaryDirectory, extraArguments: [String] = []) throws {
            let sample = try TapedeckProcess.sampleServer()
            upstream = sample.process
            recording = directory.file("session.pcap")
            (recorder, listen) = try TapedeckProcess.proxy([
                "record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", recording, "--quiet",
            ] + extraArguments)
        }

        func stop() {
            upstream.stop()
        }
    }

    @Test func sigtermWritesEverySessionAndExitsZero() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try Running(directory: directory)
        defer { running.stop() }

        var generator = SeededGenerator(seed: 3)
        var sent: [[UInt8]] = []
        for size in [1, 4_000, 300_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let echoed = try await BlockingClient.exchange(running.listen, send: bytes, halfClose: true)
            #expect(echoed == bytes)
            sent.append(bytes)
        }
        running.recorder.signal(SIGTERM)
        #expect(try running.recorder.waitForExit() == 0)

        let sessions = try TapedeckBinary.inspectJSON([running.recording])
        #expect(sessions.count == 3)
        for (session, bytes) in zip(sessions, sent) {
            #expect(session.clientToServer.bytes == bytes.count)
            #expect(session.serverToClient.bytes == bytes.count)
            #expect(session.clientToServer.sha256 == sha256Hex(bytes))
            #expect(session.serverToClient.sha256 == sha256Hex(bytes))
            #expect(session.end == "fin")
        }
        #expect(try TShark.problems(running.recording) == [])
        let manifest = try #require(try Manifest.load(forRecording: running.recording))
        #expect(manifest.sessions.count == 3)
        #expect(manifest.sessions.map(\.clientToServer.xxh3) == sent.map(xxh3Hex))
        #expect(manifest.sessions.map(\.serverToClient.xxh3) == sent.map(xxh3Hex))
    }

    @Test func sigtermClosesLiveSessionsAfterTheGracePeriod() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try Running(directory: directory, extraArguments: ["--grace", "300ms"])
        defer { running.stop() }

        let socket = try BlockingClient.connect(running.listen)
        defer { close(socket) }
        try BlockingClient.writeAll(socket, Array("still here".utf8))
        var buffer = [UInt8](repeating: 0, count: 10)
        #expect(recv(socket, &buffer, 10, Int32(MSG_WAITALL)) == 10)

        let stopping = ContinuousClock.now
        running.recorder.signal(SIGTERM)
        #expect(try running.recorder.waitForExit() == 0)
        let elapsed = ContinuousClock.now - stopping
        #expect(elapsed >= .milliseconds(300), "live sessions get the grace period")
        #expect(elapsed < .seconds(5))
        #expect(try BlockingClient.readToEnd(socket) == [], "the client sees the proxy close")

        let sessions = try TapedeckBinary.inspectJSON([running.recording])
        #expect(sessions.count == 1)
        #expect(sessions.first?.clientToServer.bytes == 10)
        #expect(sessions.first?.end == "fin", "the proxy's closing frames are written")
    }

    @Test func sigkillLeavesAFileEveryReaderOpens() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try Running(directory: directory)
        defer { running.stop() }

        let socket = try BlockingClient.connect(running.listen)
        defer { close(socket) }
        let bytes = [UInt8](repeating: 0x61, count: 50_000)
        try BlockingClient.writeAll(socket, bytes)
        var echoed = [UInt8](repeating: 0, count: bytes.count)
        #expect(recv(socket, &echoed, echoed.count, Int32(MSG_WAITALL)) == bytes.count)
        // More than one flush interval (100 ms) after the bytes went through.
        try await Task.sleep(for: .milliseconds(400))
        running.recorder.signal(SIGKILL)
        #expect(try running.recorder.waitForExit() == 128 + SIGKILL)

        // tshark reads it to the end without "cut short", and so does inspect.
        _ = try TShark.run(["-r", running.recording, "-q"])
        let sessions = try TapedeckBinary.inspectJSON([running.recording])
        #expect(sessions.count == 1)
        #expect(sessions.first?.clientToServer.bytes == bytes.count)
        #expect(sessions.first?.serverToClient.bytes == bytes.count)
        #expect(sessions.first?.end == "open")
    }
}
