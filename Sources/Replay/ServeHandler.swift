import Faults
import Logging
import NIOCore
import Recording

/// Plays one recorded session's server side to one live client.
///
/// A ``TurnMachine`` (server role, anchored per turn) decides when each
/// recorded server step goes out: after the client's turn is over — its
/// recorded bytes have arrived, or some arrived and then `turnIdle` passed
/// without more — and the recorded gap since the turn's last client step
/// (scaled by `speed`). This handler picks the session, compares what the
/// client sends, and carries the machine's actions out on the event loop's
/// clock.
///
/// Threading: the channel's event loop.
final class ServeHandler: StartsWhenActive {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pool: SessionPool
    private let timing: ReplayTiming
    private let comparison: ReplayComparison
    private let events: ServeEvents
    private var logger: Logger

    var context: ChannelHandlerContext?
    /// Nil until a session is picked.
    private var machine: TurnMachine?
    private var comparator: StreamComparator?
    private var firstBytes: ByteBuffer?
    private var pickTimer: Scheduled<Void>?
    private var stepTimer = FaultTimer()
    private var clientEnded = false
    private var stopped = false

    init(pool: SessionPool, timing: ReplayTiming, comparison: ReplayComparison, logger: Logger, events: ServeEvents) {
        self.pool = pool
        self.timing = timing
        self.comparison = comparison
        self.logger = logger
        self.events = events
    }

    func start(context: ChannelHandlerContext) {
        self.context = context
        guard machine == nil, pickTimer == nil, !stopped else { return }
        if pool.needsFirstBytes {
            // A client that says nothing first gets a session whose server speaks first.
            pickTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timing.turnIdle)) { [self] in
                pickTimer = nil
                if machine == nil { pick() }
            }
        } else {
            pick()
        }
    }

    private func pick() {
        guard let context, machine == nil, !stopped else { return }
        pickTimer?.cancel()
        pickTimer = nil
        guard let position = pool.take(firstBytes: firstBytes) else {
            logger.warning("no recorded session left for this connection; closing it (use --loop to start over)")
            events.refused()
            stop()
            context.close(promise: nil)
            return
        }
        let chosen: SessionScript
        do {
            chosen = try pool.sessions.script(at: position)
        } catch {
            let index = pool.sessions.outline(at: position).session.index
            logger.error("cannot read recorded session \(index): \(error); closing the connection")
            events.failed(ReplayFailure(session: index, reason: "\(error)"))
            stop()
            context.close(promise: nil)
            return
        }
        machine = TurnMachine(script: chosen, role: .server, timing: timing, anchoring: .perTurn)
        logger[metadataKey: "session.index"] = "\(chosen.session.index)"
        logger.info("serving recorded session", metadata: [
            "client.bytes": "\(chosen.byteCount(.clientToServer))",
            "server.bytes": "\(chosen.byteCount(.serverToClient))",
        ])
        if chosen.session.startedMidFlow {
            logger.warning("the capture started after this session did: replaying from its first captured byte")
            events.startedMidFlow(chosen.session.index)
        }
        if comparison.strict {
            comparator = StreamComparator(
                session: chosen.session.index,
                direction: .clientToServer,
                expected: chosen.bytes(.clientToServer),
                ignoring: comparison.ignore
            )
        }
        if let buffered = firstBytes {
            firstBytes = nil
            received(buffered)
        }
        play { $0.start(at: $1) }
        if clientEnded { clientHasEnded() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !stopped, buffer.readableBytes > 0 else { return }
        guard machine != nil else {
            if firstBytes == nil {
                firstBytes = buffer
            } else {
                var copy = buffer
                firstBytes!.writeBuffer(&copy)
            }
            return
        }
        received(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine == nil, firstBytes != nil { pick() }
        context.fireChannelReadComplete()
    }

    private func received(_ buffer: ByteBuffer) {
        if var comparator {
            let mismatch = comparator.feed(buffer)
            self.comparator = comparator
            if let mismatch { handle(mismatch) }
        }
        play { $0.receive(bytes: buffer.readableBytes, at: $1) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            clientEnded = true
            if machine == nil, firstBytes != nil || !pool.needsFirstBytes {
                pick()
            } else if machine != nil {
                clientHasEnded()
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client shut down its write side: what it sent is all it will send.
    private func clientHasEnded() {
        guard !stopped else { return }
        if var comparator {
            let mismatch = comparator.finish()
            self.comparator = comparator
            if let mismatch { handle(mismatch) }
        }
        play { $0.receiveEndOfStream(at: $1) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        stop()
        context.close(promise: nil)
    }

    private func stop() {
        stopped = true
        pickTimer?.cancel()
        pickTimer = nil
        stepTimer.cancel()
    }

    /// Feeds one event to the machine at the event loop's time, carries its
    /// actions out, and sets the timer for its next deadline.
    private func play(_ event: (inout TurnMachine, FaultInstant) -> [TurnMachine.Action]) {
        guard let context, machine != nil, !stopped else { return }
        let actions = event(&machine!, context.eventLoop.faultNow)
        for action in actions {
            switch action {
            case .send(let buffer, _):
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            case .halfClose:
                context.closeOnceWritten(mode: .output)
            case .reset:
                logger.debug("resetting the connection, as the recorded server did")
                reset(context: context)
            case .fail(let reason):
                fail(reason, context: context)
            case .finish:
                closeWhenWritten(context: context)
            }
        }
        guard !stopped, let machine else { return }
        stepTimer.set(machine.nextDeadline, on: context.eventLoop) { [self] in
            stepTimer.fired()
            play { $0.advance(to: $1) }
        }
    }

    private func closeWhenWritten(context: ChannelHandlerContext) {
        guard !stopped else { return }
        stop()
        context.closeOnceWritten()
    }

    private func reset(context: ChannelHandlerContext) {
        stop()
        context.resetDroppingHeldWrites()
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        guard let machine else { return }
        logger.error("\(reason); resetting the connection")
        events.failed(ReplayFailure(session: machine.script.session.index, reason: reason))
        reset(context: context)
    }

    private func handle(_ mismatch: Mismatch) {
        guard let context else { return }
        logger.warning("client bytes differ from the recording: \(mismatch.hexDiff)")
        events.mismatch(mismatch)
        switch comparison.policy {
        case .continue:
            break
        case .close:
            closeWhenWritten(context: context)
        case .reset:
            reset(context: context)
        }
    }
}

@available(*, unavailable)
extension ServeHandler: Sendable {}
