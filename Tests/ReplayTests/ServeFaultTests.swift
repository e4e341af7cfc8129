import Faults
import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// Faults on a replay server have the effects they have in the proxy.
@Suite struct ServeFaultTests {
    static let answer = Script.session([.client("ask", ms: 1), .server("0123456789abcdefghij", ms: 2), .serverFIN(ms: 3)])

    /// Twenty server chunks, one per recorded millisecond.
    static let stream = Script.session((0..<20).map { n in
        Script.Line.server("<\(n < 10 ? "0" : "")\(n)>", ms: 1 + Double(n))
    } + [.serverFIN(ms: 30)])

    @Test func latencyDelaysTheAnswers() async throws {
        let server = try await MockServer.start(recording: [Self.answer], faults: [try Fault(.latency(latency: .milliseconds(100), jitter: .zero))])
        let endpoint = server.endpoint
        let (elapsed, bytes) = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            let sent = now()
            try socket.send("ask".bytes)
            let bytes = try socket.readToEnd()
            return (now() - sent, bytes)
        }
        #expect(bytes.text == "0123456789abcdefghij")
        #expect(elapsed.milliseconds >= 98, "answered after \(elapsed.milliseconds) ms")
        #expect(elapsed.milliseconds < 600)
        await server.stop()
    }

    @Test func limitDataTruncatesTheAnswerAndCloses() async throws {
        let server = try await MockServer.start(recording: [Self.answer], faults: [try Fault(.limitData(bytes: 10))])
        let bytes = try await BlockingClient.exchange(server.endpoint, send: "ask".bytes, halfClose: false)
        #expect(bytes.text == "0123456789")
        await server.stop()
    }

    @Test func resetPeerResetsTheClient() async throws {
        let server = try await MockServer.start(recording: [Self.answer], faults: [try Fault(.resetPeer(timeout: .zero), stream: .upstream)])
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: server.endpoint)
            try socket.send("ask".bytes)
            do { return "read \(try socket.readToEnd().count) bytes" } catch { return "\(error)" }
        }
        #expect(outcome == "read failed: Connection reset by peer")
        await server.stop()
    }

    @Test func seededDropsAreTheSameInTwoRunsAndDifferWithAnotherSeed() async throws {
        func run(seed: UInt64) async throws -> String {
            let server = try await MockServer.start(recording: [Self.stream], faults: [try Fault(.drop(probability: 0.5))], seed: seed)
            defer { Task { await server.stop() } }
            return try await BlockingClient.exchange(server.endpoint, send: [], halfClose: false).text
        }
        let first = try await run(seed: 7)
        let second = try await run(seed: 7)
        let other = try await run(seed: 8)
        #expect(first == second)
        #expect(first != other)
        let kept = first.count / 4
        #expect(kept > 2 && kept < 18, "kept \(kept) of 20 chunks: \(first)")
    }

    @Test func faultsChangeOnLiveConnections() async throws {
        let script = Script.session([
            .client("a", ms: 1), .server("A", ms: 2),
            .client("b", ms: 3), .server("B", ms: 4),
        ], end: .open)
        let server = try await MockServer.start(recording: [script])
        let endpoint = server.endpoint
        let socket = try BlockingSocket(connectingTo: endpoint)
        let quick = try await BlockingSocket.onThread {
            let sent = now()
            try socket.send("a".bytes)
            _ = try socket.read(exactly: 1)
            return now() - sent
        }
        await server.setFaults([try Fault(.latency(latency: .milliseconds(150), jitter: .zero))])
        let slow = try await BlockingSocket.onThread {
            let sent = now()
            try socket.send("b".bytes)
            _ = try socket.read(exactly: 1)
            return now() - sent
        }
        #expect(quick.milliseconds < 100)
        #expect(slow.milliseconds >= 148, "after the change the answer took \(slow.milliseconds) ms")
        await server.stop()
    }
}
