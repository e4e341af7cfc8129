import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import Replay
import SampleServer
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// Replay from captures Tapedeck did not make (tcpdump, dumpcap), and from
/// a rotated set given together.
@Suite struct ForeignCaptureTests {
    static func capture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../RecordingTests/Captures/\(name)").standardized.path
    }

    /// Serves each session on its own and plays its recorded client bytes:
    /// the answer must be the recorded server bytes, byte for byte.
    static func replayEverySession(_ paths: [String]) async throws -> [SessionScript] {
        let scripts = try SessionScript.load(paths: paths)
        for script in scripts {
            let server = try await MockServer.start(recording: [script], answering: .sessions(.inOrder))
            let request = Array(script.bytes(.clientToServer).readableBytesView)
            let answer = try await BlockingClient.exchange(server.endpoint, send: request, halfClose: true)
            #expect(answer == Array(script.bytes(.serverToClient).readableBytesView), "session \(script.session.index) of \(paths)")
            let report = await server.stop()
            #expect(report.mismatches.isEmpty)
            #expect(report.failures.isEmpty)
        }
        return scripts
    }

    @Test(arguments: ["http4.pcapng", "http6-any.pcap", "redis.pcap"])
    func everySessionOfAForeignCaptureReplays(name: String) async throws {
        let scripts = try await Self.replayEverySession([Self.capture(name)])
        #expect(!scripts.isEmpty)
        #expect(scripts.allSatisfy { !$0.session.startedMidFlow && $0.firstGap == nil })
    }

    @Test func aCaptureThatStartsMidSessionReplaysFromWhereItStartsAndSaysSo() async throws {
        let path = Self.capture("midflow.pcap")
        let scripts = try SessionScript.load(paths: [path])
        #expect(scripts.count == 1)
        #expect(scripts[0].session.startedMidFlow)
        let server = try await MockServer.start(recording: path, answering: .sessions(.inOrder))
        let request = Array(scripts[0].bytes(.clientToServer).readableBytesView)
        let answer = try await BlockingClient.exchange(server.endpoint, send: request, halfClose: true)
        #expect(answer == Array(scripts[0].bytes(.serverToClient).readableBytesView))
        let report = await server.stop()
        #expect(report.midFlowSessions == [0])
    }

    @Test func aGapInACaptureFailsThatSessionLoudly() async throws {
        // Snapshot length 120: the large SET's bytes are cut (session 0, client side).
        let path = Self.capture("redis-snaplen.pcap")
        let scripts = try SessionScript.load(paths: [path])
        let cut = try #require(scripts.first { $0.firstGap?.step.direction == .clientToServer })
        let server = try await MockServer.start(recording: [cut], answering: .sessions(.inOrder), strict: false)
        let request = Array(cut.bytes(.clientToServer).readableBytesView)
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: server.endpoint)
            try socket.send(request)
            do { return "read \(try socket.readToEnd().count) bytes" } catch { return "\(error)" }
        }
        #expect(outcome.contains("reset"), "got \(outcome)")
        let report = await server.stop()
        #expect(report.failures.map(\.session) == [cut.session.index])

        // Driving the session whose answer was cut fails it too, and says why.
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let answerCut = try #require(scripts.first { $0.firstGap?.step.direction == .serverToClient })
        let drive = await ReplayDriver(
            scripts: [answerCut],
            configuration: DriveConfiguration(target: echo.endpoint, playback: Playback(timing: ReplayTiming(speed: 0))),
            group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test")
        ).run()
        #expect(drive.failures.count == 1)
        #expect(drive.failures.first?.reason.contains("lost") == true)
    }

    /// Records one long echoed session (30,000 bytes each way) as a set
    /// rotated every 4,000 bytes; returns its files in order.
    static func recordRotatedSet(in directory: TemporaryDirectory) async throws -> [String] {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        var configuration = RecorderConfiguration(output: .file(path: directory.file("set.pcap")))
        configuration.rotateBytes = 4_000
        let recorder = try Recorder(configuration: configuration, logger: Logger(label: "test"))
        let proxy = ProxyServer(configuration: ProxyConfiguration(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint), group: MultiThreadedEventLoopGroup.singleton, sink: recorder, logger: Logger(label: "test"))
        try await proxy.start()
        // One long session whose frames span several files.
        let message = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let socket = try BlockingSocket(connectingTo: proxy.listeningEndpoints[0])
        // The recorder rotates between the batches its writer takes from its
        // queue: pauses between exchanges keep them apart.
        for _ in 0..<10 {
            try await BlockingSocket.onThread {
                try socket.send(message)
                _ = try socket.read(exactly: message.count)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        socket.shutdownWrite()
        _ = try await BlockingSocket.onThread { try socket.readToEnd() }
        await proxy.shutdown(grace: .seconds(2))
        recorder.finish()

        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".pcap") }.sorted().map(directory.file)
        #expect(files.count >= 2, "rotation made \(files)")
        return files
    }

    @Test func aRotatedSetGivenTogetherReplaysAsOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let files = try await Self.recordRotatedSet(in: directory)
        let scripts = try await Self.replayEverySession(files)
        #expect(scripts.count == 1)
        #expect(scripts.first?.byteCount(.clientToServer) == 30_000)
    }
}
