import Faults
import Logging
import NIOCore
import Recording

/// Plays one recorded session's server side to one live client.
///
/// The script is walked in order. Client steps only raise the number of
/// client bytes the next server step waits for; a server step goes out when
/// the client's turn is over — its recorded bytes have arrived, or some
/// arrived and then `turnIdle` passed without more — after the recorded gap
/// since the turn's last client step (scaled by `speed`). Server steps that
/// follow one another are scheduled from the same anchor, so no error
/// accumulates. Bytes the client sends beyond a turn count toward the next.
///
/// Threading: the channel's event loop.
final class ServeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pool: SessionPool
    private let timing: ReplayTiming
    private let comparison: ReplayComparison
    private let events: ServeEvents
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var script: SessionScript?
    private var stepIndex = 0
    private var comparator: StreamComparator?
    private var firstBytes: ByteBuffer?
    private var pickTimer: Scheduled<Void>?
    private var stepTimer: Scheduled<Void>?

    /// Live client bytes so far.
    private var clientReceived = 0
    /// Recorded client bytes up to the current step.
    private var clientExpected = 0
    /// Recorded bytes forgiven because their turn ended short.
    private var clientForgiven = 0
    /// The live count at which the last turn ended.
    private var turnEndCount = 0
    /// Client steps were passed since the last server step was anchored.
    private var turnOpen = false
    private var lastClientStepOffset: Int64 = 0
    private var lastClientByte = NIODeadline.now()
    private var anchorWall = NIODeadline.now()
    private var anchorOffset: Int64 = 0
    private var clientEnded = false
    private var scriptDone = false
    private var stopped = false

    init(pool: SessionPool, timing: ReplayTiming, comparison: ReplayComparison, logger: Logger, events: ServeEvents) {
        self.pool = pool
        self.timing = timing
        self.comparison = comparison
        self.logger = logger
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard script == nil, pickTimer == nil, !stopped else { return }
        if pool.needsFirstBytes {
            // A client that says nothing first gets a session whose server speaks first.
            pickTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timing.turnIdle)) { [self] in
                pickTimer = nil
                if script == nil { pick() }
            }
        } else {
            pick()
        }
    }

    private func pick() {
        guard let context, script == nil, !stopped else { return }
        pickTimer?.cancel()
        pickTimer = nil
        guard let (_, chosen) = pool.take(firstBytes: firstBytes) else {
            logger.warning("no recorded session left for this connection; closing it (use --loop to start over)")
            events.refused()
            stop(context: context)
            context.close(promise: nil)
            return
        }
        script = chosen
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
        anchorWall = .now()
        anchorOffset = 0
        if let buffered = firstBytes {
            firstBytes = nil
            received(buffered, context: context)
        }
        advance()
        if clientEnded { clientHasEnded(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !stopped, buffer.readableBytes > 0 else { return }
        lastClientByte = .now()
        guard script != nil else {
            if firstBytes == nil {
                firstBytes = buffer
            } else {
                var copy = buffer
                firstBytes!.writeBuffer(&copy)
            }
            return
        }
        received(buffer, context: context)
        advance()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if script == nil, firstBytes != nil { pick() }
        context.fireChannelReadComplete()
    }

    private func received(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        clientReceived += buffer.readableBytes
        if var comparator {
            let mismatch = comparator.feed(buffer)
            self.comparator = comparator
            if let mismatch { handle(mismatch, context: context) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            clientEnded = true
            if script == nil, firstBytes != nil || !pool.needsFirstBytes {
                pick()
            } else if script != nil {
                clientHasEnded(context: context)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client shut down its write side: what it sent is all it will send.
    private func clientHasEnded(context: ChannelHandlerContext) {
        guard !stopped else { return }
        if var comparator {
            let mismatch = comparator.finish()
            self.comparator = comparator
            if let mismatch { handle(mismatch, context: context) }
        }
        advance()
        if scriptDone { closeWhenWritten(context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop(context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        stop(context: context)
        context.close(promise: nil)
    }

    private func stop(context: ChannelHandlerContext) {
        stopped = true
        pickTimer?.cancel()
        pickTimer = nil
        stepTimer?.cancel()
        stepTimer = nil
    }

    /// Plays every step that is due; schedules itself for the next.
    private func advance() {
        guard let context, let script, !stopped else { return }
        stepTimer?.cancel()
        stepTimer = nil
        while stepIndex < script.steps.count {
            let step = script.steps[stepIndex]
            if step.direction == .clientToServer {
                if case .gap(let bytes) = step.action {
                    fail("the capture lost \(bytes) bytes of what the client sent at byte \(clientExpected); the session cannot be served past there", context: context)
                    return
                }
                clientExpected += step.byteCount
                lastClientStepOffset = step.offset
                turnOpen = true
                stepIndex += 1
                continue
            }
            let now = NIODeadline.now()
            if turnOpen {
                var endedIdle = false
                if clientReceived + clientForgiven < clientExpected, !clientEnded {
                    // Nothing of this turn yet: the client is still thinking.
                    guard clientReceived > turnEndCount else { return }
                    let idleEnd = lastClientByte + TimeAmount(timing.turnIdle)
                    if idleEnd > now {
                        stepTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: idleEnd) { [self] in
                            stepTimer = nil
                            advance()
                        }
                        return
                    }
                    endedIdle = true
                    clientForgiven = clientExpected - clientReceived
                }
                turnOpen = false
                turnEndCount = clientExpected - clientForgiven
                anchorWall = endedIdle ? lastClientByte : now
                anchorOffset = lastClientStepOffset
            }
            let due = anchorWall + .nanoseconds(timing.scaled(step.offset - anchorOffset))
            if due > now {
                stepTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
                    stepTimer = nil
                    advance()
                }
                return
            }
            stepIndex += 1
            switch step.action {
            case .data(let buffer):
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            case .halfClose:
                // Once the input is closed NIO turns an output close into a
                // full one that drops queued writes: let them go first.
                context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                    context.close(mode: .output, promise: nil)
                }
            case .reset:
                logger.debug("resetting the connection, as the recorded server did")
                reset(context: context)
                return
            case .gap(let bytes):
                fail("the capture lost \(bytes) bytes of the server's answer; the session cannot be served past there", context: context)
                return
            }
        }
        scriptDone = true
        if clientEnded { closeWhenWritten(context: context) }
    }

    private func closeWhenWritten(context: ChannelHandlerContext) {
        guard !stopped else { return }
        stop(context: context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func reset(context: ChannelHandlerContext) {
        stop(context: context)
        try? context.pipeline.syncOperations.handler(type: OutboundFaultHandler.self).abandonHeld()
        resetAndClose(context.channel)
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        guard let script else { return }
        logger.error("\(reason); resetting the connection")
        events.failed(ReplayFailure(session: script.session.index, reason: reason))
        reset(context: context)
    }

    private func handle(_ mismatch: Mismatch, context: ChannelHandlerContext) {
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
