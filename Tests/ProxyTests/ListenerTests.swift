import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ListenerTests {
    private static func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o777
    }

    /// A socket file left by a dead process is replaced; the mode is applied
    /// (0600 by default, --socket-mode otherwise).
    @Test(arguments: [mode_t(0o600), mode_t(0o660)])
    func staleSocketReplacedAndModeApplied(_ socketMode: mode_t) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("stale.sock")
        // A stale socket file: bound, never unlinked, its owner gone.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let address = try SocketAddress(unixDomainSocketPath: path)
        _ = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))

        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness(listeners: [.unix(path: path)], upstream: echo.endpoint, directory: directory, socketMode: socketMode)
        #expect(Self.mode(path) == socketMode)
        let reply = try await BlockingClient.exchange(.unix(path: path), send: Array("fresh".utf8), halfClose: true)
        #expect(reply == Array("fresh".utf8))
        try await harness.stop()
        await echo.stop()
    }

    /// A session whose upstream stopped reading is still closed at shutdown
    /// once the grace period is over, and nothing stays live.
    @Test func shutdownClosesStuckSessions() async throws {
        let server = try await BulkServer.start()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint)
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
        let request = BulkServer.Request(responseBytes: 64 << 20, seed: 1)
        let socket = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint, receiveBufferSize: 32 << 10)
            try socket.send(request.header)
            _ = try socket.read(upTo: 1000)
            return socket
        }
        try await eventually("the session to start") { harness.proxy.statistics.snapshot.liveSessions == 1 }
        let start = ContinuousClock.now
        try await harness.stop(grace: .milliseconds(200))
        #expect(start.duration(to: .now) < .seconds(3))
        #expect(harness.proxy.statistics.snapshot.liveSessions == 0)
        #expect(await harness.proxy.waitForSessions(timeout: .zero))
        withExtendedLifetime(socket) {}
        await server.stop()
    }
}
