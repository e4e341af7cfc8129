import NIOCore
import Recording

/// Sits next to a socket and reports what its peer did — bytes, half-close,
/// reset — to the session, at the moment the proxy read it. It also holds
/// reads while the recorder's backlog is full (`--on-backlog backpressure`).
final class CaptureTap {
    private let session: ProxySession
    /// The direction of bytes this socket's peer sends.
    private let direction: Direction
    private var sawReset = false

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
        if case ChannelEvent.inputClosed = event {
            session.record(.halfClose, direction)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error.isConnectionReset, !sawReset {
            sawReset = true
            session.record(.reset, direction)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.channelClosed()
        context.fireChannelInactive()
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
