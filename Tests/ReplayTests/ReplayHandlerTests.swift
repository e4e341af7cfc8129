import Faults
import Logging
import NIOCore
import NIOEmbedded
import Recording
@testable import Replay
import Testing

/// Records what a replay handler writes and closes, with the manual clock's
/// time. Output closes stop here: an `EmbeddedChannel` would close whole.
final class Wire: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Event: Equatable {
        /// Bytes written (empty: the write a close waits behind), at a millisecond.
        case write(String, at: Double)
        case close(CloseMode, at: Double)
    }

    var events: [Event] = []

    private func ms(_ context: ChannelHandlerContext) -> Double {
        Double(context.eventLoop.now.uptimeNanoseconds) / 1_000_000
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        events.append(.write(String(buffer: unwrapOutboundIn(data)), at: ms(context)))
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        events.append(.close(mode, at: ms(context)))
        if mode == .output {
            promise?.succeed()
        } else {
            context.close(mode: mode, promise: promise)
        }
    }
}

/// ServeHandler and DriveHandler on `EmbeddedChannel`, on its manual clock.
@Suite struct ReplayHandlerTests {
    static let logger = Logger(label: "test")

    struct Harness {
        let channel = EmbeddedChannel()
        let wire = Wire()

        /// Moves the manual clock to `value` ms after its origin, running what is due.
        func at(_ value: Double) {
            channel.embeddedEventLoop.advanceTime(to: .uptimeNanoseconds(UInt64(value * 1_000_000)))
        }

        func send(_ text: String, at value: Double) throws {
            at(value)
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func end(at value: Double) {
            at(value)
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }

        func connect(_ handler: ChannelHandler) throws {
            try channel.pipeline.syncOperations.addHandlers([wire, handler])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }
    }

    /// A harness serving `scripts`; the server collects the report.
    static func serving(_ scripts: [SessionScript], speed: Double = 1) throws -> (Harness, ReplayServer) {
        let harness = Harness()
        let timing = ReplayTiming(speed: speed)
        let server = try ReplayServer(
            scripts: scripts, configuration: ServeConfiguration(listeners: [], playback: Playback(timing: timing)),
            group: harness.channel.embeddedEventLoop, logger: logger)
        let handler = ServeHandler(
            pool: SessionPool(scripts: scripts, match: .inOrder, loop: false), timing: timing,
            comparison: ReplayComparison(), logger: logger, events: ServeEvents(server: server))
        try harness.connect(handler)
        return (harness, server)
    }

    @Test(arguments: [1.0, 2.0])
    func serveAnswersAtTheRecordedInstantsAndClosesWhenTheClientIsDone(speed: Double) throws {
        let script = Script.session([
            .client("PING\r\n", ms: 1), .server("+PONG\r\n", ms: 3),
            .client("GET a\r\n", ms: 10), .server("$1\r\n", ms: 11), .server("b\r\n", ms: 111),
        ])
        let (harness, _) = try Self.serving([script], speed: speed)
        try harness.send("PING\r\n", at: 5)
        harness.at(5 + 2 / speed - 0.001)
        #expect(harness.wire.events.isEmpty)
        harness.at(5 + 2 / speed)
        #expect(harness.wire.events == [.write("+PONG\r\n", at: 5 + 2 / speed)])
        try harness.send("GET ", at: 20)
        try harness.send("a\r\n", at: 30)
        harness.at(500)
        harness.end(at: 600)
        #expect(harness.wire.events == [
            .write("+PONG\r\n", at: 5 + 2 / speed),
            .write("$1\r\n", at: 30 + 1 / speed),
            .write("b\r\n", at: 30 + 101 / speed),
            .write("", at: 600),
            .close(.all, at: 600),
        ])
        #expect(!harness.channel.isActive)
    }

    @Test func serveEndsAShortTurnAfterTurnIdleAndFailsAtAGap() throws {
        let script = Script.session([
            .server("hello\r\n", ms: 2), .client("GET /long\r\n", ms: 10), .server("200", ms: 11),
            .serverFIN(ms: 12), .serverGap(5, ms: 13),
        ])
        let (harness, server) = try Self.serving([script])
        try harness.send("GET", at: 20)
        harness.at(69.999)
        #expect(harness.wire.events == [.write("hello\r\n", at: 2)])
        harness.at(70)
        #expect(harness.wire.events == [
            .write("hello\r\n", at: 2),
            // turnIdle (50 ms) after the last byte; due 1 ms after that byte.
            .write("200", at: 70),
            .write("", at: 70), .close(.output, at: 70),
            // The gap was due 3 ms after the last byte: at once. Reset, so no drain first.
            .close(.all, at: 70),
        ])
        #expect(server.report.failures == [
            ReplayFailure(session: 0, reason: "the capture lost 5 bytes of the server's answer; the session cannot be served past there"),
        ])
    }

    /// A DriveHandler on the harness, not spinning (the manual clock is not the real one).
    static func driving(_ script: SessionScript, anchor: Double, replyTimeout: Duration = .seconds(5)) throws -> (Harness, EventLoopFuture<DrivenSession>) {
        let harness = Harness()
        let done = harness.channel.embeddedEventLoop.makePromise(of: DrivenSession.self)
        let handler = DriveHandler(
            script: script, timing: ReplayTiming(speed: 1, replyTimeout: replyTimeout), comparison: ReplayComparison(),
            anchor: .uptimeNanoseconds(UInt64(anchor * 1_000_000)), target: .ip(.loopbackV4, port: 1), sink: nil,
            sessionID: 0, logger: logger, spinning: { false }, done: done)
        try harness.connect(handler)
        return (harness, done.futureResult)
    }

    static let echoed = Script.session([
        .client("m0", ms: 1), .server("m0", ms: 1.2), .client("m1", ms: 11), .server("m1", ms: 11.2),
        .client("m2", ms: 21), .server("m2", ms: 21.2),
    ])

    @Test func driveSendsOnTheAnchorAndCountsALateSendsError() throws {
        let (harness, done) = try Self.driving(Self.echoed, anchor: 5)
        harness.at(5.999)
        #expect(harness.wire.events.isEmpty)
        try harness.send("m0", at: 7)
        // The server's second answer comes 19 ms late: the third send waits for it.
        try harness.send("m1", at: 40)
        try harness.send("m2", at: 41)
        harness.at(90.999)
        #expect(harness.channel.isActive)
        harness.at(91)
        #expect(harness.wire.events == [
            .write("m0", at: 6), .write("m1", at: 16), .write("m2", at: 40),
            // turnIdle after the last answer for bytes beyond the recording, then close.
            .write("", at: 91), .close(.all, at: 91),
        ])
        let session = try done.wait()
        #expect(session.sendErrors == [0, 0, 14_000_000])
        #expect(session.bytesSent == 6)
        #expect(session.bytesReceived == 6)
        #expect(session.mismatch == nil)
        #expect(session.failure == nil)
    }

    @Test func driveGivesUpOnASilentServerAfterTheReplyTimeout() throws {
        let (harness, done) = try Self.driving(Self.echoed, anchor: 0, replyTimeout: .milliseconds(100))
        harness.at(1_000)
        #expect(harness.wire.events == [
            .write("m0", at: 1), .write("m1", at: 101), .write("m2", at: 201),
            .write("", at: 351), .close(.all, at: 351),
        ])
        let session = try done.wait()
        #expect(session.sendErrors == [0, 90_000_000, 180_000_000])
        #expect(session.bytesReceived == 0)
        #expect(session.mismatch?.offset == 0)
        #expect(session.mismatch?.reason.hasPrefix("stream ended") == true)
    }
}
