import NIOCore

/// Applies one direction's faults to the bytes a channel reads, before they
/// are forwarded. Sits on the *source* channel of a direction, after the
/// capture tap and before the glue: `[tap, FaultHandler, glue]`, so the
/// recording shows what the peer sent and the glue sees what the faults let
/// through.
///
/// Contracts:
/// - Bytes leave in the order they came, each exactly once, or are discarded
///   by a fault (drop, timeout, limit_data, reset_peer); `inputClosed` leaves
///   after every byte before it. Bytes a fault delivers (at once or from an
///   event-loop timer) leave as one `channelRead` per piece, each followed by
///   `channelReadComplete`, so the glue flushes each piece as its own write
///   (a slicer's pieces stay separate).
/// - Back-pressure: while at least `heldByteLimit` bytes are held, `read()`
///   is not passed on; it is when the held bytes drop below the limit.
/// - Close requests: when a fault ends the connection, `onClose` is called
///   once, on the event loop, with `.fin` (close both legs after the bytes
///   already forwarded are written) or `.reset` (RST both legs). Without
///   `onClose` the handler closes its own channel (RST via SO_LINGER 0 for
///   `.reset`), which the glue passes on to the partner. Afterwards every
///   byte read is discarded.
/// - If the channel becomes inactive while bytes (or a delayed end of
///   stream) are held and some are due later, NIO tears the pipeline down
///   right after `channelInactive`, so the handler cannot deliver them
///   itself: it fires a ``FaultHandoff`` (every held byte with the instant
///   it is due, then the end of stream or close) before passing
///   `channelInactive` on, and a handler after it that forwards the bytes
///   elsewhere (the proxy's glue) claims it and delivers on schedule. If
///   nobody claims it, the held bytes are released at once (limits and
///   drops still apply, delays do not).
/// - No fault applies: bytes pass straight through, untouched.
///
/// Threading: everything, including ``update(faults:)``, on the channel's
/// event loop.
package final class FaultHandler {
    public typealias CloseRequest = (FaultCloseMode) -> Void
    public typealias CountersObserver = (FaultCounters) -> Void

    /// What this direction's pipeline is made from, with the faults in
    /// force, once the handler is added and knows its event loop's time.
    let plan: FaultPlan
    var faults: [Fault]
    private let onClose: CloseRequest?
    private let onCounters: CountersObserver?
    var pipeline: FaultPipeline?
    var context: ChannelHandlerContext?
    private var held = HeldBytes()
    var timer = FaultTimer()
    private var pendingRead = false
    private var forwardedDirectly = false
    private var reportedCounters = FaultCounters()

    /// - Parameters:
    ///   - plan: the direction this channel's reads travel (`.upstream` on
    ///     the client's channel, `.downstream` on the upstream's), the seed
    ///     and connection that fix the random draws, and the held-bytes limit.
    ///   - faults: the connection's faults (both streams may be passed; only
    ///     the plan's stream's apply), in the order they were added.
    ///   - onClose: how a fault closes or resets the connection.
    ///   - onCounters: called with this direction's cumulative counters each
    ///     time they change, before the actions that changed them are
    ///     carried out (so before `onClose`).
    public init(_ plan: FaultPlan, faults: [Fault], onClose: CloseRequest? = nil, onCounters: CountersObserver? = nil) {
        self.plan = plan
        self.faults = faults
        self.onClose = onClose
        self.onCounters = onCounters
    }

    /// This direction's counters so far.
    public var counters: FaultCounters { pipeline?.counters ?? FaultCounters() }

    /// Bytes read and not yet forwarded or discarded.
    public var heldBytes: Int { pipeline?.heldBytes ?? 0 }

    /// Replaces the faults on the live connection (see
    /// ``FaultPipeline/update(faults:at:)``: nothing lost or reordered;
    /// removed faults release what they hold at once; removing a timeout
    /// closes the connection). Must run on the channel's event loop.
    public func update(faults: [Fault]) {
        replaceFaults(faults)
    }

    func perform(_ actions: [FaultPipeline.Action], context: ChannelHandlerContext) {
        // Counters first: a close below can end the session before it returns.
        reportCounters()
        for action in actions {
            switch action {
            case .deliver(let bytes, _):
                forward(bytes, context: context)
                context.fireChannelReadComplete()
            case .discard(let bytes):
                held.discard(bytes)
            case .endOfStream:
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            case .close(let mode, _):
                requestClose(mode, context: context)
            }
        }
        rescheduleTimer(context: context)
        if pendingRead, !(pipeline?.shouldHoldReads ?? false) {
            pendingRead = false
            context.read()
        }
    }

    private func forward(_ bytes: Int, context: ChannelHandlerContext) {
        for piece in held.take(bytes) {
            context.fireChannelRead(wrapInboundOut(piece))
        }
    }

    private func requestClose(_ mode: FaultCloseMode, context: ChannelHandlerContext) {
        if let onClose {
            onClose(mode)
            return
        }
        switch mode {
        case .fin:
            context.close(promise: nil)
        case .reset:
            resetAndClose(from: context)
        }
    }

    /// Offers what is held, with its schedule, to the handlers after this
    /// one as a ``FaultHandoff``; true when one of them claimed it (and with
    /// it the delivery). Offered only when something is still due later.
    private func handOff(_ pipeline: FaultPipeline, at now: FaultInstant, context: ChannelHandlerContext) -> Bool {
        var scheduled = pipeline
        let actions = scheduled.drainOnSchedule(at: now)
        let delayed = actions.contains { action in
            switch action {
            case .deliver(_, let at), .endOfStream(let at), .close(_, let at): at > now
            case .discard: false
            }
        }
        guard delayed else { return false }
        var queue = held
        var entries: [FaultHandoff.Entry] = []
        for action in actions {
            switch action {
            case .deliver(let bytes, let at):
                entries.append(FaultHandoff.Entry(event: .data(queue.take(bytes)), due: at.nioDeadline))
            case .discard(let bytes):
                queue.discard(bytes)
            case .endOfStream(let at):
                entries.append(FaultHandoff.Entry(event: .endOfStream, due: at.nioDeadline))
            case .close(let mode, let at):
                entries.append(FaultHandoff.Entry(event: .close(mode), due: at.nioDeadline))
            }
        }
        let handoff = FaultHandoff(entries: entries)
        context.fireUserInboundEventTriggered(handoff)
        guard handoff.isClaimed else { return false }
        held = queue
        self.pipeline = scheduled
        reportCounters()
        return true
    }

    private func reportCounters() {
        guard let onCounters, let counters = pipeline?.counters, counters != reportedCounters else { return }
        reportedCounters = counters
        onCounters(counters)
    }

}

