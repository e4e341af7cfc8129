import Faults
import Foundation
import NIOCore
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// `replay serve` through `MockServer`, with real clients on real sockets.
@Suite struct ServeTests {
    static let conversation = Script.session([
        .client("PING\r\n", ms: 1),
        .server("+PONG\r\n", ms: 2),
        .client("GET a\r\n", ms: 10),
        .server("$1\r\nb\r\n", ms: 11),
        .clientFIN(ms: 20),
        .serverFIN(ms: 21),
    ])

    @Test(arguments: [TestListener.loopback, .temporaryUnixSocket])
    func answersTurnByTurnAndEndsAsRecorded(listen: TestListener) async throws {
        let server = try await MockServer.start(recording: [Self.conversation], listen: listen)
        let endpoint = server.endpoint
        let (first, second, rest) = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send("PING\r\n".bytes)
            let first = try socket.read(exactly: 7)
            try socket.send("GET a\r\n".bytes)
            let second = try socket.read(exactly: 7)
            socket.shutdownWrite()
            return (first, second, try socket.readToEnd())
        }
        #expect(first.text == "+PONG\r\n")
        #expect(second.text == "$1\r\nb\r\n")
        #expect(rest.isEmpty)
        let report = await server.stop()
        #expect(report.connections == 1)
        #expect(report.sessionsUsed == 1)
        #expect(report.mismatches.isEmpty)
        #expect(report.unusedSessions.isEmpty)
    }

    @Test func waitsForTheClientsWholeTurn() async throws {
        let script = Script.session([.client("ABCDEF", ms: 1), .server("ok", ms: 2)], end: .open)
        let server = try await MockServer.start(recording: [script], turnIdle: .seconds(2))
        let endpoint = server.endpoint
        let (sentRest, answered, answer) = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send("ABC".bytes)
            Thread.sleep(forTimeInterval: 0.15)
            let sentRest = now()
            try socket.send("DEF".bytes)
            let answer = try socket.read(exactly: 2)
            return (sentRest, now(), answer)
        }
        #expect(answer.text == "ok")
        // The answer waited for the second half (150 ms after the first), not for the idle timeout.
        #expect(answered >= sentRest)
        #expect((answered - sentRest).milliseconds < 1000)
        await server.stop()
    }

    @Test func aShortTurnEndsAfterTurnIdle() async throws {
        let script = Script.session([.client("GET /long-recorded-path", ms: 1), .server("200", ms: 2)], end: .open)
        let server = try await MockServer.start(recording: [script], answering: .sessions(.inOrder), turnIdle: .milliseconds(200), strict: false)
        let endpoint = server.endpoint
        let (elapsed, answer) = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            let sent = now()
            try socket.send("GET /short".bytes)
            let answer = try socket.read(exactly: 3)
            return (now() - sent, answer)
        }
        #expect(answer.text == "200")
        #expect(elapsed.milliseconds >= 190)
        #expect(elapsed.milliseconds < 1500)
        await server.stop()
    }

    @Test(arguments: [1.0, 2.0])
    func recordedGapsAreKeptAndScaled(speed: Double) async throws {
        let script = Script.session([
            .client("go", ms: 1),
            .server("a", ms: 2),
            .server("b", ms: 202),
            .server("c", ms: 602),
            .serverFIN(ms: 603),
        ])
        let server = try await MockServer.start(recording: [script], speed: speed)
        let endpoint = server.endpoint
        let arrivals = try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            try socket.send("go".bytes)
            var arrivals: [ContinuousClock.Instant] = []
            for _ in 0..<3 {
                _ = try socket.read(exactly: 1)
                arrivals.append(now())
            }
            return arrivals
        }
        let toB = (arrivals[1] - arrivals[0]).milliseconds * speed
        let toC = (arrivals[2] - arrivals[0]).milliseconds * speed
        #expect(abs(toB - 200) < 40, "b came \(toB) ms (recorded) after a, not 200")
        #expect(abs(toC - 600) < 40, "c came \(toC) ms (recorded) after a, not 600")
        await server.stop()
    }

    @Test func firstBytesPicksTheMatchingSession() async throws {
        let scripts = [
            Script.session(0, [.client("GET apple\r\n", ms: 1), .server("red\r\n", ms: 2), .serverFIN(ms: 3)]),
            Script.session(1, [.client("GET banana\r\n", ms: 1), .server("yellow\r\n", ms: 2), .serverFIN(ms: 3)]),
            Script.session(2, [.client("GET cherry\r\n", ms: 1), .server("dark red\r\n", ms: 2), .serverFIN(ms: 3)]),
        ]
        let server = try await MockServer.start(recording: scripts, answering: .sessions(.firstBytes))
        let banana = try await BlockingClient.exchange(server.endpoint, send: "GET banana\r\n".bytes, halfClose: false)
        let cherry = try await BlockingClient.exchange(server.endpoint, send: "GET cherry\r\n".bytes, halfClose: false)
        #expect(banana.text == "yellow\r\n")
        #expect(cherry.text == "dark red\r\n")
        let report = await server.stop()
        #expect(report.unusedSessions == [0])
    }

    @Test func sessionsRunOutUnlessLooping() async throws {
        let script = Script.session([.client("hi", ms: 1), .server("there", ms: 2), .serverFIN(ms: 3)])
        let once = try await MockServer.start(recording: [script])
        #expect(try await BlockingClient.exchange(once.endpoint, send: "hi".bytes, halfClose: false).text == "there")
        // No session left: closed at once (the client sends nothing, so the close is a FIN).
        #expect(try await BlockingClient.exchange(once.endpoint, send: [], halfClose: false).isEmpty)
        let report = await once.stop()
        #expect(report.connections == 2)
        #expect(report.refused == 1)

        let looping = try await MockServer.start(recording: [script], loop: true)
        for _ in 0..<3 {
            #expect(try await BlockingClient.exchange(looping.endpoint, send: "hi".bytes, halfClose: false).text == "there")
        }
        #expect(await looping.stop().refused == 0)
    }

    @Test func strictModeReportsTheFirstDifferenceAndResets() async throws {
        let script = Script.session([.client("SET key value\r\n", ms: 1), .server("+OK\r\n", ms: 2)], end: .open)
        let server = try await MockServer.start(recording: [script], answering: .sessions(.inOrder), strict: true, onMismatch: .reset)
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: server.endpoint)
            try socket.send("SET kez value\r\n".bytes)
            do {
                let bytes = try socket.readToEnd()
                return "end of stream after \(bytes.count) bytes"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome.contains("Connection reset"), "got \(outcome)")
        let report = await server.stop()
        let mismatch = try #require(report.mismatches.first)
        #expect(mismatch.offset == 6)
        #expect(mismatch.direction == .clientToServer)
        #expect(mismatch.expected.contains("|SET key value..|"))
        #expect(mismatch.actual.contains("|SET kez value..|"))
    }

    @Test func ignoredBytesAreNotCompared() async throws {
        let script = Script.session([.client("id=1234;GET x\r\n", ms: 1), .server("+x\r\n", ms: 2), .serverFIN(ms: 3)])
        let server = try await MockServer.start(recording: [script], strict: true, ignore: [try IgnoreRule(parsingPattern: "id=[0-9]+")])
        #expect(try await BlockingClient.exchange(server.endpoint, send: "id=9876;GET x\r\n".bytes, halfClose: true).text == "+x\r\n")
        #expect(await server.stop().mismatches.isEmpty)
    }

    @Test func aRecordedResetIsReplayed() async throws {
        let script = Script.session([.client("bye", ms: 1), .server("partial", ms: 2), .serverRST(ms: 3)], end: .reset)
        let server = try await MockServer.start(recording: [script])
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: server.endpoint)
            try socket.send("bye".bytes)
            let partial = try socket.read(exactly: 7)
            do {
                _ = try socket.readToEnd()
                return "\(partial.text) then end of stream"
            } catch {
                return "\(partial.text) then \(error)"
            }
        }
        #expect(outcome == "partial then read failed: Connection reset by peer")
        await server.stop()
    }

    @Test func aGapInTheCaptureFailsLoudly() async throws {
        let script = Script.session([.client("q", ms: 1), .server("abc", ms: 2), .serverGap(500, ms: 3), .server("xyz", ms: 4)], end: .open)
        let server = try await MockServer.start(recording: [script])
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: server.endpoint)
            try socket.send("q".bytes)
            do { return try socket.readToEnd().text } catch { return "\(error)" }
        }
        #expect(outcome.contains("reset"), "got \(outcome)")
        let report = await server.stop()
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.reason.contains("lost 500 bytes") == true)
    }
}
