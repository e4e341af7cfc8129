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

// What the tap does with each event, whether it stands in the pipeline on
// its own or inside the glue (`GlueHandler.matchedPair(taps:)`, when no
// fault handler stands between them).
extension CaptureTap {
    /// Bytes the peer sent.
    func observeRead(_ buffer: ByteBuffer) {
        session.received(buffer, direction)
    }

    /// Whether `event` goes on to the handlers after the tap: a
    /// ``ProxyShutdown`` is the tap's own.
    func observeInboundEvent(_ event: Any) -> Bool {
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
            return false
        default:
            break
        }
        return true
    }

    func observeError(_ error: Error) {
        if end.errorCaught(), error.isConnectionReset {
            session.record(.reset, direction)
        }
    }

    /// What the handlers after the tap did not hear from NIO
    /// and must, before the channel's inactivity.
    enum MissingEvent {
        case inputClosed
        case reset(IOError)
    }

    /// The channel closed: records how the peer ended, and says what the
    /// handlers after the tap have still to learn of it — before
    /// `observeClosed()`.
    func observeInactive() -> MissingEvent? {
        switch end.channelInactive() {
        case .reported:
            return nil
        case .closedByUs:
            session.record(.halfClose, direction)
            return nil
        case .resetByUs:
            session.record(ourReset, direction.reversed)
            return nil
        case .halfClose:
            session.record(.halfClose, direction)
            return .inputClosed
        case .reset:
            session.record(.reset, direction)
            return .reset(IOError(errnoCode: ECONNRESET, reason: "connection closed by a reset"))
        }
    }

    /// The channel's close is through: the session ends with its second leg.
    func observeClosed() {
        session.channelClosed()
    }

    /// Whether `event` goes on toward the socket: a ``ResetNotice`` is the tap's own.
    func observeOutboundEvent(_ event: Any, channel: Channel) -> Bool {
        guard event is ResetNotice else { return true }
        end.resetRequested()
        if channel.localAddress?.protocol == .unix {
            ourReset = .halfClose
        }
        return false
    }

    func observeClose(_ mode: CloseMode) {
        if mode == .all {
            end.closeRequested()
        }
    }

    /// Issues the read now, or once the recorder's backlog has drained.
    func read(_ context: ChannelHandlerContext) {
        guard let drained = session.sink?.backlogDrained(on: context.eventLoop) else {
            context.read()
            return
        }
        drained.assumeIsolated().whenSuccess {
            context.read()
        }
    }
}

extension CaptureTap: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        observeRead(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if observeInboundEvent(event) {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        observeError(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch observeInactive() {
        case nil: break
        case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        case .reset(let error): context.fireErrorCaught(error)
        }
        observeClosed()
        context.fireChannelInactive()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if observeOutboundEvent(event, channel: context.channel) {
            context.triggerUserOutboundEvent(event, promise: promise)
        } else {
            promise?.succeed()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        observeClose(mode)
        context.close(mode: mode, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        read(context)
    }
}

@available(*, unavailable)
extension CaptureTap: Sendable {}

/// Fired on a client's channel just before the proxy closes a session that
/// outlived the grace period, so the recording shows how it ended.
struct ProxyShutdown {}
