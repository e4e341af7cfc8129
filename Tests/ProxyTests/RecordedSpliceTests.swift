import Atomics
import Foundation
import Logging
import NIOConcurrencyHelpers
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

/// Recorded sessions on the splice path: the worker records each chunk it
/// reads before writing it on, so the recording holds every byte, and the
/// endings (FIN, RST each way) are recorded as on NIO; while the recorder's
/// backlog is full the session reads nothing.
@Suite struct RecordedSpliceTests {
    /// A long conversation of small messages moves after 64 reads, then a
    /// 2 MiB burst both ways at once and small round trips again, then the
    /// client half-closes: the recording holds every byte both ways, the
    /// client's FIN before the server's, and tshark finds nothing wrong.
    @Test(.timeLimit(.minutes(1)), arguments: Transport.allCases)
    func conversationIsRecordedWhole(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        let echo = try await EchoServer.start(on: transport.upstreamEndpoint(in: directory))
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, directory: directory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        defer { harness.remove() }
        let socket = try BlockingSocket(connectingTo: harness.endpoints[0], timeout: .seconds(20))
        var sent: [UInt8] = []

        func roundTrips(_ count: Int, seed: UInt64) async throws {
            for index in 0..<count {
                let message = randomBytes(1 + (index * 37) % 1500, seed: seed + UInt64(index))
                let echoed = try await BlockingSocket.onThread {
                    try socket.send(message)
                    return try socket.read(exactly: message.count)
                }
                #expect(echoed == message, "round trip \(index) came back different")
                sent += message
            }
        }

        try await roundTrips(120, seed: 100)
        let statistics = harness.proxy.statistics
        #expect(statistics.splicesStarted.load(ordering: .relaxed) == 1, "120 round trips did not move the recorded session")
        let burst = randomBytes(2 << 20, seed: 77)
        async let burstBack = BlockingSocket.onThread { try socket.read(exactly: burst.count) }
        try await BlockingSocket.onThread { try socket.send(burst) }
        let burstSame = try await burstBack == burst
        #expect(burstSame, "the burst came back different")
        sent += burst
        try await roundTrips(50, seed: 900)
        socket.shutdownWrite()
        #expect(try await BlockingSocket.onThread { try socket.readToEnd() }.isEmpty)
        try await eventually("the session's end") { statistics.liveSessions.load(ordering: .relaxed) == 0 }
        #expect(statistics.splicesHandedBack.load(ordering: .relaxed) == 0)
        #expect(statistics.bytesSpliced.load(ordering: .relaxed) > 2 * burst.count, "the burst should have moved outside NIO")
        try await harness.stop()
        await echo.stop()

        let sessions = try Recorded.sessions([harness.recordingPath])
        let session = try #require(sessions.first)
        #expect(sessions.count == 1)
        #expect(session.clientToServer.count == sent.count)
        // Compared apart: a failed `==` of megabytes would have the test library diff them.
        let clientSame = session.clientToServer == sent
        let serverSame = session.serverToClient == sent
        #expect(clientSame, "the recording's client bytes differ")
        #expect(serverSame, "the recording's server bytes differ")
        #expect(session.end == .fin)
        let clientFin = try #require(session.first("fin", .clientToServer))
        let serverFin = try #require(session.first("fin", .serverToClient))
        #expect(clientFin < serverFin)
        #expect(session.last("data", .serverToClient)! < serverFin)
        #expect(session.first("rst", .clientToServer) == nil && session.first("rst", .serverToClient) == nil)
        #expect(try TShark.problems(harness.recordingPath) == [])
        let manifest = try #require(try Manifest.load(forRecording: harness.recordingPath))
        #expect(manifest.sessions.first?.clientToServer.bytes == sent.count)
        let verification = try ChecksumVerification.verify(path: harness.recordingPath)
        #expect(verification.passed, "\(verification.problems)")
    }

    /// Who resets a session that has moved.
    enum Resetter: String, CaseIterable, CustomTestStringConvertible {
        case client, upstream
        var testDescription: String { rawValue }
    }

