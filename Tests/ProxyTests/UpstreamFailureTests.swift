import Foundation
import NIOCore
import NIOPosix
import PcapFile
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct UpstreamFailureTests {
    /// Connects, sends, and reports how the connection ended and how long it took.
    private static func attempt(_ endpoint: Endpoint) async throws -> (outcome: String, elapsed: Duration) {
        try await BlockingSocket.onThread {
            let start = ContinuousClock.now
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(5))
            let outcome: String
            do {
                // A reset that comes before the send fails the send.
                try socket.send(Array("hello".utf8))
                outcome = "clean end, \(try socket.readToEnd().count) bytes"
            } catch {
                outcome = "\(error)"
            }
            return (outcome, start.duration(to: .now))
        }
    }

    /// A refused upstream resets the client at once, is counted, and the
    /// proxy serves the next client once the upstream is back.
    @Test func refusedUpstream() async throws {
        let port = try freeLoopbackPort()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: .ip(.loopbackV4, port: port))
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
        for attemptNumber in 1...2 {
            let (outcome, elapsed) = try await Self.attempt(endpoint)
            #expect(outcome.contains("reset by peer"), "\(outcome)")
            #expect(elapsed < .seconds(2))
            #expect(harness.proxy.statistics.snapshot.upstreamFailures == attemptNumber)
        }
        let echo = try await EchoServer.start(on: .ip(.loopbackV4, port: port))
        let reply = try await BlockingClient.exchange(endpoint, send: Array("back".utf8), halfClose: true)
        #expect(reply == Array("back".utf8))
        #expect(harness.proxy.statistics.snapshot.upstreamFailures == 2)
        #expect(harness.proxy.statistics.snapshot.totalSessions == 1)
        try await harness.stop()
        await echo.stop()
    }

    /// An upstream that does not answer (its accept queue is full, so the
    /// SYN is dropped) resets the client after --connect-timeout; the proxy
    /// keeps serving.
    @Test func unresponsiveUpstreamTimesOut() async throws {
        let stalled = try StalledListener()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: stalled.endpoint, connectTimeout: .milliseconds(300))
        defer { harness.remove() }
        let (outcome, elapsed) = try await Self.attempt(harness.endpoints[0])
        #expect(outcome.contains("reset by peer"), "\(outcome)")
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(2))
        #expect(harness.proxy.statistics.snapshot.upstreamFailures == 1)
        #expect(await harness.proxy.waitForSessions(timeout: .seconds(1)))
        try await harness.stop()
    }

    /// Client bytes are not read before the upstream connection is up: an
    /// upstream that accepts late gets the bytes, and the recording shows
    /// them read after the session opened (the connect), which is later
    /// than the client sent them.
    @Test func clientBytesWaitForTheUpstream() async throws {
        let stalled = try StalledListener()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: stalled.endpoint, recording: { RecorderConfiguration(output: .file(path: $0)) })
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
        let sentAt = Timestamp.now()
        async let clientResult: [UInt8] = BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(Array("early bytes".utf8))
            socket.shutdownWrite()
            return try socket.readToEnd()
        }
        let upstreamResult: [UInt8] = try await BlockingSocket.onThread {
            usleep(300_000)
            stalled.drain()
            // The proxy's SYN is retried after about a second.
            guard let connection = stalled.accept(timeoutMilliseconds: 15000) else { throw ChildProcess.Failure(description: "the proxy never connected") }
            let socket = BlockingSocketAdopting(fd: connection)
            let bytes = try BlockingClient.readToEnd(connection)
            try BlockingClient.writeAll(connection, Array("late answer".utf8))
            socket.close()
            return bytes
        }
        #expect(upstreamResult == Array("early bytes".utf8))
        #expect(try await clientResult == Array("late answer".utf8))
        try await harness.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.clientToServer == Array("early bytes".utf8))
        let firstRead = try #require(session.timeline.first { $0.direction == .clientToServer && $0.kind == "data" }?.time)
        // Sent at once, but read only once the upstream was connected (after the drain).
        #expect(firstRead.nanosecondsSinceEpoch - sentAt.nanosecondsSinceEpoch > 250_000_000)
        #expect(firstRead >= session.opened)
        #expect(session.end == .fin)
    }

    /// A client that resets while its upstream is still connecting: the
    /// upstream is reset once it answers, nothing stays live, nothing is
    /// recorded and no upstream failure is counted.
    @Test func clientLeavesBeforeTheUpstreamAnswers() async throws {
        let stalled = try StalledListener()
        // The upstream's SYN is dropped until the drain; the kernel retries it
        // after 1 s, then 2 s more: give the connect time for that.
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: stalled.endpoint,
            recording: { RecorderConfiguration(output: .file(path: $0)) }, connectTimeout: .seconds(20)
        )
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(Array("gone".utf8))
            usleep(100_000)
            socket.reset()
        }
        let upstreamSaw: String = try await BlockingSocket.onThread {
            stalled.drain()
            guard let connection = stalled.accept(timeoutMilliseconds: 15000) else { return "no connection" }
            defer { close(connection) }
            do {
                return "clean end after \(try BlockingClient.readToEnd(connection).count) bytes"
            } catch {
                return "\(error)"
            }
        }
        // The proxy resets the upstream as soon as it connects; when that RST
        // lands before the listener's accept, the kernel drops the connection
        // from the accept queue and there is nothing left to accept.
        #expect(upstreamSaw.contains("reset by peer") || upstreamSaw == "no connection", "\(upstreamSaw)")
        #expect(await harness.proxy.waitForSessions(timeout: .seconds(2)))
        #expect(harness.proxy.statistics.snapshot.liveSessions == 0)
        #expect(harness.proxy.statistics.snapshot.upstreamFailures == 0)
        try await harness.stop()
        #expect(try Recorded.sessions([harness.recordingPath]).isEmpty)
    }
}

/// Closes an accepted descriptor once.
struct BlockingSocketAdopting {
    let fd: Int32
    func close() { _ = Glibc.close(fd) }
}
