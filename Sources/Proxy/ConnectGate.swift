import Faults
import NIOCore

/// Holds a client's reads until its upstream connection is up.
///
/// Reads are not issued while the gate is closed. NIO still drains a socket
/// whose peer has already half-closed (it reads to the end of input on the
/// EOF notification), so whatever arrives meanwhile — bytes, the end of
/// input, an error, the close — is kept, in order, and replayed when the
/// gate opens. That is at most one socket receive buffer.
final class ConnectGate {
    private enum Held {
        case read(NIOAny)
        case readComplete
        case event(Any)
        case error(Error)
        case inactive
    }

    private var held: [Held] = []
    private var isOpen = false
    /// `open()` came before the client's channel was active (an upstream
    /// that connected at once, like a Unix socket, inside the accept).
    private var opensWhenActive = false
    /// `reset()` came before the client's channel was active (an upstream
    /// that refused at once).
    private var resetsWhenActive = false
    private var context: ChannelHandlerContext?

    /// False once the client's channel has closed (a reset) while the gate
    /// was shut: there is no one left to join to the upstream.
    var clientIsPresent: Bool {
        guard context != nil else { return false }
        return !held.contains { if case .inactive = $0 { true } else { false } }
    }

    /// Nothing came from the client while the gate was shut.
    var holdsNothing: Bool {
        held.isEmpty
    }

    /// The upstream could not be reached: reset the client — once its
    /// channel is active, as an RST needs a registered socket.
    func reset() {
        guard let context else { return }
        guard context.channel.isActive else {
            resetsWhenActive = true
            return
        }
        resetAndClose(context.channel)
    }

    /// Replays what was held, passes on a pending read and leaves the pipeline.
    func open() {
        guard let context, !isOpen else { return }
        // A read issued before the channel is active is lost: wait for it.
        guard context.channel.isActive else {
            opensWhenActive = true
            return
        }
        isOpen = true
        let replay = held
        held = []
        for item in replay {
            switch item {
            case .read(let data): context.fireChannelRead(data)
            case .readComplete: context.fireChannelReadComplete()
            case .event(let event): context.fireUserInboundEventTriggered(event)
            case .error(let error): context.fireErrorCaught(error)
            case .inactive: context.fireChannelInactive()
            }
        }
        // The glue held the first read while its partner was not connected:
        // ask again from the tail of the pipeline, now that it is.
        context.channel.read()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension ConnectGate: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        if resetsWhenActive {
            resetAndClose(context.channel)
        } else if opensWhenActive {
            open()
        }
    }

    // Once open (and until the removal takes effect) everything passes through.

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isOpen { context.fireChannelRead(data) } else { held.append(.read(data)) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if isOpen { context.fireChannelReadComplete() } else { held.append(.readComplete) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isOpen { context.fireUserInboundEventTriggered(event) } else { held.append(.event(event)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if isOpen { context.fireErrorCaught(error) } else { held.append(.error(error)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isOpen { context.fireChannelInactive() } else { held.append(.inactive) }
    }

    func read(context: ChannelHandlerContext) {
        // While shut, reads are dropped: `open()` asks again.
        if isOpen { context.read() }
    }
}

extension ConnectGate: RemovableChannelHandler {}

@available(*, unavailable)
extension ConnectGate: Sendable {}
