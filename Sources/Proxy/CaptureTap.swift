#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
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
///
/// Resets Tapedeck makes (a fault's, or one passed on from the other leg)
/// are recorded as each peer saw them, in the one TCP flow a session is
/// written as: the client got an RST from "the server", recorded as sent
/// server→client; the upstream got one from "the client", recorded as sent
/// client→server. A reset of both legs leaves one RST each way. A Unix
/// socket has no RST (its peer sees the close): a reset of one is recorded
/// as a FIN toward its peer.
final class CaptureTap {
    private let session: ProxySession
    /// The direction of bytes this socket's peer sends.
    private let direction: Direction
    private var end = PeerEnd()
    /// What the peer gets when we reset the channel: an RST, or on a Unix
    /// socket the end of stream.
    private var ourReset = SessionEvent.Kind.reset

    init(session: ProxySession, direction: Direction) {
        self.session = session
        self.direction = direction
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
        case .resetByUs:
            session.record(ourReset, direction.reversed)
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

    /// A ``ResetNotice`` is the tap's own: it goes no further.
    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is ResetNotice else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        end.resetRequested()
        if context.channel.localAddress?.protocol == .unix {
            ourReset = .halfClose
        }
        promise?.succeed()
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
