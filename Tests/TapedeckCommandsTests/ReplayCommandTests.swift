import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck replay serve|drive` run as a user runs them, with redis-cli and
/// redis-server from Debian's packages.
@Suite(.enabled(if: RedisServer.isInstalled))
struct ReplayCommandTests {
    /// Made by `tapedeck record` in front of a real redis-server (see Recordings/README).
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis-tcp.pcap").path

    @Test func driveAgainstAFreshServerMatchesAndExitsZero() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let reportPath = directory.file("report.json")
        let result = try TapedeckBinary.run(["replay", "drive", Self.recording, "--target", "127.0.0.1:\(redis.port)", "--strict", "--report", reportPath])
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(result.status == 0, "\(output)\(result.standardError)")
        #expect(output.contains("sessions 4 · sent 176 B · received 80 B · mismatches 0"))
        #expect(output.contains("send timing error: p50"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reportPath))) as? [String: Any]
        #expect(report?["sessions"] as? Int == 4)
        #expect((report?["mismatches"] as? [Any])?.isEmpty == true)
        #expect((report?["timing"] as? [String: Any])?["samples"] as? Int == 4)
        // What the replay wrote into the server is there.
        #expect(try redis.cli(["GET", "greeting"]) == "recorded by tapedeck")
    }

    @Test func driveAgainstDifferentDataNamesTheRequestOrTheOffsetAndExitsOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        // Session 1 is `GET greeting`; this server holds another greeting.
        #expect(try redis.cli(["SET", "greeting", "something else"]) == "OK")
        let exchanges = try TapedeckBinary.run(["replay", "drive", Self.recording, "--session", "1", "--target", "127.0.0.1:\(redis.port)", "--strict"])
        let named = String(decoding: exchanges.standardOutput, as: UTF8.self)
        #expect(exchanges.status == 1)
        #expect(named.contains("mismatches 1"))
        #expect(named.contains(#"session 1 exchange 0: GET greeting: "recorded by tapedeck" → "something else""#), "\(named)")
        // As a byte stream: the first differing offset, as a hex diff.
        let result = try TapedeckBinary.run(["replay", "drive", Self.recording, "--session", "1", "--target", "127.0.0.1:\(redis.port)", "--strict", "--compare", "bytes"])
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(result.status == 1)
        #expect(output.contains("mismatches 1"))
        #expect(output.contains("session 1 server_to_client differs at byte 1 (different bytes)"))
        #expect(output.contains("|$20..recorded by tapedeck|"))
        #expect(output.contains("|$14..something else..|"))
        // Without --strict the difference is reported, not a failure.
        #expect(try TapedeckBinary.run(["replay", "drive", Self.recording, "--session", "1", "--target", "127.0.0.1:\(redis.port)"]).status == 0)
    }

    @Test(arguments: ["tcp", "unix"])
    func serveAnswersRedisCLIAndReportsAtExit(listen: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.file("replay.sock")
        let reportPath = directory.file("report.json")
        let (process, endpoint) = try TapedeckProcess.proxy(["replay", "serve", Self.recording, "--listen", listen == "tcp" ? "127.0.0.1:0" : "unix:\(socket)", "--strict", "--report", reportPath])
        let target: [String] = switch endpoint {
        case .ip(_, let port), .host(_, let port): ["-p", "\(port)"]
        case .unix(let path): ["-s", path]
        }
        #expect(try RedisServer.cli(target + ["SET", "greeting", "recorded by tapedeck"]) == "OK")
        #expect(try RedisServer.cli(target + ["GET", "greeting"]) == "recorded by tapedeck")
        #expect(try RedisServer.cli(target + ["HSET", "user:1", "name", "ada", "lang", "swift"]) == "2")
        process.signal(SIGINT)
        #expect(try process.waitForExit() == 0)
        let summary = process.outputLines.first { $0.hasPrefix("connections ") }
        #expect(summary == "connections 3 · sessions used 3 · unused 1 · mismatches 0 · refused 0 · failed 0")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reportPath))) as? [String: Any]
        #expect(report?["unused_sessions"] as? [Int] == [3])
    }

    @Test(arguments: [
        (["replay", "drive", "/nonexistent.pcap", "--target", ":1"], "tapedeck: /nonexistent.pcap: No such file or directory"),
        (["replay", "drive", "RECORDING", "--target", ":1", "--ignore-bytes", "client:x:4"], "expected [client:|server:]OFFSET:LENGTH"),
        (["replay", "drive", "RECORDING", "--target", ":1", "--ignore", "(unclosed"], "not a valid regular expression"),
        (["replay", "serve", "RECORDING", "--listen", ":0", "--session", "99"], "no session 99 to serve"),
        (["replay", "serve", "RECORDING"], "name at least one --listen endpoint"),
        (["replay", "drive", "RECORDING", "--target", ":1", "--speed=-1"], "--speed -1 is out of range"),
    ])
    func badInputIsOneLineAndANonZeroExit(arguments: [String], message: String) throws {
        let result = try TapedeckBinary.run(arguments.map { $0 == "RECORDING" ? Self.recording : $0 })
        #expect(result.status != 0)
        #expect(!result.crashed)
        #expect(result.standardError.contains(message), "stderr: \(result.standardError)")
    }

    @Test func driveToANonListeningTargetFailsWithOneLine() throws {
        let port = try freeLoopbackPort()
        let result = try TapedeckBinary.run(["replay", "drive", Self.recording, "--target", "127.0.0.1:\(port)", "--log-level", "critical"])
        #expect(result.status == 2)
        #expect(result.errorLines == ["tapedeck: cannot connect to 127.0.0.1:\(port): connection refused (nothing listens there)"])
    }
}
