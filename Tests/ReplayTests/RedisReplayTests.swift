import Foundation
import Logging
import NIOPosix
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// Replay against real Redis: redis-cli served from recordings, recordings
/// driven against redis-server.
@Suite(.enabled(if: RedisServer.isInstalled))
struct RedisReplayTests {
    static let commands: [[String]] = [
        ["SET", "greeting", "recorded by tapedeck"],
        ["GET", "greeting"],
        ["HSET", "user:1", "name", "ada", "lang", "swift"],
        ["HGETALL", "user:1"],
        ["INCRBY", "visits", "41"],
    ]

    /// Runs `commands` with redis-cli through a recording proxy; returns
    /// the recording's path and what redis-cli printed for each.
    static func record(in directory: TemporaryDirectory) async throws -> (path: String, answers: [String]) {
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let path = directory.file("redis.pcap")
        let proxy = try await FaultProxy.start(upstream: redis.endpoint, recordTo: path)
        let port = try #require(proxy.endpoint.port)
        var answers: [String] = []
        for command in commands {
            answers.append(try RedisServer.cli(["-p", "\(port)"] + command))
        }
        await proxy.stop()
        return (path, answers)
    }

    @Test func redisCLIGetsTheRecordedAnswersOverTCPAndUnix() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, answers) = try await Self.record(in: directory)
        #expect(answers == ["OK", "recorded by tapedeck", "2", "name\nada\nlang\nswift", "41"])

        for listen in [TestListener.loopback, .temporaryUnixSocket] {
            // No redis-server now: every answer comes from the recording.
            let server = try await MockServer.start(recording: path, listen: listen)
            let target: [String] = switch server.endpoint {
            case .ip(_, let port), .host(_, let port): ["-p", "\(port)"]
            case .unix(let socket): ["-s", socket]
            }
            var replayed: [String] = []
            for command in Self.commands {
                replayed.append(try RedisServer.cli(target + command))
            }
            #expect(replayed == answers)
            let report = await server.stop()
            #expect(report.mismatches.isEmpty)
            #expect(report.unusedSessions.isEmpty)
            #expect(report.sessionsUsed == Self.commands.count)
        }
    }

    @Test func aTcpdumpCaptureOfRealRedisServesRedisCLI() async throws {
        // Made with tcpdump on lo (see Tests/RecordingTests/Captures/README.md).
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../RecordingTests/Captures/redis.pcap").standardized.path
        let server = try await MockServer.start(recording: capture)
        let port = try #require(server.endpoint.port)
        let big = String(repeating: "x", count: 20_000)
        #expect(try RedisServer.cli(["-p", "\(port)", "SET", "greeting", "hello tapedeck"]) == "OK")
        #expect(try RedisServer.cli(["-p", "\(port)", "GET", "greeting"]) == "hello tapedeck")
        #expect(try RedisServer.cli(["-p", "\(port)", "SET", "big", big]) == "OK")
        #expect(try RedisServer.cli(["-p", "\(port)", "GET", "big"]) == big)
        let report = await server.stop()
        #expect(report.mismatches.isEmpty)
        #expect(report.unusedSessions == [4])
    }

    @Test func drivingARecordingAgainstAFreshServerMatchesAndADifferentOneDoesNot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, _) = try await Self.record(in: directory)
        let scripts = try SessionScript.load(paths: [path])
        #expect(scripts.count == Self.commands.count)

        let freshDirectory = try TemporaryDirectory()
        defer { freshDirectory.remove() }
        let fresh = try RedisServer(directory: freshDirectory.path)
        defer { fresh.stop() }
        let logger = Logger(label: "test")
        let matching = await ReplayDriver(scripts: scripts, configuration: DriveConfiguration(target: fresh.endpoint, playback: Playback(timing: ReplayTiming(speed: 0))), group: MultiThreadedEventLoopGroup.singleton, logger: logger).run()
        #expect(matching.sessions == Self.commands.count)
        #expect(matching.mismatches.isEmpty)
        #expect(matching.failures.isEmpty)
        #expect(matching.bytesReceived == Int64(scripts.reduce(0) { $0 + $1.byteCount(.serverToClient) }))

        // The same data, but a greeting that differs from byte 5 of its answer ("$20\r\nrecorded" → "$20\r\nREcorded").
        let otherDirectory = try TemporaryDirectory()
        defer { otherDirectory.remove() }
        let other = try RedisServer(directory: otherDirectory.path)
        defer { other.stop() }
        #expect(try other.cli(["SET", "greeting", "REcorded by tapedeck"]) == "OK")
        let differing = await ReplayDriver(scripts: [scripts[1]], configuration: DriveConfiguration(target: other.endpoint, playback: Playback(timing: ReplayTiming(speed: 0))), group: MultiThreadedEventLoopGroup.singleton, logger: logger).run()
        let mismatch = try #require(differing.mismatches.first)
        #expect(differing.mismatches.count == 1)
        #expect(mismatch.direction == .serverToClient)
        #expect(mismatch.offset == 5)
        #expect(mismatch.expected.contains("recorded by"))
        #expect(mismatch.actual.contains("REcorded by"))
    }
}
