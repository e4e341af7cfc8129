import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// `tapedeck noise` on real Redis and PostgreSQL traffic: the same
/// scenario recorded twice through a recording proxy, the masks it
/// proposes, and (Redis) `replay drive --masks` naming the one answer that
/// really changed.
@Suite(.serialized)
struct NoiseRedisPostgresTests {
    static func tapedeck(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.run(try TapedeckExecutable.located.get(), arguments, timeoutSeconds: 60)
        #expect(!result.crashed, "tapedeck \(arguments.joined(separator: " ")): \(result.standardError)")
        return (result.status, String(decoding: result.standardOutput, as: UTF8.self) + result.standardError)
    }

    @Test(.enabled(if: RedisServer.isInstalled))
    func redisCliRunsProposeTheRandomArgumentAndTimeAndDriveNamesTheChangedValue() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        #expect(try redis.cli(["SET", "config", "on"]) == "OK")
        var recordings: [String] = []
        for run in 1...2 {
            let recording = directory.file("run\(run).pcap")
            let proxy = try await FaultProxy.start(upstream: redis.endpoint, recordTo: recording)
            let port = "\(try #require(proxy.endpoint.port))"
            #expect(try RedisServer.cli(["-p", port, "SET", "session:1", "token-\(UUID().uuidString)", "EX", "600"]) == "OK")
            #expect(try RedisServer.cli(["-p", port, "GET", "config"]) == "on")
            _ = try RedisServer.cli(["-p", port, "TIME"])
            await proxy.stop()
            recordings.append(recording)
        }

        let masksFile = directory.file("masks.json")
        let noise = try Self.tapedeck(["noise", recordings[0], recordings[1], "-o", masksFile])
        #expect(noise.status == 0, "\(noise.output)")
        let masks = try Masks.load(path: masksFile)
        #expect(masks.redis.arguments == [.init(command: "SET", position: 2)])
        #expect(masks.redis.replies == ["TIME"])
        #expect(masks.count == 2, "\(noise.output)")

        // The value changes on the live server: that, and only that, is reported.
        #expect(try redis.cli(["DEL", "config"]) == "1")
        let drive = try Self.tapedeck(["replay", "drive", recordings[0], "--target", "127.0.0.1:\(redis.port)", "--strict", "--speed", "0", "--masks", masksFile])
        #expect(drive.status == 1, "\(drive.output)")
        let differences = drive.output.split(separator: "\n").filter { $0.hasPrefix("session ") }
        #expect(differences == ["session 1 exchange 0: GET config: \"on\" → nil"], "\(drive.output)")
        // Without the masks, TIME differs too.
        let unmasked = try Self.tapedeck(["replay", "drive", recordings[0], "--target", "127.0.0.1:\(redis.port)", "--speed", "0"])
        #expect(unmasked.status == 0, "without --strict a difference is reported, not a failure")
        #expect(unmasked.output.contains("session 2 exchange 0: TIME: item "), "seconds or microseconds: \(unmasked.output)")
    }

    @Test(.enabled(if: PostgresServer.isInstalled))
    func pgbenchRunsProposeTheBoundParameterAndTheVaryingColumns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let postgres = try PostgresServer(directory: directory.file("pg"))
        defer { postgres.stop() }
        let script = directory.file("script.sql")
        try "\\set id random(1, 1000000000)\nSELECT :id::int AS id, 'fixed' AS label, clock_timestamp() AS at;\n".write(toFile: script, atomically: true, encoding: .utf8)
        var recordings: [String] = []
        for run in 1...2 {
            let recording = directory.file("run\(run).pcap")
            let proxy = try await FaultProxy.start(upstream: postgres.endpoint, recordTo: recording)
            let port = "\(try #require(proxy.endpoint.port))"
            let bench = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(postgres.password)", "/usr/bin/pgbench", "-n", "-M", "extended", "-t", "3", "-c", "1", "-f", script, "-h", "127.0.0.1", "-p", port, "-U", "postgres", "postgres"], timeoutSeconds: 60)
            #expect(bench.status == 0, "pgbench: \(bench.standardError)")
            await proxy.stop()
            recordings.append(recording)
        }
        let masksFile = directory.file("masks.json")
        let noise = try Self.tapedeck(["noise", recordings[0], recordings[1], "-o", masksFile])
        #expect(noise.status == 0, "\(noise.output)")
        let statement = "SELECT $1::int AS id, 'fixed' AS label, clock_timestamp() AS at;"
        let learned = try Masks.load(path: masksFile)
        #expect(learned.postgres.parameters == [.init(statement: statement, position: 1)], "\(noise.output)")
        #expect(Set(learned.postgres.columns) == [.init(statement: statement, column: "id"), .init(statement: statement, column: "at")], "\(noise.output)")
        #expect(learned.count == 3, "the label does not vary, and logins (SCRAM nonces, backend keys) are not compared: \(noise.output)")
    }
}
