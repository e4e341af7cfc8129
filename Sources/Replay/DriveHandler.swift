#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
import Logging
import NIOCore
import PcapFile
import Recording
import Sockets

/// What one driven session came to.
struct DrivenSession: Sendable {
    var index: Int
    var bytesSent = 0
    var bytesReceived = 0
    var mismatch: Mismatch?
    var failure: ReplayFailure?
    /// Actual minus scheduled send instant, per client step, in nanoseconds.
    var sendErrors: [Int64] = []
}

/// Plays one recorded session's client side against a live server and
/// compares what comes back.
///
/// Every client step is due at `anchor + offset ÷ speed` — one anchor per
/// session, so no error accumulates. Before a client step, the server's
/// turn must be over: its recorded bytes have arrived, or some arrived and
/// then `turnIdle` passed, or none arrived within `replyTimeout`. A step
/// that had to wait past its instant goes out at once, and its lateness is
/// counted in the timing error.
///
/// Threading: the channel's event loop.
final class DriveHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: SessionScript
    private let timing: ReplayTiming
    private let anchor: NIODeadline
    private let sink: SessionSink?
    private let sessionID: UInt64
    private let target: Endpoint
    private let done: EventLoopPromise<DrivenSession>
    /// Whether to spin before sends: only while few sessions share the
    /// loop, since a spin holds up every other session on it.
    private let spinning: @Sendable () -> Bool
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var result: DrivenSession
    private var comparator: StreamComparator
    private var stepIndex = 0
    private var timer: Scheduled<Void>?
    private var serverReceived = 0
    private var serverExpected = 0
    private var serverForgiven = 0
    private var turnEndCount = 0
    private var turnOpen = false
    private var turnWaitStarted: NIODeadline?
    private var lastServerByte = NIODeadline.now()
    private var serverEnded = false
    private var scriptDone = false
    private var finished = false
    private var opened = false

    init(
        script: SessionScript,
        timing: ReplayTiming,
        comparison: ReplayComparison,
        anchor: NIODeadline,
        target: Endpoint,
        sink: SessionSink?,
        sessionID: UInt64,
        logger: Logger,
        spinning: @escaping @Sendable () -> Bool = { true },
        done: EventLoopPromise<DrivenSession>
    ) {
        self.spinning = spinning
        self.script = script
        self.timing = timing
        self.anchor = anchor
        self.target = target
        self.sink = sink
        self.sessionID = sessionID
        self.logger = logger
        self.done = done
        self.result = DrivenSession(index: script.session.index)
        self.comparator = StreamComparator(
            session: script.session.index,
            direction: .serverToClient,
            expected: script.bytes(.serverToClient),
            ignoring: comparison.ignore
        )
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        if let sink {
            let local = Endpoint(context.channel.localAddress) ?? .unix(path: "?")
            sink.open(Session(index: Int(sessionID), id: sessionID, client: local, server: target, opened: .now()))
            opened = true
        }
        if script.session.startedMidFlow {
            logger.warning("the capture started after this session did: replaying from its first captured byte")
        }
        advance()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        lastServerByte = .now()
        serverReceived += buffer.readableBytes
        result.bytesReceived += buffer.readableBytes
        record(.data(buffer), .serverToClient)
        if let mismatch = comparator.feed(buffer) {
            logger.warning("the server's answer differs from the recording: \(mismatch.hexDiff)")
        }
        advance()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            serverEnded = true
            record(.halfClose, .serverToClient)
            advance()
            if scriptDone { finish(context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET {
            record(.reset, .serverToClient)
            logger.debug("the server reset the connection")
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    private func record(_ kind: SessionEvent.Kind, _ direction: Direction) {
        guard opened, let sink else { return }
        sink.record(SessionEvent(time: .now(), direction: direction, kind: kind), session: sessionID)
    }

    private func advance() {
        guard let context, !finished, !scriptDone || !serverEnded else { return }
        timer?.cancel()
        timer = nil
        while stepIndex < script.steps.count {
            let step = script.steps[stepIndex]
            if step.direction == .serverToClient {
                if case .gap(let bytes) = step.action {
                    fail("the capture lost \(bytes) bytes of the server's answer at byte \(serverExpected); those bytes cannot be compared", context: context)
                    return
                }
                serverExpected += step.byteCount
                turnOpen = true
                stepIndex += 1
                continue
            }
            guard serverTurnIsOver(context: context) else { return }
            var now = NIODeadline.now()
            let due = anchor + .nanoseconds(timing.scaled(step.offset))
            if due > now {
                // Wake up `spinWindow` early, then wait out the rest on the
                // clock: a timer alone fires tens of microseconds late.
                let spin = spinning()
                if !spin || due - now > Self.spinWindow {
                    schedule(at: spin ? due - Self.spinWindow : due, context: context)
                    return
                }
                now = Self.spin(until: due)
            }
            stepIndex += 1
            switch step.action {
            case .data(let buffer):
                result.sendErrors.append(Int64(now.uptimeNanoseconds) - Int64(due.uptimeNanoseconds))
                result.bytesSent += buffer.readableBytes
                record(.data(buffer), .clientToServer)
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            case .halfClose:
                record(.halfClose, .clientToServer)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                    context.close(mode: .output, promise: nil)
                }
            case .reset:
                record(.reset, .clientToServer)
                try? context.pipeline.syncOperations.handler(type: OutboundFaultHandler.self).abandonHeld()
                resetAndClose(context.channel)
                return
            case .gap(let bytes):
                fail("the capture lost \(bytes) bytes of what the client sent; the session cannot be played past there", context: context)
                return
            }
        }
        // Everything is sent: wait for the rest of the answer, then close.
        guard serverTurnIsOver(context: context) else { return }
        scriptDone = true
        if serverEnded || serverReceived > serverExpected {
            finish(context: context)
        } else {
            // Give a server that sends more than recorded a moment to show it.
            schedule(at: .now() + TimeAmount(timing.turnIdle), context: context) { [self] in finish(context: context) }
        }
    }

    /// True when the server's current turn is over; otherwise arms the
    /// timer that ends it.
    private func serverTurnIsOver(context: ChannelHandlerContext) -> Bool {
        guard turnOpen else { return true }
        if serverReceived + serverForgiven < serverExpected, !serverEnded {
            let now = NIODeadline.now()
            let waitEnd: NIODeadline
            if serverReceived > turnEndCount {
                waitEnd = lastServerByte + TimeAmount(timing.turnIdle)
            } else {
                let started = turnWaitStarted ?? now
                turnWaitStarted = started
                waitEnd = started + TimeAmount(timing.replyTimeout)
            }
            if waitEnd > now {
                schedule(at: waitEnd, context: context)
                return false
            }
            serverForgiven = serverExpected - serverReceived
        }
        turnOpen = false
        turnWaitStarted = nil
        turnEndCount = serverExpected - serverForgiven
        return true
    }

    /// How long before a send is due its timer fires; the loop spins on the
    /// clock for the rest. A timer alone wakes the loop late — on an idle
    /// 2-vCPU VM ~50 µs at p50 and ~185 µs at p99 (scripts/bench-replay) —
    /// so sends went out that late, and unevenly. 200 µs covers that tail;
    /// spinning costs at most this much CPU per send, so it is done only
    /// while a session has its event loop (nearly) to itself.
    static let spinWindow = TimeAmount.microseconds(200)

    /// Busy-waits until `deadline` (at most `spinWindow`); returns the time then.
    private static func spin(until deadline: NIODeadline) -> NIODeadline {
        var now = NIODeadline.now()
        while now < deadline { now = NIODeadline.now() }
        return now
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext, _ body: (() -> Void)? = nil) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            if let body { body() } else { advance() }
        }
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        logger.error("\(reason)")
        result.failure = ReplayFailure(session: script.session.index, reason: reason)
        try? context.pipeline.syncOperations.handler(type: OutboundFaultHandler.self).abandonHeld()
        resetAndClose(context.channel)
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        if result.failure == nil {
            comparator.finish()
            result.mismatch = comparator.mismatch
            if let mismatch = result.mismatch, mismatch.reason.hasPrefix("stream ended") {
                logger.warning("the server's answer differs from the recording: \(mismatch.hexDiff)")
            }
        }
        if opened {
            sink?.close(session: sessionID, at: .now())
            opened = false
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        done.succeed(result)
    }
}

@available(*, unavailable)
extension DriveHandler: Sendable {}
