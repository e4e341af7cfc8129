import Faults
@testable import Replay
import Testing

@Suite("TurnMachine: turn-taking on a manual clock")
struct TurnMachineTests {
    // MARK: Serving (server role, anchored per turn)

    @Test(arguments: [1.0, 2.0])
    func serveAnswersAfterTheRecordedGapSinceTheTurnsLastClientStep(speed: Double) {
        let script = Script.session([
            .client("PING", ms: 1), .server("+PONG", ms: 3),
            .client("GET", ms: 10), .client("KEY", ms: 12), .server("$1", ms: 20), .server("x", ms: 120),
        ])
        var player = Player(script, .server, speed: speed)
        player.start(at: .zero)
        player.receive("PING", at: ms(100))
        #expect(player.outputs.isEmpty)
        #expect(player.machine.nextDeadline == ms(100 + 2 / speed))
        player.receive("GET", at: ms(300))
        // Half the turn: the other half, or turnIdle, ends it.
        #expect(player.machine.nextDeadline == ms(350))
        player.receive("KEY", at: ms(310))
        player.advance(to: ms(1_000))
        #expect(player.outputs == [
            .sent("+PONG", at: ms(100 + 2 / speed)),
            .sent("$1", at: ms(310 + 8 / speed)),
            .sent("x", at: ms(310 + 108 / speed)),
        ])
        #expect(player.machine.scriptDone)
        #expect(player.machine.nextDeadline == nil)
    }

    @Test func serveWaitsForASilentClientWithoutATimer() {
        var player = Player(Script.session([.client("hi", ms: 1), .server("yo", ms: 2)]), .server)
        player.start(at: .zero)
        #expect(player.machine.nextDeadline == nil)
        player.advance(to: ms(600_000))
        #expect(player.outputs.isEmpty)
        player.receive("hi", at: ms(600_000))
        player.finish()
        #expect(player.outputs == [.sent("yo", at: ms(600_001))])
    }

    @Test(arguments: [1.0, 2.0])
    func serveWhoseServerSpeaksFirstCountsFromTheStart(speed: Double) {
        let script = Script.session([
            .server("220 hello", ms: 5), .client("QUIT", ms: 100), .server("221 bye", ms: 101), .serverFIN(ms: 102),
        ])
        var player = Player(script, .server, speed: speed)
        player.start(at: ms(1_000))
        player.receive("QUIT", at: ms(2_000))
        player.end(at: ms(2_500))
        #expect(player.outputs == [
            .sent("220 hello", at: ms(1_000 + 5 / speed)),
            .sent("221 bye", at: ms(2_000 + 1 / speed)),
            .halfClose(at: ms(2_000 + 2 / speed)),
            .finish(at: ms(2_500)),
        ])
    }

    @Test func aShortTurnEndsTurnIdleAfterTheLastByteAndItsMissingBytesAreForgiven() {
        let script = Script.session([
            .client("ABCDEF", ms: 1), .server("1", ms: 2), .client("GH", ms: 10), .server("2", ms: 11),
        ])
        var player = Player(script, .server)
        player.start(at: .zero)
        player.receive("A", at: ms(20))
        player.receive("BC", at: ms(60))
        player.advance(to: ms(109.999))
        #expect(player.outputs.isEmpty, "each byte restarts the idle wait")
        player.advance(to: ms(110))
        // Anchored at the last byte: the answer was due 1 ms after it.
        #expect(player.outputs == [.sent("1", at: ms(110), due: ms(61))])
        #expect(player.machine.peerForgiven == 3)
        // The next turn waits for its own two bytes only.
        player.receive("GH", at: ms(200))
        player.finish()
        #expect(player.outputs.last == .sent("2", at: ms(201)))
    }

    @Test func bytesBeyondATurnCountTowardTheNext() {
        let script = Script.session([
            .client("ABCDEF", ms: 1), .server("1", ms: 2), .client("GH", ms: 10), .server("2", ms: 11),
        ])
        var whole = Player(script, .server)
        whole.start(at: .zero)
        whole.receive("ABCDEFGH", at: ms(100))
        whole.finish()
        // The second turn was over when the first answer went out.
        #expect(whole.outputs == [.sent("1", at: ms(101)), .sent("2", at: ms(102))])

        var part = Player(script, .server)
        part.start(at: .zero)
        part.receive("ABCDEFG", at: ms(100))
        part.finish()
        // One byte of the second turn came: it ends turnIdle after it.
        #expect(part.outputs == [.sent("1", at: ms(101)), .sent("2", at: ms(150), due: ms(101))])
        #expect(part.machine.peerForgiven == 1)
    }

    @Test func aClientThatEndsEarlyEndsEveryTurnAtOnce() {
        let script = Script.session([
            .client("GET a", ms: 1), .server("A", ms: 2), .client("GET b", ms: 10), .server("B", ms: 11), .serverFIN(ms: 12),
        ])
        var player = Player(script, .server)
        player.start(at: .zero)
        player.receive("GET", at: ms(10))
        player.end(at: ms(20))
        player.finish()
        #expect(player.outputs == [
            .sent("A", at: ms(21)), .sent("B", at: ms(22)), .halfClose(at: ms(23)), .finish(at: ms(23)),
        ])
    }

    @Test func aRecordedResetEndsTheSession() {
        let script = Script.session([.client("bye", ms: 1), .server("partial", ms: 2), .serverRST(ms: 3), .server("never", ms: 4)])
        var player = Player(script, .server)
        player.start(at: .zero)
        player.receive("bye", at: ms(10))
        player.finish()
        #expect(player.outputs == [.sent("partial", at: ms(11)), .reset(at: ms(12))])
        #expect(player.machine.isFinished)
        player.receive("more", at: ms(20))
        player.end(at: ms(30))
        #expect(player.outputs.count == 2)
        #expect(player.machine.nextDeadline == nil)
    }

    @Test func serveGapsFailTheSession() {
        var client = Player(Script.session([.client("abc", ms: 1), .clientGap(100, ms: 2), .server("x", ms: 3)]), .server)
        client.start(at: ms(5))
        #expect(client.outputs == [
            .fail("the capture lost 100 bytes of what the client sent at byte 3; the session cannot be served past there", at: ms(5)),
        ])
        #expect(client.machine.isFinished)

        var server = Player(Script.session([.client("q", ms: 1), .server("abc", ms: 2), .serverGap(500, ms: 3), .server("xyz", ms: 4)]), .server)
        server.start(at: .zero)
        server.receive("q", at: ms(10))
        server.finish()
        #expect(server.outputs == [
            .sent("abc", at: ms(11)),
            .fail("the capture lost 500 bytes of the server's answer; the session cannot be served past there", at: ms(12)),
        ])
    }

    // MARK: Driving (client role, one anchor per session)

    static let exchange = Script.session([
        .client("a", ms: 1), .server("A", ms: 2), .client("b", ms: 20), .server("B", ms: 21), .clientFIN(ms: 30),
    ])

    @Test(arguments: [1.0, 2.0])
    func driveSendsAtTheAnchorPlusTheScaledOffset(speed: Double) {
        var player = Player(Self.exchange, .client, anchor: ms(100), speed: speed)
        player.start(at: ms(100))
        #expect(player.machine.sendDue == ms(100 + 1 / speed))
        player.receive("A", at: ms(103))
        #expect(player.machine.sendDue == ms(100 + 20 / speed))
        player.receive("B", at: ms(100 + 20 / speed + 2))
        player.finish()
        #expect(player.outputs == [
            .sent("a", at: ms(100 + 1 / speed)),
            .sent("b", at: ms(100 + 20 / speed)),
            .halfClose(at: ms(100 + 30 / speed)),
            // Then turnIdle for bytes the server sends beyond the recording.
            .finish(at: ms(100 + 30 / speed + 50)),
        ])
    }

    @Test func driveStartedLateSendsWhatIsDueAtOnce() {
        var player = Player(Self.exchange, .client, anchor: ms(100))
        player.start(at: ms(200))
        #expect(player.outputs == [.sent("a", at: ms(200), due: ms(101))])
    }

    @Test func aLateAnswerDelaysOnlyTheNextSend() {
        var player = Player(Self.exchange, .client)
        player.start(at: .zero)
        player.advance(to: ms(10))
        // Waiting for the server: no send is due, the reply timeout runs from the first send.
        #expect(player.machine.sendDue == nil)
        #expect(player.machine.nextDeadline == ms(501))
        player.receive("A", at: ms(25))
        player.receive("B", at: ms(26))
        player.finish()
        #expect(player.outputs == [
            .sent("a", at: ms(1)), .sent("b", at: ms(25), due: ms(20)), .halfClose(at: ms(30)), .finish(at: ms(80)),
        ])
    }

    @Test func aSilentServerIsGivenUpOnAfterTheReplyTimeout() {
        var player = Player(Self.exchange, .client, replyTimeout: .milliseconds(300))
        player.start(at: .zero)
        player.finish()
        #expect(player.outputs == [
            .sent("a", at: ms(1)),
            .sent("b", at: ms(301), due: ms(20)),
            // The FIN waits for the server's second turn: 300 ms from the second send.
            .halfClose(at: ms(601)),
            .finish(at: ms(651)),
        ])
        #expect(player.machine.peerForgiven == 2)
    }

    @Test func aServerThatStopsShortIsGivenTurnIdle() {
        let script = Script.session([.client("a", ms: 1), .server("ok", ms: 2), .client("b", ms: 20)])
        var player = Player(script, .client)
        player.start(at: .zero)
        player.receive("o", at: ms(10))
        player.advance(to: ms(59.999))
        #expect(player.outputs == [.sent("a", at: ms(1))])
        player.advance(to: ms(60))
        #expect(player.outputs.last == .sent("b", at: ms(60), due: ms(20)))
        #expect(player.machine.peerForgiven == 1)
    }

    @Test func afterTheLastSendExtraBytesEndTheSessionAtOnce() {
        let script = Script.session([.client("a", ms: 1), .server("ok", ms: 2)])
        var quiet = Player(script, .client)
        quiet.start(at: .zero)
        quiet.receive("ok", at: ms(5))
        quiet.finish()
        #expect(quiet.outputs == [.sent("a", at: ms(1)), .finish(at: ms(55))])

        var chatty = Player(script, .client)
        chatty.start(at: .zero)
        chatty.receive("ok", at: ms(5))
        chatty.receive("!", at: ms(30))
        #expect(chatty.outputs == [.sent("a", at: ms(1)), .finish(at: ms(30))])

        var ended = Player(script, .client)
        ended.start(at: .zero)
        ended.receive("ok", at: ms(5))
        ended.end(at: ms(20))
        #expect(ended.outputs == [.sent("a", at: ms(1)), .finish(at: ms(20))])
    }

    @Test func aLateByteOfAForgivenTurnRestartsTheLastWait() {
        let script = Script.session([.client("a", ms: 1), .server("ok", ms: 2)])
        var player = Player(script, .client)
        player.start(at: .zero)
        player.receive("o", at: ms(5))
        // The turn ends idle at 55; the wait for extra bytes would end at 105.
        player.receive("k", at: ms(80))
        player.finish()
        #expect(player.outputs == [.sent("a", at: ms(1)), .finish(at: ms(130))])
    }

    @Test func aServerThatEndsEarlyLeavesTheSendsOnSchedule() {
        var player = Player(Self.exchange, .client)
        player.start(at: .zero)
        player.end(at: ms(5))
        player.finish()
        #expect(player.outputs == [
            .sent("a", at: ms(1)), .sent("b", at: ms(20)), .halfClose(at: ms(30)), .finish(at: ms(30)),
        ])
    }

    @Test func driveReplaysARecordedReset() {
        let script = Script.session([.client("a", ms: 1), .server("A", ms: 2), .clientRST(ms: 3), .client("never", ms: 4)])
        var player = Player(script, .client)
        player.start(at: .zero)
        player.receive("A", at: ms(2))
        player.finish()
        #expect(player.outputs == [.sent("a", at: ms(1)), .reset(at: ms(3))])
    }

    @Test func driveGapsFailTheSession() {
        let serverGap = Script.session([.client("a", ms: 1), .server("ab", ms: 2), .serverGap(7, ms: 3), .client("b", ms: 4)])
        var server = Player(serverGap, .client)
        server.start(at: .zero)
        server.finish()
        #expect(server.outputs == [
            .sent("a", at: ms(1)),
            .fail("the capture lost 7 bytes of the server's answer at byte 2; those bytes cannot be compared", at: ms(1)),
        ])

        let clientGap = Script.session([.client("a", ms: 1), .clientGap(9, ms: 5), .client("b", ms: 6)])
        var client = Player(clientGap, .client)
        client.start(at: .zero)
        client.finish()
        #expect(client.outputs == [
            .sent("a", at: ms(1)),
            .fail("the capture lost 9 bytes of what the client sent; the session cannot be played past there", at: ms(5)),
        ])
    }

    @Test func speedZeroSendsAsSoonAsEachTurnIsOver() {
        var player = Player(Self.exchange, .client, anchor: ms(100), speed: 0)
        player.start(at: ms(100))
        player.receive("A", at: ms(107))
        #expect(player.outputs == [.sent("a", at: ms(100)), .sent("b", at: ms(107), due: ms(100))])
    }
}
