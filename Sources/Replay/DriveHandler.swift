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
import TapedeckTLS
import PcapFile
import Protocols
import Recording
import Sockets

/// What one driven session came to.
struct DrivenSession: Sendable {
    var index: Int
    var bytesSent = 0
    var bytesReceived = 0
    var mismatch: Mismatch?
    /// Exchanges answered otherwise than recorded (when compared exchange by exchange).
    var differences: [ExchangeDifference] = []
    var failure: ReplayFailure?
    /// When each client step's write completed minus its scheduled
    /// instant, in nanoseconds, in the order sent.
    var sendErrors: [Int64] = []
}

/// Plays one recorded session's client side against a live server and
/// compares what comes back.
///
/// A ``TurnMachine`` (client role, one anchor per session) decides when
/// each client step goes out: at `anchor + offset ÷ speed`, once the
/// server's turn is over — its recorded bytes have arrived, or some arrived
/// and then `turnIdle` passed, or none arrived within `replyTimeout`. A step
/// that had to wait past its instant goes out at once, and its lateness is
/// counted in the timing error. This handler carries the machine's actions
/// out on the event loop's clock, spins the last moments before a send, and
/// compares and records the traffic.
///
/// Threading: the channel's event loop.
final class DriveHandler: StartsWhenActive {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: SessionScript
    private let sink: SessionSink?
    private let sessionID: UInt64
    private let target: Endpoint
    private let done: EventLoopPromise<DrivenSession>
    /// Whether to spin before sends: only while few sessions share the
    /// loop, since a spin holds up every other session on it. Spinning reads
    /// the real clock, so the event loop must run on it (not a test's
    /// manual clock).
    private let spinning: @Sendable () -> Bool
    private let comparison: ReplayComparison
    private var logger: Logger

    var context: ChannelHandlerContext?
    private var machine: TurnMachine
    private var result: DrivenSession
    private var comparator: StreamComparator
    /// What was sent and received, for comparing exchange by exchange at the end.
    private var transcript = LiveTranscript()
    private var timer = FaultTimer()
    private var finished = false
    private var opened = false
    /// Sends written whose write has not completed yet.
    private var writesInFlight = 0

