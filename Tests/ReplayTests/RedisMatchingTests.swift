import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// `--match request` against real Redis: redis-cli sessions and a
/// pipelining client recorded against redis-server, then served (no
/// redis-server running) to clients asking in another order.
@Suite(.enabled(if: RedisServer.isInstalled), .serialized)
struct RedisMatchingTests {
    /// A raw RESP client sending all its commands in one write (a pipeline); prints one reply per line.
    static let pipeline = """
        import socket, sys
        port, keys = int(sys.argv[1]), sys.argv[2].split(",")
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"".join(b"*2\\r\\n$3\\r\\nGET\\r\\n$%d\\r\\n%s\\r\\n" % (len(k), k.encode()) for k in keys))
        data = b""
        while data.count(b"\\r\\n") < 2 * len(keys):
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        lines = data.split(b"\\r\\n")
        print(" ".join(lines[i].decode() for i in range(1, 2 * len(keys), 2)))
        """

    static func pipelined(port: UInt16, _ keys: [String]) throws -> String {
        let result = try ChildProcess.run("/usr/bin/env", ["python3", "-c", pipeline, "\(port)", keys.joined(separator: ",")], timeoutSeconds: 30)
        return String(decoding: result.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// redis-cli reading MULTI, two INCRs and EXEC from its standard input; what it printed.
    static func transaction(port: UInt16, in directory: TemporaryDirectory) throws -> String {
        let commands = directory.file("transaction.txt")
        try "MULTI\nINCR counter\nINCR counter\nEXEC\n".write(toFile: commands, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run("/usr/bin/redis-cli", ["-p", "\(port)"], standardInput: commands, timeoutSeconds: 20)
        return String(decoding: result.standardOutput, as: UTF8.self)
    }

    static func record(in directory: TemporaryDirectory) async throws -> String {
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let path = directory.file("redis.pcap")
        let proxy = try await FaultProxy.start(upstream: redis.endpoint, recordTo: path)
        let port = try #require(proxy.endpoint.port)
        for key in ["k1", "k2", "k3"] {
            #expect(try RedisServer.cli(["-p", "\(port)", "SET", key, "val-\(key)"]) == "OK")
        }
        for key in ["k1", "k2", "k3"] {
            #expect(try RedisServer.cli(["-p", "\(port)", "GET", key]) == "val-\(key)")
        }
        #expect(try pipelined(port: port, ["k1", "k2", "k3"]) == "val-k1 val-k2 val-k3")
        #expect(try transaction(port: port, in: directory) == "OK\nQUEUED\nQUEUED\n1\n2\n")
        await proxy.stop()
        return path
    }

    @Test func getsInAnotherOrderFromOtherConnectionsGetTheirOwnValues() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)

        let server = try await MockServer.start(recording: recording)
        let port = try #require(server.endpoint.port)
        for key in ["k3", "k1", "k2", "k2"] {
            #expect(try RedisServer.cli(["-p", "\(port)", "GET", key]) == "val-\(key)")
        }
        #expect(try Self.pipelined(port: port, ["k2", "k3", "k1"]) == "val-k2 val-k3 val-k1")
        #expect(try Self.transaction(port: port, in: directory) == "OK\nQUEUED\nQUEUED\n1\n2\n")
        let report = await server.stop()
        let match = try #require(report.match)
        #expect(match.unmatchedCount == 0)
        #expect(match.unusedExchanges.map(\.request) == ["SET k1 val-k1", "SET k2 val-k2", "SET k3 val-k3"])
        #expect(match.unusedSessions == [0, 1, 2])
    }

    @Test func aGetWhereASetWasRecordedIsAnErrorNamingTheNearest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        let server = try await MockServer.start(recording: recording)
        let port = try #require(server.endpoint.port)
        let missing = try RedisServer.cli(["-p", "\(port)", "GET", "k9"])
        #expect(missing == "ERR tapedeck: no recorded answer for GET k9; nearest recorded: GET k1 (arguments k9, recorded k1)")
        let unknown = try RedisServer.cli(["-p", "\(port)", "HGETALL", "user:1"])
        #expect(unknown.hasPrefix("ERR tapedeck: no recorded answer for HGETALL user:1; nearest recorded: "))
        await server.stop()

        let nearest = try await MockServer.start(recording: recording, answering: .requests(RequestMatching(onUnmatched: .nearest)))
        let nearestPort = try #require(nearest.endpoint.port)
        #expect(try RedisServer.cli(["-p", "\(nearestPort)", "GET", "k9"]) == "val-k1")
        let report = await nearest.stop()
        #expect(report.match?.answered["nearest"] == 1)
    }

    /// `redis-cli --pipe` sends inline commands and, before its closing
    /// ECHO, an empty line. Its recording is detected as Redis (a first
    /// line `GET k1` was taken for HTTP), and the empty line gets no reply
    /// when served, as from Redis (an error reply shifted a pipelined
    /// client's replies by one).
    @Test func redisCliPipeIsServedAsRedisAndAnEmptyLineGetsNoReply() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        let path = directory.file("pipe.pcap")
        let proxy = try await FaultProxy.start(upstream: redis.endpoint, recordTo: path)
        let commands = directory.file("commands.txt")
        try "SET k1 v1\r\nGET k1\r\n".write(toFile: commands, atomically: true, encoding: .utf8)
        let piped = try ChildProcess.run("/usr/bin/redis-cli", ["-p", "\(try #require(proxy.endpoint.port))", "--pipe"], standardInput: commands, timeoutSeconds: 20)
        #expect(piped.status == 0, "\(piped.standardError)")
        await proxy.stop()
        redis.stop()

        let server = try await MockServer.start(recording: path)
        let port = try #require(server.endpoint.port)
        let answer = try await BlockingClient.exchange(server.endpoint, send: Array("GET k1\r\n\r\nGET k1\r\n".utf8), halfClose: true, timeout: .seconds(10))
        #expect(String(decoding: answer, as: UTF8.self) == "$2\r\nv1\r\n$2\r\nv1\r\n", "port \(port)")
        let report = await server.stop()
        #expect(report.match?.protocolName == "redis")
        #expect(report.match?.unmatchedCount == 0)
    }
}
