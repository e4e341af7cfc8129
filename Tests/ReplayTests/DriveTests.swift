import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import Replay
import SampleServer
import TapedeckTestSupport
import Testing

/// `replay drive` against Tapedeck's echo server: timing, comparison,
/// recording the replay, faults.
@Suite struct DriveTests {
    static let logger = Logger(label: "test")

    /// A client that says "mNN;" every `spacing` ms; the echo answers each.
    static func chatty(_ count: Int, spacing: Double, index: Int = 0) -> SessionScript {
        var lines: [Script.Line] = []
        for n in 0..<count {
            let message = "m\(n < 10 ? "0" : "")\(n);"
            lines.append(.client(message, ms: 1 + Double(n) * spacing))
            lines.append(.server(message, ms: 1.2 + Double(n) * spacing))
        }
        lines.append(.clientFIN(ms: 2 + Double(count) * spacing))
        lines.append(.serverFIN(ms: 2.2 + Double(count) * spacing))
        return Script.session(index, lines)
    }

    static func drive(_ scripts: [SessionScript], target: Endpoint, speed: Double = 1, faults: [Fault] = [], seed: UInt64 = 0, sink: SessionSink? = nil) async -> DriveReport {
        let configuration = DriveConfiguration(target: target, playback: Playback(timing: ReplayTiming(speed: speed), faults: FaultSettings(faults: faults, seed: seed)))
        return await ReplayDriver(scripts: scripts, configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, sink: sink, logger: logger).run()
    }

    @Test func sendsWithTheRecordedTimingAndComparesTheAnswers() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let started = ContinuousClock.now
        let report = await Self.drive([Self.chatty(20, spacing: 25)], target: echo.endpoint)
        let elapsed = (ContinuousClock.now - started).milliseconds
        #expect(report.mismatches.isEmpty)
        #expect(report.failures.isEmpty)
        #expect(report.bytesSent == 80)
        #expect(report.bytesReceived == 80)
        #expect(report.timing.samples == 20)
        // The recorded span is 476 ms from the first send to the last.
        #expect(elapsed >= 470, "took \(elapsed) ms")
        // Generous: a loaded 2-core machine; the benchmark measures precision.
        #expect(report.timing.p50Microseconds < 5_000)
        #expect(report.timing.endMicroseconds < 20_000)
    }

    @Test func speedZeroDoesNotWait() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let started = ContinuousClock.now
        let report = await Self.drive([Self.chatty(20, spacing: 100)], target: echo.endpoint, speed: 0)
        #expect((ContinuousClock.now - started).milliseconds < 1_500)
        #expect(report.mismatches.isEmpty)
        #expect(report.bytesReceived == 80)
    }

    @Test func sessionsStartAtTheirRecordedOffsetsConcurrently() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        // Three sessions opened 0, 1, 2 ms apart, each 10 messages 20 ms apart: together ≈ 200 ms, not 600.
        let scripts = (0..<3).map { Self.chatty(10, spacing: 20, index: $0) }
        let started = ContinuousClock.now
        let report = await Self.drive(scripts, target: echo.endpoint)
        let elapsed = (ContinuousClock.now - started).milliseconds
        #expect(report.sessions == 3)
        #expect(report.mismatches.isEmpty)
        #expect(elapsed < 500, "took \(elapsed) ms")
    }

    @Test func concurrencyCapsSessionsAtOnceAndPassesRepeatTheSet() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        // Three overlapping sessions of ≈ 100 ms each: one at a time takes ≈ 300 ms, twice ≈ 600.
        let scripts = (0..<3).map { Self.chatty(5, spacing: 20, index: $0) }
        var configuration = DriveConfiguration(target: echo.endpoint)
        configuration.concurrency = 1
        configuration.passes = 2
        let started = ContinuousClock.now
        let report = await ReplayDriver(scripts: scripts, configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger).run()
        let elapsed = (ContinuousClock.now - started).milliseconds
        #expect(report.sessions == 6)
        #expect(report.bytesReceived == 6 * 20)
        #expect(report.mismatches.isEmpty)
        #expect(elapsed >= 580, "took \(elapsed) ms")
    }

    @Test func maxGapCutsLongIdlePeriods() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let script = Script.session([.client("a", ms: 1), .server("a", ms: 2), .client("b", ms: 3_000), .server("b", ms: 3_001), .clientFIN(ms: 3_002)])
        let configuration = DriveConfiguration(target: echo.endpoint, playback: Playback(timing: ReplayTiming(speed: 1, maxGap: .milliseconds(100))))
        let started = ContinuousClock.now
        let report = await ReplayDriver(scripts: [script], configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger).run()
        let elapsed = (ContinuousClock.now - started).milliseconds
        #expect(report.mismatches.isEmpty)
        #expect(report.bytesReceived == 2)
        #expect(elapsed >= 95 && elapsed < 1_500, "took \(elapsed) ms")
    }

    @Test func aServerThatAnswersSomethingElseIsAMismatchAtTheRightOffset() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let script = Script.session([.client("hello world", ms: 1), .server("hello there", ms: 2), .clientFIN(ms: 3), .serverFIN(ms: 4)])
        let report = await Self.drive([script], target: echo.endpoint, speed: 0)
        let mismatch = try #require(report.mismatches.first)
        #expect(mismatch.offset == 6)
        #expect(mismatch.reason == "different bytes")
    }

    @Test func theReplayIsRecordedAsAPcap() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("replayed.pcap")
        let recorder = try Recorder(configuration: RecorderConfiguration(output: .file(path: path)), logger: Self.logger)
        let report = await Self.drive([Self.chatty(5, spacing: 2)], target: echo.endpoint, speed: 0, sink: recorder)
        recorder.finish()
        #expect(report.mismatches.isEmpty)
        let replayed = try SessionScript.load(paths: [path])
        #expect(replayed.count == 1)
        #expect(Array(replayed[0].bytes(.clientToServer).readableBytesView).text == "m00;m01;m02;m03;m04;")
        #expect(Array(replayed[0].bytes(.serverToClient).readableBytesView).text == "m00;m01;m02;m03;m04;")
        #expect(try TShark.problems(path) == [])
    }

    @Test func seededDropsAreTheSameInTwoRuns() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let drop = try Fault(.drop(probability: 0.5), stream: .upstream)
        var outcomes: [[Mismatch]] = []
        var sent: [Int64] = []
        for _ in 0..<2 {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.file("dropped.pcap")
            let recorder = try Recorder(configuration: RecorderConfiguration(output: .file(path: path)), logger: Self.logger)
            var timing = ReplayTiming(speed: 1, turnIdle: .milliseconds(20))
            timing.replyTimeout = .milliseconds(40)
            let configuration = DriveConfiguration(target: echo.endpoint, playback: Playback(timing: timing, faults: FaultSettings(faults: [drop], seed: 7)))
            let report = await ReplayDriver(scripts: [Self.chatty(16, spacing: 5)], configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, sink: recorder, logger: Self.logger).run()
            recorder.finish()
            outcomes.append(report.mismatches)
            sent.append(report.bytesReceived)
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(sent[0] == sent[1])
        #expect(sent[0] > 0 && sent[0] < 64, "the echo returned \(sent[0]) of 64 bytes")
    }

    @Test func aRefusedTargetIsAConnectFailure() async throws {
        let port = try freeLoopbackPort()
        let report = await Self.drive([Self.chatty(2, spacing: 1)], target: .ip(.loopbackV4, port: port), speed: 0)
        #expect(report.connectFailures == 1)
    }
}