extension FaultHandler: ChannelDuplexHandler, FaultApplying {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = NIOAny
    public typealias OutboundOut = NIOAny

    public func handlerAdded(context: ChannelHandlerContext) {
        startFaults(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopFaults()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var pipeline, !pipeline.isPassThrough else {
            forwardedDirectly = true
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        held.append(buffer)
        let actions = pipeline.receive(bytes: buffer.readableBytes, at: context.eventLoop.faultNow)
        self.pipeline = pipeline
        perform(actions, context: context)
    }

    /// Passed on only after bytes that went straight through: a fault's
    /// deliveries are each followed by their own `channelReadComplete`.
    public func channelReadComplete(context: ChannelHandlerContext) {
        if forwardedDirectly {
            forwardedDirectly = false
            context.fireChannelReadComplete()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event, var pipeline else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let actions = pipeline.receiveEndOfStream(at: context.eventLoop.faultNow)
        self.pipeline = pipeline
        perform(actions, context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        if var pipeline, pipeline.isHolding {
            let now = context.eventLoop.faultNow
            if !handOff(pipeline, at: now, context: context) {
                let actions = pipeline.drain(at: now)
                self.pipeline = pipeline
                perform(actions, context: context)
            }
        }
        timer.cancel()
        context.fireChannelInactive()
    }

    public func read(context: ChannelHandlerContext) {
        if pipeline?.shouldHoldReads ?? false {
            pendingRead = true
        } else {
            context.read()
        }
    }
}

@available(*, unavailable)
extension FaultHandler: Sendable {}

extension FaultInstant {
    /// The instant on NIO's clock (`NIODeadline` counts uptime nanoseconds,
    /// as ``EventLoop/faultNow`` does).
    package var nioDeadline: NIODeadline {
        NIODeadline.uptimeNanoseconds(UInt64(max(0, nanoseconds)))
    }
}

extension EventLoop {
    /// The event loop's clock as a fault instant (an `EmbeddedEventLoop`'s
    /// manual clock in tests).
    package var faultNow: FaultInstant {
        FaultInstant(nanoseconds: Int64(clamping: now.uptimeNanoseconds))
    }
}

extension Channel {
    /// Replaces the faults of the ``FaultHandler`` in this channel's pipeline
    /// (see ``FaultHandler/update(faults:)``); callable from any thread.
    /// Fails if the channel has no `FaultHandler`.
    package func updateFaults(_ faults: [Fault]) -> EventLoopFuture<Void> {
        eventLoop.submit {
            try self.pipeline.syncOperations.handler(type: FaultHandler.self).update(faults: faults)
        }
    }
}