    /// - Parameter anchor: the instant, on the event loop's clock, that the
    ///   script's offsets are counted from.
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
        self.comparison = comparison
        self.script = script
        self.target = target
        self.sink = sink
        self.sessionID = sessionID
        self.logger = logger
        self.done = done
        self.machine = TurnMachine(script: script, role: .client, timing: timing, anchoring: .session(FaultInstant(anchor)))
        self.result = DrivenSession(index: script.session.index)
        self.comparator = StreamComparator(
            session: script.session.index,
            direction: .serverToClient,
            expected: comparison.exchanges == nil ? script.bytes(.serverToClient) : ByteBuffer(),
            ignoring: comparison.ignore
        )
    }

    func start(context: ChannelHandlerContext) {
        guard self.context == nil else { return }
        self.context = context
        transcript.begin()
        if let sink {
            let local = Endpoint(context.channel.localAddress) ?? .unix(path: "?")
            sink.open(Session(index: Int(sessionID), id: sessionID, client: local, server: target, opened: .now()))
            opened = true
        }
        if script.session.startedMidFlow {
            logger.warning("the capture started after this session did: replaying from its first captured byte")
        }
        play { $0.start(at: $1) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        result.bytesReceived += buffer.readableBytes
        record(.data(buffer), .serverToClient)
        if comparison.exchanges != nil {
            transcript.append(buffer, from: .server)
        } else if let mismatch = comparator.feed(buffer) {
            logger.warning("the server's answer differs from the recording: \(mismatch.hexDiff)")
        }
        play { $0.receive(bytes: buffer.readableBytes, at: $1) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            record(.halfClose, .serverToClient)
            play { $0.receiveEndOfStream(at: $1) }
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
        } else if let reason = TLSFailureReason.ifTLS(error) {
            logger.warning("TLS with the target failed: \(reason)")
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    private func record(_ kind: SessionEvent.Kind, _ direction: Direction) {
        guard opened, let sink else { return }
        sink.record(SessionEvent(time: .now(), direction: direction, kind: kind), session: sessionID)
    }

    /// Feeds one event to the machine at the event loop's time and carries
    /// its actions out; then waits for its next deadline — by the timer,
    /// or, for a send less than `spinWindow` away, by spinning on the clock.
    private func play(_ event: (inout TurnMachine, FaultInstant) -> [TurnMachine.Action]) {
        guard let context, !finished else { return }
        var now = context.eventLoop.faultNow
        perform(event(&machine, now), context: context)
        while !finished, let due = machine.sendDue, spinning() {
            if due - now > Self.spinWindow {
                setTimer(due + (.zero - Self.spinWindow), context: context)
                return
            }
            now = Self.spin(until: due)
            perform(machine.advance(to: now), context: context)
        }
        guard !finished else { return }
        setTimer(machine.nextDeadline, context: context)
    }

    /// Writes one step's bytes at once. Its timing error is the instant
    /// the write completed — the bytes handed to the kernel (or, through a
    /// fault handler, accepted by it) — minus its due instant: what the
    /// wire sees, not when the write was called. A write that fails (the
    /// connection closed first) counts no error.
    private func send(_ buffer: ByteBuffer, due: FaultInstant, context: ChannelHandlerContext) {
        let written = context.eventLoop.makePromise(of: Void.self)
        writesInFlight += 1
        written.futureResult.assumeIsolated().whenComplete { [self] outcome in
            writesInFlight -= 1
            if case .success = outcome {
                result.sendErrors.append(context.eventLoop.faultNow.nanoseconds - due.nanoseconds)
            }
            if finished, writesInFlight == 0 { done.succeed(result) }
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: written)
    }

    /// Carries out actions the machine emitted at `now`.
    private func perform(_ actions: [TurnMachine.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .send(let buffer, let due):
                result.bytesSent += buffer.readableBytes
                send(buffer, due: due, context: context)
                record(.data(buffer), .clientToServer)
                if comparison.exchanges != nil { transcript.append(buffer, from: .client) }
            case .halfClose:
                record(.halfClose, .clientToServer)
                context.closeOnceWritten(mode: .output)
            case .reset:
                record(.reset, .clientToServer)
                context.resetDroppingHeldWrites()
            case .fail(let reason):
                fail(reason, context: context)
            case .finish:
                finish(context: context)
            }
        }
    }

    private func setTimer(_ deadline: FaultInstant?, context: ChannelHandlerContext) {
        timer.set(deadline, on: context.eventLoop) { [self] in
            timer.fired()
            play { $0.advance(to: $1) }
        }
    }

    /// How long before a send is due its timer fires; the loop spins on the
    /// clock for the rest. A timer alone wakes the loop late — on an idle
    /// 2-vCPU VM ~50 µs at p50 and ~185 µs at p99 (scripts/bench-replay) —
    /// so sends went out that late, and unevenly. 200 µs covers that tail;
    /// spinning costs at most this much CPU per send, so it is done only
    /// while a session has its event loop (nearly) to itself.
    static let spinWindow = Duration.microseconds(200)

    /// Busy-waits on the real clock until `deadline` (at most
    /// `spinWindow`); returns the time then.
    private static func spin(until deadline: FaultInstant) -> FaultInstant {
        let end = deadline.nioDeadline
        var now = NIODeadline.now()
        while now < end { now = NIODeadline.now() }
        return FaultInstant(now)
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        logger.error("\(reason)")
        result.failure = ReplayFailure(session: script.session.index, reason: reason)
        context.resetDroppingHeldWrites()
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        timer.cancel()
        if result.failure == nil, let exchanges = comparison.exchanges {
            result.differences = exchanges.compare(session: script.session.index, recorded: script.chunksBeforeFirstGap, live: transcript.chunks)
            for difference in result.differences { logger.warning("the server's answer differs from the recording: \(difference)") }
        } else if result.failure == nil {
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
        context.closeOnceWritten()
        // The result waits for the sends' write completions, which carry their timing.
        if writesInFlight == 0 { done.succeed(result) }
    }
}

extension FaultInstant {
    /// The instant on NIO's clock (uptime nanoseconds, as
    /// `EventLoop.faultNow` counts).
    init(_ deadline: NIODeadline) {
        self.init(nanoseconds: Int64(clamping: deadline.uptimeNanoseconds))
    }
}

@available(*, unavailable)
extension DriveHandler: Sendable {}