    /// A session moved by its reads, then reset by one peer: the other
    /// peer gets the reset, and the recording ends with one RST, from the
    /// side that sent it, after every byte of the conversation.
    @Test(.timeLimit(.minutes(1)), arguments: Resetter.allCases)
    func resetIsRecordedFromItsSender(_ resetter: Resetter) async throws {
        let upstream = try TestListener(.ip(.loopbackV4, port: 0))
        defer { upstream.close() }
        let harness = try await ProxyHarness.recording([.ip(.loopbackV4, port: 0)], to: upstream.endpoint)
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
        async let accepted = BlockingSocket.onThread { try upstream.acceptOne() }
        let client = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(20))
        let server = try await accepted
        var fromClient: [UInt8] = []
        var fromServer: [UInt8] = []
        for index in 0..<40 {
            let question = randomBytes(10 + index, seed: UInt64(index))
            let answer = randomBytes(20 + index, seed: 1000 + UInt64(index))
            let (heard, answered) = try await BlockingSocket.onThread { () -> ([UInt8], [UInt8]) in
                try client.send(question)
                var heard = [UInt8](repeating: 0, count: question.count)
                var got = 0
                while got < heard.count {
                    let read = heard.withUnsafeMutableBytes { recv(server, $0.baseAddress! + got, $0.count - got, 0) }
                    guard read > 0 else { break }
                    got += read
                }
                try BlockingClient.writeAll(server, answer)
                return (Array(heard[0..<got]), try client.read(exactly: answer.count))
            }
            #expect(heard == question)
            #expect(answered == answer)
            fromClient += question
            fromServer += answer
        }
        let statistics = harness.proxy.statistics
        try await eventually("the move") { statistics.splicesStarted.load(ordering: .relaxed) == 1 }

