import NIOCore

/// Applies one stream's faults to the bytes a replay *writes* — the
/// outbound twin of `FaultHandler`, which faults what a channel reads.
/// `replay serve` faults the server's answers with it (downstream),
/// `replay drive` the client's requests (upstream).
///
/// Contracts: bytes leave in the order written, each exactly once, or are
/// discarded by a fault; a `close(mode: .output)` (a FIN) leaves after the
/// bytes before it, delayed as they are; a full close waits for held bytes
/// unless the channel is being reset. A fault that ends the connection
/// closes the channel (`.reset` with an RST). Write promises succeed when
/// the bytes are accepted, not when they reach the socket.
package final class OutboundFaultHandler: ChannelOutboundHandler, FaultApplying {
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    var faults: [Fault]
    let plan: FaultPlan
    var pipeline: FaultPipeline?
    var context: ChannelHandlerContext?
    private var held = HeldBytes()
    var timer = FaultTimer()
    private var pendingOutputClose: EventLoopPromise<Void>?
    private var pendingFullClose: EventLoopPromise<Void>?
    private var closedByFault = false
    private(set) var counters = FaultCounters()

    package init(_ plan: FaultPlan, faults: [Fault]) {
        self.plan = plan
        self.faults = faults
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        startFaults(context: context)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        stopFaults()
    }

    package func update(faults: [Fault]) {
        replaceFaults(faults)
    }

    /// Throws away what is held: the connection is being reset.
    package func abandonHeld() {
        closedByFault = true
        held.removeAll()
        timer.cancel()
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard var pipeline, !pipeline.isPassThrough || closedByFault else {
            context.write(data, promise: promise)
            return
        }
        promise?.succeed()
        guard buffer.readableBytes > 0, !closedByFault else { return }
        held.append(buffer)
        let actions = pipeline.receive(bytes: buffer.readableBytes, at: context.eventLoop.faultNow)
        self.pipeline = pipeline
        perform(actions, context: context)
    }

    package func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard var pipeline, !closedByFault else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch mode {
        case .output:
            // A FIN travels the faults like bytes do (a latency delays it too).
            guard !pipeline.isPassThrough else {
                context.close(mode: mode, promise: promise)
                return
            }
            guard Self.awaitClose(&pendingOutputClose, promise, on: context.eventLoop) else { return }
            let actions = pipeline.receiveEndOfStream(at: context.eventLoop.faultNow)
            self.pipeline = pipeline
            perform(actions, context: context)
        default:
            guard pipeline.isHolding else {
                context.close(mode: mode, promise: promise)
                return
            }
            // Held bytes go first; the close follows them.
            Self.awaitClose(&pendingFullClose, promise, on: context.eventLoop)
        }
    }

    /// Makes `promise` wait for the close pending in `slot`, or makes it
    /// that close's promise when none is pending yet; true in that case.
    @discardableResult
    private static func awaitClose(
        _ slot: inout EventLoopPromise<Void>?,
        _ promise: EventLoopPromise<Void>?,
        on eventLoop: EventLoop
    ) -> Bool {
        if let pending = slot {
            pending.futureResult.cascade(to: promise)
            return false
        }
        slot = promise ?? eventLoop.makePromise()
        return true
    }

    func perform(_ actions: [FaultPipeline.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .deliver(let bytes, _):
                forward(bytes, context: context)
            case .discard(let bytes):
                held.discard(bytes)
            case .endOfStream:
                let promise = pendingOutputClose
                pendingOutputClose = nil
                context.close(mode: .output, promise: promise)
            case .close(let mode, _):
                closedByFault = true
                if mode == .reset {
                    resetAndClose(from: context)
                } else {
                    context.close(promise: nil)
                }
            }
        }
        if let pipeline { counters = pipeline.counters }
        rescheduleTimer(context: context)
        if let pendingFullClose, !(pipeline?.isHolding ?? false) {
            self.pendingFullClose = nil
            context.close(mode: .all, promise: pendingFullClose)
        }
    }

    private func forward(_ bytes: Int, context: ChannelHandlerContext) {
        for piece in held.take(bytes) {
            context.write(wrapOutboundOut(piece), promise: nil)
        }
        context.flush()
    }
}

@available(*, unavailable)
extension OutboundFaultHandler: Sendable {}
