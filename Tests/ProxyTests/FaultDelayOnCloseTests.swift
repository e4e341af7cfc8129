import Faults
import Foundation
import Proxy
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A delaying fault keeps its delay for bytes it holds when their source
/// closes: NIO closes a channel at once when its peer's FIN arrives after our
/// output was shut (or our output is shut after its FIN), and the bytes the
/// fault still held used to be released on the spot.
@Suite(.serialized) struct FaultDelayOnCloseTests {
    /// Bytes seen by a reader: when the first arrived, and how it ended.
    struct Reception: Sendable {
        var bytes: [UInt8]
        var first: ContinuousClock.Instant?
        var end: ContinuousClock.Instant
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Reads `fd` to its end of stream (throws on a reset or a timeout).
    static func receive(_ fd: Int32) throws -> Reception {
        var bytes: [UInt8] = []
        var first: ContinuousClock.Instant?
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else { throw ChildProcess.Failure(description: "read failed: \(String(cString: strerror(errno)))") }
            if count == 0 { return Reception(bytes: bytes, first: first, end: .now) }
            if first == nil { first = .now }
            bytes += buffer[0..<count]
        }
    }

    /// The upstream server writes `payload` and closes at once; the client
    /// (which half-closed first when `clientHalfCloses`, so the proxy's
    /// output to the server is already shut and the server's FIN closes
    /// that channel outright) still gets every byte 100 ms later, then EOF.
    @Test(arguments: [false, true])
    func downstreamLatencySurvivesTheServerClosing(clientHalfCloses: Bool) async throws {
        let server = try RawListener()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint,
            faults: [try Fault(.latency(latency: .milliseconds(100)), stream: .downstream)]
        )
        let payload = randomBytes(300_000, seed: 11)
        let endpoint = harness.endpoints[0]
        async let serverSide = BlockingSocket.onThread { () -> ContinuousClock.Instant in
            let fd = try server.accept(timeoutMilliseconds: 10_000)
            defer { close(fd) }
            if clientHalfCloses {
                // Wait for the client's FIN: the proxy's side is half-closed.
                _ = try Self.receive(fd)
            }
            let wrote = ContinuousClock.now
            try BlockingClient.writeAll(fd, payload)
            return wrote
        }
        let reception = try await BlockingSocket.onThread { () -> Reception in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            if clientHalfCloses {
                socket.shutdownWrite()
            }
            return try Self.receive(socket.fd)
        }
        let wrote = try await serverSide
        #expect(reception.bytes.count == payload.count)
        #expect(reception.bytes == payload)
        let first = try #require(reception.first)
        let delay = Self.milliseconds(wrote.duration(to: first))
        #expect(delay >= 95, "the first byte came \(delay) ms after the server wrote it")
        #expect(delay < 2_000, "the first byte came \(delay) ms after the server wrote it")
        #expect(Self.milliseconds(wrote.duration(to: reception.end)) >= 95)
        try await harness.stop()
    }

    /// The client writes and half-closes; the server has already shut its
    /// side, so the proxy's client channel closes as soon as the client's
    /// FIN arrives. The server still gets every byte 100 ms after it was
    /// written, then EOF.
    @Test func upstreamLatencySurvivesTheClientClosing() async throws {
        let server = try RawListener()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint,
            faults: [try Fault(.latency(latency: .milliseconds(100)), stream: .upstream)]
        )
        let payload = randomBytes(200_000, seed: 12)
        let endpoint = harness.endpoints[0]
        async let serverSide = BlockingSocket.onThread { () -> Reception in
            let fd = try server.accept(timeoutMilliseconds: 10_000)
            defer { close(fd) }
            shutdown(fd, Int32(SHUT_WR))
            return try Self.receive(fd)
        }
        let (wrote, echoed) = try await BlockingSocket.onThread { () -> (ContinuousClock.Instant, [UInt8]) in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            let wrote = ContinuousClock.now
            try socket.send(payload)
            socket.shutdownWrite()
            return (wrote, try socket.readToEnd())
        }
        let reception = try await serverSide
        #expect(echoed.isEmpty)
        #expect(reception.bytes.count == payload.count)
        #expect(reception.bytes == payload)
        let first = try #require(reception.first)
        let delay = Self.milliseconds(wrote.duration(to: first))
        #expect(delay >= 95, "the first byte came \(delay) ms after the client wrote it")
        #expect(delay < 2_000, "the first byte came \(delay) ms after the client wrote it")
        try await harness.stop()
    }

    /// Bandwidth keeps pacing after the server closed: 100,000 bytes at
    /// 1000 KB/s still take about 100 ms, byte-exact, then EOF.
    @Test func bandwidthKeepsPacingAfterTheServerCloses() async throws {
        let server = try RawListener()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint,
            faults: [try Fault(.bandwidth(rate: .kilobytesPerSecond(1000)), stream: .downstream)]
        )
        let payload = randomBytes(100_000, seed: 13)
        let endpoint = harness.endpoints[0]
        async let serverSide = BlockingSocket.onThread { () -> ContinuousClock.Instant in
            let fd = try server.accept(timeoutMilliseconds: 10_000)
            defer { close(fd) }
            _ = try Self.receive(fd)
            let wrote = ContinuousClock.now
            try BlockingClient.writeAll(fd, payload)
            return wrote
        }
        let reception = try await BlockingSocket.onThread { () -> Reception in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            socket.shutdownWrite()
            return try Self.receive(socket.fd)
        }
        let wrote = try await serverSide
        #expect(reception.bytes == payload)
        let elapsed = Self.milliseconds(wrote.duration(to: reception.end))
        #expect(elapsed >= 95 && elapsed < 1_000, "100,000 bytes at 1000 KB/s took \(elapsed) ms")
        try await harness.stop()
    }

    /// A reset from the server is not delayed: the client sees it at once,
    /// while the latency still holds the bytes before it.
    @Test func aResetIsPassedOnAtOnce() async throws {
        let server = try RawListener()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint,
            faults: [try Fault(.latency(latency: .seconds(2)), stream: .downstream)]
        )
        let endpoint = harness.endpoints[0]
        async let serverSide: Void = BlockingSocket.onThread {
            let fd = try server.accept(timeoutMilliseconds: 10_000)
            try BlockingClient.writeAll(fd, Array(repeating: 7, count: 1000))
            usleep(50_000)
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
            close(fd)
        }
        let (outcome, elapsed) = try await BlockingSocket.onThread { () -> (String, Double) in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            let start = ContinuousClock.now
            let outcome: String
            do {
                outcome = "end of stream after \(try socket.readToEnd().count) bytes"
            } catch {
                outcome = "\(error)"
            }
            return (outcome, Self.milliseconds(start.duration(to: .now)))
        }
        try await serverSide
        #expect(outcome.contains("reset by peer"), "\(outcome)")
        #expect(elapsed < 1_500, "the reset took \(elapsed) ms")
        try await harness.stop()
    }
}

/// A plain blocking TCP listener on 127.0.0.1 (port 0) for servers whose
/// exact timing a test controls.
final class RawListener: Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let (fd, address) = try listenOnLoopback(backlog: 128, reuseAddress: true)
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    var endpoint: Endpoint { .ip(.loopbackV4, port: port) }

    /// The next connection (blocking, with a 10 s receive timeout set on it).
    func accept(timeoutMilliseconds: Int32) throws -> Int32 {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else {
            throw ChildProcess.Failure(description: "no connection within \(timeoutMilliseconds) ms")
        }
        let connection = Glibc.accept(fd, nil, nil)
        guard connection >= 0 else { throw ChildProcess.Failure(description: "accept: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return connection
    }

    deinit {
        close(fd)
    }
}
