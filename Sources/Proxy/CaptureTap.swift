#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Recording

/// Sits next to a socket and reports what its peer did — bytes, half-close,
/// reset — to the session, at the moment the proxy read it. It also holds
/// reads while the recorder's backlog is full (`--on-backlog backpressure`).
///
/// NIO does not always say how a peer ended: an end of input that arrives
/// after our own output was shut down closes the channel without an
/// `inputClosed` event, and a write that fails on a reset closes it without
/// an error. The tap tells those apart (`PeerEnd`) and passes the missing
/// event on — `inputClosed` or an `ECONNRESET` error — so the handlers after
/// it (the glue) always learn how the peer ended.
final class CaptureTap {
    private let session: ProxySession
    /// The direction of bytes this socket's peer sends.
    private let direction: Direction
    private var end = PeerEnd()

    init(session: ProxySession, direction: Direction) {
        self.session = session
        self.direction = direction
    }
}

/// How a channel's peer ended, from the events NIO gave and the closes we asked for.
struct PeerEnd {
    enum Conclusion: Equatable {
        /// Nothing to add: the peer's end was reported already.
        case reported
        /// We closed the channel before its peer ended (its partner was
        /// gone): the recording ends this direction with a FIN too, or the
        /// session would look open for ever.
        case closedByUs
        /// The peer's FIN closed the channel (our output was already shut).
        case halfClose
        /// The channel died without a reported cause while our output was open: a reset.
        case reset
    }

    private var inputEnded = false
    private var outputEnded = false
    private var failed = false
    private var closedLocally = false

    mutating func inputClosed() { inputEnded = true }
    mutating func outputClosed() { outputEnded = true }
    /// True for the first error: the one that ends the channel.
    mutating func errorCaught() -> Bool {
        defer { failed = true }
        return !failed
    }
    mutating func closeRequested() { closedLocally = true }

    /// What the channel's close means, once.
    mutating func channelInactive() -> Conclusion {
        defer { failed = true }
        if inputEnded || failed { return .reported }
        if closedLocally { return .closedByUs }
        return outputEnded ? .halfClose : .reset
    }
}

extension CaptureTap: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.received(unwrapInboundIn(data), direction)
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            end.inputClosed()
            session.record(.halfClose, direction)
        case ChannelEvent.outputClosed:
            end.outputClosed()
        case is ProxyShutdown:
            // The proxy closes the session: each peer sees the other end with a FIN.
            session.record(.halfClose, .clientToServer)
            session.record(.halfClose, .serverToClient)
            return
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if end.errorCaught(), error.isConnectionReset {
            session.record(.reset, direction)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let conclusion = end.channelInactive()
        switch conclusion {
        case .reported:
            break
        case .closedByUs:
            session.record(.halfClose, direction)
        case .halfClose:
            session.record(.halfClose, direction)
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        case .reset:
            session.record(.reset, direction)
            context.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "connection closed by a reset"))
        }
        session.channelClosed()
        context.fireChannelInactive()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all {
            end.closeRequested()
        }
        context.close(mode: mode, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        guard let drained = session.sink?.backlogDrained(on: context.eventLoop) else {
            context.read()
            return
        }
        drained.assumeIsolated().whenSuccess {
            context.read()
        }
    }
}

@available(*, unavailable)
extension CaptureTap: Sendable {}

/// Fired on a client's channel just before the proxy closes a session that
/// outlived the grace period, so the recording shows how it ended.
struct ProxyShutdown {}
