#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
import NIOCore

/// Half of a pair joining a session's two channels: what one channel reads,
/// the other writes.
///
/// - Back-pressure: a read is issued only while the partner is writable, so
///   a session holds at most a write buffer's worth of bytes per direction
///   whatever the speeds of the two peers.
/// - Half-close: an end of input on one side shuts down the partner's output
///   once every byte queued for it has been written; a channel closes fully
///   only when both directions are done. Queued bytes are never thrown away.
/// - Reset: a reset on one side resets the other (SO_LINGER 0, then close).
/// - Faults: when a channel closes while its `FaultHandler` still delays
///   bytes, the handler hands them over (`FaultHandoff`) and the partner
///   writes each at its due time; the partner's half-close or close waits
///   until the last one is written. A reset drops them.
/// - Capture: with no fault handler between them, each half carries its
///   channel's `CaptureTap` inside it (`matchedPair(taps:)`), so a chunk
///   passes one handler, not two; the tap sees every event as it would
///   standing on its own just before the glue.
///
/// Threading: both halves live on the same event loop.
final class GlueHandler {
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    /// This channel's capture tap when it stands inside the glue.
    private let tap: CaptureTap?
    private var pendingRead = false
    /// Bytes (and an end or close) the partner's fault handler still held
    /// when the partner's channel closed, to be written at their due times.
    private var scheduled = CircularBuffer<FaultHandoff.Entry>()
    private var scheduledTimer: Scheduled<Void>?
    /// What the partner's end or close asked of this channel while
    /// `scheduled` was not empty: done once it is.
    private var afterScheduled: [() -> Void] = []
    /// This channel is being reset or failed: a handoff is not taken.
    private var isAborting = false
    /// Chunks this channel has read: the move to the splice path checks
    /// that none came while it waited for the writes to drain.
    private(set) var chunksRead = 0
    private var inputEnded = false

    /// Nothing but bytes has happened on this channel: its input is open,
    /// no handoff is pending, it is not failing. Its session may leave NIO.
    var isPlain: Bool {
        context != nil && !inputEnded && !isAborting && scheduled.isEmpty && afterScheduled.isEmpty
    }

    private init(tap: CaptureTap?) {
        self.tap = tap
    }

    /// Two halves; with `taps`, each carries its channel's tap (the first
    /// half's tap first).
    static func matchedPair(taps: (CaptureTap, CaptureTap)? = nil) -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(tap: taps?.0)
        let second = GlueHandler(tap: taps?.1)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private func partnerWrite(_ data: NIOAny) {
        context?.write(data, promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private var partnerIsWritable: Bool {
        context?.channel.isWritable ?? false
    }

    private func partnerBecameWritable() {
        if pendingRead, let context {
            pendingRead = false
            issueRead(context)
        }
    }

    /// A read, through the tap when it stands inside (it waits for the recorder's backlog).
    private func issueRead(_ context: ChannelHandlerContext) {
        if let tap {
            tap.read(context)
        } else {
            context.read()
        }
    }

    /// Closes this channel from the glue, telling the tap inside, if any,
    /// as the tap standing on its own would have seen the close pass.
    private func close(_ context: ChannelHandlerContext, mode: CloseMode = .all) {
        tap?.observeClose(mode)
        context.close(mode: mode, promise: nil)
    }

    /// Runs `body` once every write queued so far has left (an empty write
    /// completes after all before it).
    private func afterQueuedWrites(_ body: @escaping (ChannelHandlerContext) -> Void) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in body(context) }
    }

    private func partnerEndOfInput() {
        guard scheduled.isEmpty else {
            afterScheduled.append { [self] in partnerEndOfInput() }
            return
        }
        afterQueuedWrites { [self] context in
            close(context, mode: .output)
        }
    }

    private func partnerClosed() {
        guard scheduled.isEmpty else {
            afterScheduled.append { [self] in partnerClosed() }
            return
        }
        afterQueuedWrites { [self] context in
            close(context)
        }
    }

    private func partnerReset() {
        abortScheduled()
        guard let context else { return }
        resetAndClose(context.channel)
    }

    private func partnerFailed() {
        abortScheduled()
        if let context { close(context) }
    }

    /// Whether this channel can take the partner's held bytes.
    private var takesHandoff: Bool {
        guard let context, !isAborting else { return false }
        return context.channel.isActive
    }

    /// The partner's channel closed while its fault handler held bytes:
    /// write them here when due, then do what the partner's end asks.
    private func partnerHandedOff(_ entries: [FaultHandoff.Entry]) {
        scheduled.append(contentsOf: entries)
        runScheduled()
    }

    private func runScheduled() {
        scheduledTimer = nil
        guard let context else {
            abortScheduled()
            return
        }
        let now = context.eventLoop.now
        while let entry = scheduled.first, entry.due <= now {
            scheduled.removeFirst()
            switch entry.event {
            case .data(let buffers):
                for buffer in buffers {
                    context.write(wrapOutboundOut(buffer), promise: nil)
                }
                context.flush()
            case .endOfStream:
                partnerEndOfInput()
            case .close(.fin):
                partnerClosed()
            case .close(.reset):
                partnerReset()
                return
            }
        }
        if let next = scheduled.first {
            scheduledTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next.due) { [self] in
                runScheduled()
            }
            return
        }
        let pending = afterScheduled
        afterScheduled = []
        for action in pending { action() }
    }

    private func abortScheduled() {
        isAborting = true
        scheduledTimer?.cancel()
        scheduledTimer = nil
        scheduled.removeAll()
        afterScheduled = []
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = NIOAny
    typealias OutboundOut = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abortScheduled()
        self.context = nil
        self.partner = nil
    }

    /// A read the partner held because this side was not there yet (the
    /// upstream still connecting) goes ahead now: no writability change
    /// would ever release it.
    func channelActive(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        chunksRead &+= 1
        tap?.observeRead(unwrapInboundIn(data))
        partner?.partnerWrite(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let tap {
            switch tap.observeInactive() {
            case nil: break
            case .inputClosed: glueInboundEvent(context: context, event: ChannelEvent.inputClosed)
            case .reset(let error): glueErrorCaught(context: context, error: error)
            }
            tap.observeClosed()
        }
        partner?.partnerClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tap, !tap.observeInboundEvent(event) { return }
        glueInboundEvent(context: context, event: event)
    }

    private func glueInboundEvent(context: ChannelHandlerContext, event: Any) {
        if let handoff = event as? FaultHandoff {
            // This channel is closing with bytes its fault handler still
            // delays: the partner writes them when due.
            if let partner, partner.takesHandoff {
                partner.partnerHandedOff(handoff.claim())
            }
            return
        }
        if case ChannelEvent.inputClosed = event {
            inputEnded = true
            partner?.partnerEndOfInput()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        tap?.observeError(error)
        glueErrorCaught(context: context, error: error)
    }

    private func glueErrorCaught(context: ChannelHandlerContext, error: Error) {
        if error.isConnectionReset {
            partner?.partnerReset()
        } else {
            partner?.partnerFailed()
        }
        close(context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerIsWritable ?? false {
            issueRead(context)
        } else {
            pendingRead = true
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let tap, !tap.observeOutboundEvent(event, channel: context.channel) {
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        tap?.observeClose(mode)
        context.close(mode: mode, promise: promise)
    }
}

@available(*, unavailable)
extension GlueHandler: Sendable {}

extension Error {
    /// True for ECONNRESET (and EPIPE, its write-side twin): the peer sent an RST.
    var isConnectionReset: Bool {
        guard let error = self as? IOError else { return false }
        return error.errnoCode == ECONNRESET || error.errnoCode == EPIPE
    }
}