        let outcome: String
        switch resetter {
        case .client:
            client.reset()
            outcome = try await BlockingSocket.onThread { () -> String in
                var byte: UInt8 = 0
                let read = recv(server, &byte, 1, 0)
                return read < 0 ? String(cString: strerror(errno)) : "read \(read)"
            }
            Glibc.close(server)
        case .upstream:
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(server, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
            Glibc.close(server)
            outcome = try await BlockingSocket.onThread { () -> String in
                do {
                    let bytes = try client.readToEnd()
                    return "clean end after \(bytes.count) bytes"
                } catch {
                    return "\(error)"
                }
            }
        }
        #expect(outcome.localizedCaseInsensitiveContains("reset by peer"), "\(outcome)")
        try await eventually("the session's end") { statistics.liveSessions.load(ordering: .relaxed) == 0 }
        try await harness.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.clientToServer == fromClient)
        #expect(session.serverToClient == fromServer)
        #expect(session.end == .reset)
        let sender: Direction = resetter == .client ? .clientToServer : .serverToClient
        let reset = try #require(session.first("rst", sender))
        #expect(session.first("rst", sender.reversed) == nil)
        #expect(session.last("data", .clientToServer)! < reset)
        #expect(session.last("data", .serverToClient)! < reset)
    }

    /// Stopping the proxy closes a session on the splice path with a FIN
    /// to each peer, and the recording shows both.
    @Test(.timeLimit(.minutes(1)))
    func proxyStopRecordsBothFINs() async throws {
        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness.recording([.ip(.loopbackV4, port: 0)], to: echo.endpoint)
        defer { harness.remove() }
        let socket = try BlockingSocket(connectingTo: harness.endpoints[0], timeout: .seconds(20))
        var sent: [UInt8] = []
        for index in 0..<40 {
            let message = randomBytes(5 + index, seed: UInt64(index))
            #expect(try await BlockingSocket.onThread { try socket.send(message); return try socket.read(exactly: message.count) } == message)
            sent += message
        }
        let statistics = harness.proxy.statistics
        try await eventually("the move") { statistics.splicesStarted.load(ordering: .relaxed) == 1 }
        try await harness.stop(grace: .zero)
        #expect(try await BlockingSocket.onThread { try socket.readToEnd() }.isEmpty)
        await echo.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.clientToServer == sent)
        #expect(session.serverToClient == sent)
        #expect(session.end == .fin)
        #expect(session.first("fin", .clientToServer) != nil)
        #expect(session.first("fin", .serverToClient) != nil)
    }

    /// The recorder's writer stuck behind a FIFO nobody reads: a session on
    /// the splice path stops reading once the 16 KiB backlog is full (the
    /// upstream gets only a little of 8 MiB), and goes on, losing nothing,
    /// once the FIFO is read again.
    @Test(.timeLimit(.minutes(1)))
    func fullBacklogHoldsReads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("rec.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // Opened first, so the recorder's open does not wait; read later.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { Glibc.close(reader) }
        let upstream = try TestListener(.ip(.loopbackV4, port: 0))
        defer { upstream.close() }
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: upstream.endpoint, directory: directory, recording: { _ in
            var configuration = RecorderConfiguration(output: .file(path: fifo))
            configuration.backlogPolicy = .backpressure
            configuration.queueCapacity = 16 << 10
            return configuration
        })
        async let accepted = BlockingSocket.onThread { try upstream.acceptOne() }
        let client = try BlockingSocket(connectingTo: harness.endpoints[0], timeout: .seconds(30))
        let server = try await accepted
        defer { Glibc.close(server) }

        // The FIFO is drained while the session moves by its reads.
        let captured = NIOLockedValueBox<[UInt8]>([])
        let draining = ManagedAtomic(true)
        let drainer = Thread {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                if !draining.load(ordering: .relaxed) { usleep(2000); continue }
                let read = chunk.withUnsafeMutableBytes { Glibc.read(reader, $0.baseAddress, $0.count) }
                if read > 0 {
                    captured.withLockedValue { $0 += chunk[0..<read] }
                } else if read == 0 {
                    return
                } else {
                    usleep(1000)
                }
            }
        }
        drainer.start()

        let ping = Array("ping".utf8)
        for _ in 0..<40 {
            let heard = try await BlockingSocket.onThread { () -> Int in
                try client.send(ping)
                var buffer = [UInt8](repeating: 0, count: 4)
                return recv(server, &buffer, 4, Int32(MSG_WAITALL))
            }
            #expect(heard == 4)
        }
        let statistics = harness.proxy.statistics
        try await eventually("the move") { statistics.splicesStarted.load(ordering: .relaxed) == 1 }

        // The writer stops with the FIFO full; the client sends 8 MiB.
        draining.store(false, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(100))
        let bulk = randomBytes(8 << 20, seed: 5)
        async let sending: Void = BlockingSocket.onThread { try client.send(bulk) }
        let early = try await BlockingSocket.onThread { () -> Int in
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let deadline = ContinuousClock.now + .seconds(1)
            var quiet = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &quiet, socklen_t(MemoryLayout<timeval>.size))
            while ContinuousClock.now < deadline {
                let read = recv(server, &buffer, buffer.count, 0)
                if read > 0 { total += read }
            }
            return total
        }
        #expect(early < 2 << 20, "the upstream got \(early) bytes while the recorder's backlog was full")

        draining.store(true, ordering: .relaxed)
        let rest = try await BlockingSocket.onThread { () -> Int in
            var limit = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while early + total < bulk.count {
                let read = recv(server, &buffer, buffer.count, 0)
                guard read > 0 else { break }
                total += read
            }
            return total
        }
        try await sending
        #expect(early + rest == bulk.count)
        client.shutdownWrite()
        shutdown(server, Int32(SHUT_WR))
        try await eventually("the session's end") { statistics.liveSessions.load(ordering: .relaxed) == 0 }
        try await harness.stop()
        try await eventually("the FIFO's end") { drainer.isFinished }
        #expect(harness.recorder!.droppedBytes.load(ordering: .relaxed) == 0)

        let copy = directory.file("copy.pcap")
        #expect(FileManager.default.createFile(atPath: copy, contents: Data(captured.withLockedValue { $0 })))
        let session = try #require(try Recorded.sessions([copy]).first)
        #expect(session.clientToServer.count == 40 * ping.count + bulk.count)
        #expect(session.clientToServer.suffix(bulk.count).elementsEqual(bulk))
        #expect(session.gapBytes.values.allSatisfy { $0 == 0 })
        #expect(session.end == .fin)
    }
}
