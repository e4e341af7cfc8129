import Atomics
import Crypto
import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sessions on the splice path (no recording, no fault): bytes exact,
/// half-close and resets as on the NIO path, and a live session moved
/// between the two paths under load by faults set and removed.
@Suite struct SpliceTests {
    /// A started proxy to `upstream`; `spliceAfterBytes` 0 splices every session from its start.
    private static func proxy(to upstream: Endpoint, spliceAfterBytes: Int = 0, faults: FaultSettings = FaultSettings()) async throws -> ProxyServer {
        var configuration = ProxyConfiguration(listeners: [.ip(.loopbackV4, port: 0)], upstream: upstream, faults: faults)
        configuration.spliceAfterBytes = spliceAfterBytes
        let proxy = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "splice-test"))
        try await proxy.start()
        return proxy
    }

    /// When a session moves to the splice path: from its start, or (the default) after 256 KiB on NIO.
    enum Start: String, CaseIterable, CustomTestStringConvertible {
        case atOnce, afterBulk
        var testDescription: String { rawValue }
        var spliceAfterBytes: Int { self == .atOnce ? 0 : ProxyConfiguration(listeners: [], upstream: .unix(path: "/")).spliceAfterBytes }
    }

    /// 64 MiB each way, both peers sending at once (starting on NIO and
    /// moving to the splice path after 256 KiB), while latency is set
    /// on the proxy and removed again ten times through `setFaults` (the
    /// control API's path); each side's SHA-256 of what it received is the
    /// other side's of what it sent. To make each switch land mid-stream,
    /// both readers stop at every 6 MiB until the switch is made, so the
    /// pipes and socket buffers are full when it happens.
    @Test(.timeLimit(.minutes(1)), arguments: Transport.allCases)
    func liveSwitchUnderLoad(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TestListener(transport.upstreamEndpoint(in: directory))
        defer { upstream.close() }
        let proxy = try await Self.proxy(to: upstream.endpoint, spliceAfterBytes: Start.afterBulk.spliceAfterBytes, faults: FaultSettings(canChange: true))
        let endpoint = proxy.listeningEndpoints[0]
        let latency = [
            try Fault(.latency(latency: .milliseconds(1)), stream: .upstream),
            try Fault(.latency(latency: .milliseconds(1)), stream: .downstream),
        ]

        let chunks = 1024
        let checkpoints = Checkpoints(every: 6 << 20, count: 10)
        async let accepted = BlockingSocket.onThread { try upstream.acceptOne() }
        let client = try await BlockingSocket.onThread { try BlockingClient.connect(endpoint, timeout: .seconds(30)) }
        let server = try await accepted
        defer {
            Glibc.close(client)
            Glibc.close(server)
        }
        async let clientSide = BulkPeer.run(client, chunks: chunks, seed: 1, checkpoints: checkpoints)
        async let serverSide = BulkPeer.run(server, chunks: chunks, seed: 2, checkpoints: checkpoints)

        for checkpoint in 1...checkpoints.count {
            try await checkpoints.waitForBothReaders(at: checkpoint)
            await proxy.setFaults(checkpoint % 2 == 1 ? latency : [])
            try await Task.sleep(for: .milliseconds(20))
            checkpoints.release(checkpoint)
        }
        let (clientReport, serverReport) = try await (clientSide, serverSide)

        #expect(clientReport.receivedBytes == chunks * BulkPeer.chunkSize)
        #expect(serverReport.receivedBytes == chunks * BulkPeer.chunkSize)
        #expect(clientReport.received == BulkPeer.digest(chunks: chunks, seed: 2))
        #expect(serverReport.received == BulkPeer.digest(chunks: chunks, seed: 1))

        let statistics = proxy.statistics
        let total = statistics.bytesClientToServer.load(ordering: .relaxed) + statistics.bytesServerToClient.load(ordering: .relaxed)
        let spliced = statistics.bytesSpliced.load(ordering: .relaxed)
        #expect(total == 2 * chunks * BulkPeer.chunkSize)
        #expect(spliced > 0, "no byte went through the splice path")
        #expect(spliced < total, "no byte went through the NIO path")
        #expect(statistics.splicesHandedBack.load(ordering: .relaxed) >= 1)
        #expect(statistics.splicesStarted.load(ordering: .relaxed) >= 2, "the session never went back to the splice path")
        await proxy.shutdown(grace: .seconds(2))
    }

    /// The client sends, shuts its write side, and still receives the
    /// whole 2 MB answer through the splice path (spliced from the start);
    /// by default the session starts on NIO and, half-closed before it
    /// could move, stays there (a half-closed session does not leave NIO).
    @Test(arguments: Transport.allCases, Start.allCases)
    func clientHalfClosesFirst(_ transport: Transport, _ start: Start) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await BulkServer.start(on: transport.upstreamEndpoint(in: directory))
        let proxy = try await Self.proxy(to: server.endpoint, spliceAfterBytes: start.spliceAfterBytes)
        let request = BulkServer.Request(responseBytes: 2 << 20, seed: 7, mode: .respondAfterEnd)
        let body = randomBytes(300_000, seed: 3)
        let endpoint = proxy.listeningEndpoints[0]
        let received = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(request.header + body)
            socket.shutdownWrite()
            return try socket.readToEnd()
        }
        #expect(received == BulkServer.payload(seed: 7, count: 2 << 20))
        let report = try #require(try await server.reports(count: 1).first)
        #expect(report.received == request.header + body)
        if start == .atOnce {
            #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1)
            #expect(proxy.statistics.bytesSpliced.load(ordering: .relaxed) == request.header.count + body.count + (2 << 20))
        }
        await proxy.shutdown(grace: .seconds(2))
        await server.stop()
        #expect(proxy.statistics.liveSessions.load(ordering: .relaxed) == 0)
    }

    /// The server answers and half-closes first; the client keeps sending
    /// 1 MB afterwards, and all of it reaches the server.
    @Test(arguments: Transport.allCases)
    func serverHalfClosesFirst(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await BulkServer.start(on: transport.upstreamEndpoint(in: directory))
        let proxy = try await Self.proxy(to: server.endpoint)
        let request = BulkServer.Request(responseBytes: 100_000, seed: 9, mode: .respondAtOnce)
        let late = randomBytes(1 << 20, seed: 4)
        let endpoint = proxy.listeningEndpoints[0]
        let (received, afterEnd) = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(request.header)
            let received = try socket.readToEnd()
            try socket.send(late)
            socket.shutdownWrite()
            return (received, try socket.readToEnd())
        }
        #expect(received == BulkServer.payload(seed: 9, count: 100_000))
        #expect(afterEnd.isEmpty)
        let report = try #require(try await server.reports(count: 1).first)
        #expect(report.received == request.header + late)
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1)
        await proxy.shutdown(grace: .seconds(2))
        await server.stop()
    }

    /// A session half-closed on the splice path comes back to NIO (a fault
    /// set live) and finishes there: the side that ended stays ended, the
    /// other side's 8 MiB arrive whole, through the fault.
    @Test(arguments: Transport.allCases, [true, false])
    func halfClosedSessionComesBackToNIO(_ transport: Transport, clientEndsFirst: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TestListener(transport.upstreamEndpoint(in: directory))
        defer { upstream.close() }
        let proxy = try await Self.proxy(to: upstream.endpoint, faults: FaultSettings(canChange: true))
        let endpoint = proxy.listeningEndpoints[0]
        async let accepted = BlockingSocket.onThread { try upstream.acceptOne() }
        let client = try await BlockingSocket.onThread { try BlockingClient.connect(endpoint, timeout: .seconds(20)) }
        let server = try await accepted
        defer {
            Glibc.close(client)
            Glibc.close(server)
        }
        let (ending, going) = clientEndsFirst ? (client, server) : (server, client)
        let first = randomBytes(100_000, seed: 11)
        let rest = randomBytes(8 << 20, seed: 12)
        // One side sends a little and ends; the other reads it to the end.
        try await BlockingSocket.onThread {
            try BlockingClient.writeAll(ending, first)
            shutdown(ending, Int32(SHUT_WR))
        }
        let firstReceived = try await BlockingSocket.onThread { try BlockingClient.readToEnd(going) }
        #expect(firstReceived == first)
        await proxy.setFaults([try Fault(.latency(latency: .milliseconds(1)), stream: clientEndsFirst ? .downstream : .upstream)])
        try await eventually("the session back on NIO") { proxy.statistics.splicesHandedBack.load(ordering: .relaxed) == 1 }
        // The other side answers, through the fault, and ends too.
        async let sent: Void = BlockingSocket.onThread {
            try BlockingClient.writeAll(going, rest)
            shutdown(going, Int32(SHUT_WR))
        }
        let restReceived = try await BlockingSocket.onThread { try BlockingClient.readToEnd(ending) }
        try await sent
        #expect(restReceived.count == rest.count)
        #expect(restReceived == rest)
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1)
        try await eventually("the session's end") { proxy.statistics.liveSessions.load(ordering: .relaxed) == 0 }
        await proxy.shutdown(grace: .seconds(2))
    }

    /// A client's reset reaches the upstream as a reset.
    @Test func clientResetReachesUpstream() async throws {
        let server = try await BulkServer.start()
        let proxy = try await Self.proxy(to: server.endpoint)
        let endpoint = proxy.listeningEndpoints[0]
        let request = BulkServer.Request(responseBytes: 0, seed: 1, mode: .silent)
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(request.header + Array("some bytes".utf8))
            usleep(100_000)
            socket.reset()
        }
        let report = try #require(try await server.reports(count: 1, timeout: .seconds(5)).first)
        #expect(report.endedWithError, "the upstream saw \(report.error ?? "a clean close")")
        #expect(report.error?.contains("reset") ?? false || report.error?.contains("104") ?? false, "\(report.error ?? "-")")
        #expect(report.received == request.header + Array("some bytes".utf8))
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1)
        await proxy.shutdown(grace: .seconds(2))
        await server.stop()
    }

    /// An upstream's reset reaches the client as ECONNRESET.
    @Test func upstreamResetReachesClient() async throws {
        let server = try await BulkServer.start()
        let proxy = try await Self.proxy(to: server.endpoint)
        let endpoint = proxy.listeningEndpoints[0]
        let request = BulkServer.Request(responseBytes: 1000, seed: 1, mode: .respondThenReset)
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(5))
            try socket.send(request.header)
            do {
                let bytes = try socket.readToEnd()
                return "clean end after \(bytes.count) bytes"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome.contains("reset by peer"), "\(outcome)")
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1)
        await proxy.shutdown(grace: .seconds(2))
        await server.stop()
    }

    /// A long conversation of small messages leaves NIO after
    /// `spliceAfterReads` reads, however few bytes it moved, and goes on
    /// exact on the splice path as its reads change size: small round trips
    /// (copied), a 4 MiB burst both ways at once (spliced), a slow reader
    /// behind 2 MiB of small writes (the proxy holds what the client cannot
    /// take yet, and stops reading the upstream meanwhile), small round
    /// trips again; then the client half-closes and the session ends.
    @Test(.timeLimit(.minutes(1)), arguments: Transport.allCases)
    func conversationMovesToTheSplicePath(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start(on: transport.upstreamEndpoint(in: directory))
        let proxy = try await Self.proxy(to: echo.endpoint, spliceAfterBytes: Start.afterBulk.spliceAfterBytes)
        let socket = try BlockingSocket(connectingTo: proxy.listeningEndpoints[0], timeout: .seconds(20))
        var sent = 0

        func roundTrips(_ count: Int, seed: UInt64) async throws {
            for index in 0..<count {
                let message = randomBytes(1 + (index * 37) % 1500, seed: seed + UInt64(index))
                let echoed = try await BlockingSocket.onThread {
                    try socket.send(message)
                    return try socket.read(exactly: message.count)
                }
                #expect(echoed == message, "round trip \(index) came back different")
                sent += message.count
            }
        }

        try await roundTrips(200, seed: 1000)
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 1, "200 round trips did not move the session")
        #expect(sent < Start.afterBulk.spliceAfterBytes, "the session moved for its bytes, not its reads")

        let burst = randomBytes(4 << 20, seed: 77)
        async let burstBack = BlockingSocket.onThread { try socket.read(exactly: burst.count) }
        try await BlockingSocket.onThread { try socket.send(burst) }
        #expect(try await burstBack == burst)
        sent += burst.count

        let pieces = (0..<2048).map { randomBytes(1024, seed: 5000 + UInt64($0)) }
        async let slowBack = BlockingSocket.onThread { () -> [UInt8] in
            Thread.sleep(forTimeInterval: 0.3)
            return try socket.read(exactly: 2 << 20)
        }
        try await BlockingSocket.onThread {
            for piece in pieces { try socket.send(piece) }
        }
        #expect(try await slowBack == pieces.flatMap { $0 })
        sent += 2 << 20

        try await roundTrips(100, seed: 9000)
        socket.shutdownWrite()
        #expect(try await BlockingSocket.onThread { try socket.readToEnd() }.isEmpty)

        let statistics = proxy.statistics
        #expect(statistics.splicesHandedBack.load(ordering: .relaxed) == 0)
        #expect(statistics.bytesClientToServer.load(ordering: .relaxed) == sent)
        #expect(statistics.bytesServerToClient.load(ordering: .relaxed) == sent)
        #expect(statistics.bytesSpliced.load(ordering: .relaxed) > 2 * (sent - 256 << 10), "most bytes should have moved outside NIO")
        try await eventually("the session's end") { statistics.liveSessions.load(ordering: .relaxed) == 0 }
        await proxy.shutdown(grace: .seconds(2))
        await echo.stop()
    }

    /// A session that goes quiet leaves NIO at the next sweep, however
    /// little it moved, and holds no NIO channel there; it answers exactly
    /// when it speaks again, comes back to NIO for a fault set live, and
    /// leaves again once the fault is gone.
    @Test(.timeLimit(.minutes(1)))
    func idleSessionLeavesNIO() async throws {
        let echo = try await EchoServer.start()
        var configuration = ProxyConfiguration(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, faults: FaultSettings(canChange: true))
        configuration.parkIdleAfter = .milliseconds(200)
        let proxy = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "splice-test"))
        try await proxy.start()
        let socket = try BlockingSocket(connectingTo: proxy.listeningEndpoints[0])
        let statistics = proxy.statistics

        func exchange(_ text: String) async throws -> [UInt8] {
            let message = Array(text.utf8)
            return try await BlockingSocket.onThread {
                try socket.send(message)
                return try socket.read(exactly: message.count)
            }
        }

        #expect(try await exchange("before") == Array("before".utf8))
        #expect(statistics.splicesStarted.load(ordering: .relaxed) == 0)
        try await eventually("the quiet session's move") { statistics.splicesStarted.load(ordering: .relaxed) == 1 }
        #expect(proxy.state.withLockedValue { $0.sessions.values.allSatisfy(\.isEmpty) }, "a spliced session keeps no channel")
        #expect(try await exchange("parked") == Array("parked".utf8))
        #expect(statistics.bytesSpliced.load(ordering: .relaxed) == 2 * "parked".utf8.count)

        await proxy.setFaults([try Fault(.latency(latency: .milliseconds(100)), stream: .downstream)])
        try await eventually("the hand-back") { statistics.splicesHandedBack.load(ordering: .relaxed) == 1 }
        let start = ContinuousClock.now
        #expect(try await exchange("slowed") == Array("slowed".utf8))
        #expect(start.duration(to: .now) >= .milliseconds(100), "the fault set live did not reach the session")

        await proxy.setFaults([])
        try await eventually("the move back") { statistics.splicesStarted.load(ordering: .relaxed) == 2 }
        #expect(try await exchange("after") == Array("after".utf8))
        #expect(statistics.bytesClientToServer.load(ordering: .relaxed) == "beforeparkedslowedafter".utf8.count)
        #expect(statistics.bytesServerToClient.load(ordering: .relaxed) == "beforeparkedslowedafter".utf8.count)
        await proxy.shutdown(grace: .seconds(2))
        await echo.stop()
    }

    /// A short session (an echo of 16 bytes) never leaves NIO by default:
    /// connection churn pays nothing for the splice path.
    @Test func shortSessionsStayOnNIO() async throws {
        let echo = try await EchoServer.start()
        let proxy = try await Self.proxy(to: echo.endpoint, spliceAfterBytes: Start.afterBulk.spliceAfterBytes)
        for _ in 0..<20 {
            let reply = try await BlockingClient.exchange(proxy.listeningEndpoints[0], send: Array("sixteen bytes!!!".utf8), halfClose: true)
            #expect(reply == Array("sixteen bytes!!!".utf8))
        }
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 0)
        await proxy.shutdown(grace: .seconds(2))
        await echo.stop()
    }

    /// `--no-splice`: the same session stays on NIO.
    @Test func spliceOffKeepsSessionsOnNIO() async throws {
        let server = try await BulkServer.start()
        var configuration = ProxyConfiguration(listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint)
        configuration.splice = false
        configuration.spliceAfterBytes = 0
        let proxy = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "splice-test"))
        try await proxy.start()
        let request = BulkServer.Request(responseBytes: 100_000, seed: 5, mode: .respondAfterEnd)
        let received = try await BlockingClient.exchange(proxy.listeningEndpoints[0], send: request.header, halfClose: true)
        #expect(received == BulkServer.payload(seed: 5, count: 100_000))
        #expect(proxy.statistics.splicesStarted.load(ordering: .relaxed) == 0)
        #expect(proxy.statistics.bytesSpliced.load(ordering: .relaxed) == 0)
        await proxy.shutdown(grace: .seconds(2))
        await server.stop()
    }

    /// The descriptor read from a NIO channel is its socket's (same local
    /// and remote address), and closing the channel leaves the connection
    /// to the duplicate: the peer sees no end, and bytes written on the
    /// duplicate arrive.
    @Test func channelDescriptorOutlivesTheChannel() async throws {
        let listener = try TestListener(.ip(.loopbackV4, port: 0))
        defer { listener.close() }
        async let accepted = BlockingSocket.onThread { try listener.acceptOne() }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: try #require(listener.endpoint.socketAddress())).get()
        let peer = try await accepted
        defer { Glibc.close(peer) }
        let duplicate = try await channel.eventLoop.submit { channel.duplicatedDescriptor() }.get()
        let descriptor = try #require(duplicate)
        defer { Glibc.close(descriptor) }
        try await channel.close()
        let greeting = Array("still here".utf8)
        try BlockingClient.writeAll(descriptor, greeting)
        let received = try await BlockingSocket.onThread { () -> [UInt8] in
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = buffer.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, 0) }
            return count > 0 ? Array(buffer[0..<count]) : []
        }
        #expect(received == greeting)
    }
}

