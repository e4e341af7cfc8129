import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server behind the proxy, over TCP and over a Unix socket.
@Suite(.enabled(if: RedisServer.isInstalled))
struct RedisTests {
    @Test func redisOverTCPAndUnix() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }

        // TCP and Unix listeners to the TCP port; a second proxy to the Unix socket.
        let proxySocket = directory.file("proxy.sock")
        let tcpHarness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0), .unix(path: proxySocket)], upstream: .ip(.loopbackV4, port: redis.port), directory: directory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let unixDirectory = try TemporaryDirectory()
        defer { unixDirectory.remove() }
        let unixHarness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: .unix(path: redis.socketPath), directory: unixDirectory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let tcpPort = try #require(tcpHarness.endpoints[0].port)
        let unixPort = try #require(unixHarness.endpoints[0].port)

        #expect(try RedisServer.cli(["-p", "\(tcpPort)", "SET", "greeting", "hello"]) == "OK")
        #expect(try RedisServer.cli(["-s", proxySocket, "GET", "greeting"]) == "hello")
        #expect(try RedisServer.cli(["-p", "\(unixPort)", "INCRBY", "counter", "41"]) == "41")
        #expect(try RedisServer.cli(["-p", "\(unixPort)", "GET", "greeting"]) == "hello")
        // Raw RESP over a socket, pipelined.
        let reply = try await BlockingClient.exchange(.ip(.loopbackV4, port: tcpPort), send: Array("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$7\r\ncounter\r\n".utf8), halfClose: true)
        #expect(String(decoding: reply, as: UTF8.self) == "+PONG\r\n$2\r\n41\r\n")

        try await tcpHarness.stop()
        try await unixHarness.stop()
        let tcpSessions = try Recorded.sessions([tcpHarness.recordingPath])
        #expect(tcpSessions.count == 3)
        #expect(tcpSessions.contains { String(decoding: $0.clientToServer, as: UTF8.self).contains("SET\r\n$8\r\ngreeting\r\n$5\r\nhello") && String(decoding: $0.serverToClient, as: UTF8.self).hasSuffix("+OK\r\n") })
        #expect(tcpSessions.contains { $0.client == .unix(path: proxySocket) && String(decoding: $0.serverToClient, as: UTF8.self).hasSuffix("$5\r\nhello\r\n") })
        #expect(tcpSessions.contains { $0.serverToClient == Array("+PONG\r\n$2\r\n41\r\n".utf8) && $0.end == .fin })
        let unixSessions = try Recorded.sessions([unixHarness.recordingPath])
        #expect(unixSessions.count == 2)
        #expect(unixSessions.allSatisfy { $0.server == .unix(path: redis.socketPath) })
        #expect(unixSessions.contains { String(decoding: $0.serverToClient, as: UTF8.self).hasSuffix(":41\r\n") })
        #expect(try TShark.problems(tcpHarness.recordingPath) == [])
        #expect(try TShark.problems(unixHarness.recordingPath) == [])
    }
}
