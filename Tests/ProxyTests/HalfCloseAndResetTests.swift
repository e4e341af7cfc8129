import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import TapedeckTestSupport
import Testing

@Suite struct HalfCloseAndResetTests {
    /// The client sends, shuts down its write side, and still receives the
    /// whole 2 MB response; the pcap shows the client's FIN, then the
    /// response, then the server's FIN.
    @Test(arguments: Transport.allCases)
    func clientHalfClosesFirst(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await BulkServer.start(on: transport.upstreamEndpoint(in: directory))
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint, directory: directory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let request = BulkServer.Request(responseBytes: 2 << 20, seed: 7, mode: .respondAfterEnd)
        let body = randomBytes(10_000, seed: 3)
        let endpoint = harness.endpoints[0]
        let received = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send(request.header + body)
            socket.shutdownWrite()
            return try socket.readToEnd()
        }
        #expect(received == BulkServer.payload(seed: 7, count: 2 << 20))
        let report = try #require(try await server.reports(count: 1).first)
        #expect(report.received == request.header + body)
        try await harness.stop()
        await server.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.end == .fin)
        #expect(session.serverToClient.count == 2 << 20)
        let clientFin = try #require(session.first("fin", .clientToServer))
        let serverFin = try #require(session.first("fin", .serverToClient))
        let firstResponse = try #require(session.first("data", .serverToClient))
        #expect(clientFin < firstResponse)
        #expect(firstResponse < serverFin)
        #expect(session.last("data", .serverToClient)! < serverFin)
        #expect(try TShark.problems(harness.recordingPath) == [])
    }

    /// The server answers and half-closes first; the client keeps sending
    /// 1 MB afterwards, and all of it reaches the server. The pcap shows the
    /// server's FIN before the client's late data and its FIN.
    @Test(arguments: Transport.allCases)
    func serverHalfClosesFirst(_ transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await BulkServer.start(on: transport.upstreamEndpoint(in: directory))
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: server.endpoint, directory: directory, recording: { RecorderConfiguration(output: .file(path: $0)) })
        let request = BulkServer.Request(responseBytes: 100_000, seed: 9, mode: .respondAtOnce)
        let late = randomBytes(1 << 20, seed: 4)
        let endpoint = harness.endpoints[0]
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
        #expect(report.received.count == request.header.count + late.count)
        #expect(report.received == request.header + late)
        try await harness.stop()
        await server.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.end == .fin)
        #expect(session.clientToServer == request.header + late)
        let serverFin = try #require(session.first("fin", .serverToClient))
        let clientFin = try #require(session.first("fin", .clientToServer))
        #expect(serverFin < clientFin)
        #expect(serverFin < session.last("data", .clientToServer)!)
        #expect(try TShark.problems(harness.recordingPath) == [])
    }

    /// A client reset (SO_LINGER 0) resets the upstream connection and is an
    /// RST from the client in the pcap.
    @Test func clientResetReachesUpstream() async throws {
        let server = try await BulkServer.start()
        let harness = try await ProxyHarness.recording([.ip(.loopbackV4, port: 0)], to: server.endpoint)
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
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
        try await harness.stop()
        await server.stop()

        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.end == .reset)
        #expect(session.first("rst", .clientToServer) != nil)
        #expect(session.first("rst", .serverToClient) == nil)
        // The only expert items tshark reports are about that RST.
        let problems = try TShark.problems(harness.recordingPath)
        #expect(problems.allSatisfy { $0.contains("R") }, "\(problems)")
    }

    /// An upstream reset reaches the client as ECONNRESET and is an RST from
    /// the server in the pcap.
    @Test func upstreamResetReachesClient() async throws {
        let server = try await BulkServer.start()
        let harness = try await ProxyHarness.recording([.ip(.loopbackV4, port: 0)], to: server.endpoint)
        defer { harness.remove() }
        let endpoint = harness.endpoints[0]
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
        try await harness.stop()
        await server.stop()
        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.end == .reset)
        #expect(session.first("rst", .serverToClient) != nil)
        #expect(session.first("rst", .clientToServer) == nil)
        #expect(session.serverToClient == BulkServer.payload(seed: 1, count: 1000))
    }
}