/// Readers stop at every `every` bytes received until the test releases
/// that checkpoint.
final class Checkpoints: Sendable {
    let every: Int
    let count: Int
    private let reached = [ManagedAtomic<Int>(0), ManagedAtomic<Int>(0)]
    private let released = ManagedAtomic<Int>(0)
    private let side = ManagedAtomic<Int>(0)

    init(every: Int, count: Int) {
        self.every = every
        self.count = count
    }

    /// A reader's slot (0 or 1).
    func join() -> Int {
        side.loadThenWrappingIncrement(ordering: .relaxed)
    }

    /// From a reader thread: blocks (bounded) at `checkpoint` until released.
    func arrive(_ slot: Int, at checkpoint: Int) throws {
        reached[slot].store(checkpoint, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(30)
        while released.load(ordering: .sequentiallyConsistent) < checkpoint {
            guard ContinuousClock.now < deadline else { throw BlockingClient.Failure(description: "checkpoint \(checkpoint) never released") }
            usleep(500)
        }
    }

    func waitForBothReaders(at checkpoint: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !reached.allSatisfy({ $0.load(ordering: .sequentiallyConsistent) >= checkpoint }) {
            guard ContinuousClock.now < deadline else { throw BlockingClient.Failure(description: "the readers never reached checkpoint \(checkpoint): \(reached.map { $0.load(ordering: .relaxed) })") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    func release(_ checkpoint: Int) {
        released.store(checkpoint, ordering: .sequentiallyConsistent)
    }
}

/// One peer of a bulk exchange: sends `chunks` chunks of 64 KiB (each
/// numbered, so a lost or reordered chunk changes the hash), shuts its
/// write side, and reads to the end, hashing both.
enum BulkPeer {
    static let chunkSize = 64 << 10

    struct Report: Sendable {
        var receivedBytes: Int
        var received: SHA256Digest
    }

    /// 4 MiB of seeded noise the chunks are cut from.
    private static let pool: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                words[index] = state
            }
        }
        return bytes
    }()

    static func chunk(_ index: Int, seed: UInt64) -> [UInt8] {
        let start = (index * chunkSize + Int(seed) * 4099) % (pool.count - chunkSize)
        var chunk = Array(pool[start..<(start + chunkSize)])
        withUnsafeBytes(of: (UInt64(index) &* 31 &+ seed).littleEndian) { chunk.replaceSubrange(0..<8, with: $0) }
        return chunk
    }

    static func digest(chunks: Int, seed: UInt64) -> SHA256Digest {
        var hash = SHA256()
        for index in 0..<chunks { hash.update(data: chunk(index, seed: seed)) }
        return hash.finalize()
    }

    static func run(_ socket: Int32, chunks: Int, seed: UInt64, checkpoints: Checkpoints) async throws -> Report {
        async let sent: Void = BlockingSocket.onThread {
            for index in 0..<chunks {
                try BlockingClient.writeAll(socket, chunk(index, seed: seed))
            }
            shutdown(socket, Int32(SHUT_WR))
        }
        let received = try await BlockingSocket.onThread { () -> Report in
            let slot = checkpoints.join()
            var hash = SHA256()
            var total = 0
            var next = 1
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            while true {
                let limit = next <= checkpoints.count ? min(buffer.count, next * checkpoints.every - total) : buffer.count
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, limit, 0) }
                if count == 0 { break }
                guard count > 0 else { throw BlockingClient.Failure(description: "read failed after \(total) bytes: \(String(cString: strerror(errno)))") }
                buffer.withUnsafeBytes { hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                total += count
                if next <= checkpoints.count, total == next * checkpoints.every {
                    try checkpoints.arrive(slot, at: next)
                    next += 1
                }
            }
            return Report(receivedBytes: total, received: hash.finalize())
        }
        try await sent
        return received
    }
}

/// A blocking listener on TCP loopback or a Unix path, for a test's own upstream.
final class TestListener: Sendable {
    let endpoint: Endpoint
    private let socket: Int32

    init(_ endpoint: Endpoint) throws {
        guard let address = try endpoint.socketAddress() else { throw BlockingClient.Failure(description: "\(endpoint) has no address") }
        let socket = Glibc.socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        let bound = address.withSockAddr { Glibc.bind(socket, $0, socklen_t($1)) }
        guard bound == 0, listen(socket, 16) == 0 else {
            throw BlockingClient.Failure(description: "cannot listen on \(endpoint): \(String(cString: strerror(errno)))")
        }
        self.socket = socket
        if case .unix = endpoint {
            self.endpoint = endpoint
        } else {
            var storage = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
            self.endpoint = .ip(.loopbackV4, port: UInt16(bigEndian: storage.sin_port))
        }
    }

    /// The next connection, with 30 s send and receive timeouts.
    func acceptOne() throws -> Int32 {
        let connection = accept(socket, nil, nil)
        guard connection >= 0 else { throw BlockingClient.Failure(description: "accept failed: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return connection
    }

    func close() {
        Glibc.close(socket)
    }
}
