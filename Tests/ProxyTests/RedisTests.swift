import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import TapedeckTestSupport
import TapedeckTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server behind the proxy, over TCP and over a Unix socket.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
struct RedisTests {
    final class RedisServer: @unchecked Sendable {
        let process = Process()
        let port: UInt16
        let socketPath: String

        init(directory: TemporaryDirectory) async throws {
            port = try unusedPort()
            socketPath = directory.file("redis.sock")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            process.arguments = ["--save", "", "--appendonly", "no", "--port", "\(port)", "--bind", "127.0.0.1",
                                 "--unixsocket", socketPath, "--unixsocketperm", "700", "--dir", directory.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let port = port
            try await eventually(timeout: .seconds(10), "redis-server to listen") {
                (try? BlockingSocket(connectingTo: .ip(.loopbackV4, port: port), timeout: .seconds(1))) != nil
                    && FileManager.default.fileExists(atPath: self.socketPath)
            }
        }

        /// SIGKILL, then a bounded wait (Foundation's waitUntilExit spins).
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<200 where process.isRunning {
                usleep(10_000)
            }
        }
    }

    private static func cli(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run("/usr/bin/redis-cli", arguments, timeoutSeconds: 20)
        return String(decoding: result.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func redisOverTCPAndUnix() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try await RedisServer(directory: directory)
        defer { redis.stop() }

        // TCP and Unix listeners to the TCP port; a second proxy to the Unix socket.
        let proxySocket = directory.file("proxy.sock")
        let tcpHarness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0), .unix(path: proxySocket)], upstream: .ip(.loopbackV4, port: redis.port), directory: directory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let unixDirectory = try TemporaryDirectory()
        defer { unixDirectory.remove() }
        let unixHarness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: .unix(path: redis.socketPath), directory: unixDirectory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let tcpPort = try #require(tcpHarness.endpoints[0].port)
        let unixPort = try #require(unixHarness.endpoints[0].port)

        #expect(try Self.cli(["-p", "\(tcpPort)", "SET", "greeting", "hello"]) == "OK")
        #expect(try Self.cli(["-s", proxySocket, "GET", "greeting"]) == "hello")
        #expect(try Self.cli(["-p", "\(unixPort)", "INCRBY", "counter", "41"]) == "41")
        #expect(try Self.cli(["-p", "\(unixPort)", "GET", "greeting"]) == "hello")
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
