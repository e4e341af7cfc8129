#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// An outbound user event a channel's handlers see just before Tapedeck
/// closes the channel with an RST: a handler that records how the channel
/// ended (the proxy's capture tap) learns that its peer gets a reset, not a
/// FIN. The pipeline's head ignores it.
package struct ResetNotice: Sendable {}

/// Sets `channel` to close with an RST (SO_LINGER 0) instead of a FIN,
/// telling its handlers (``ResetNotice``), without closing it: whoever
/// closes it next resets it. (A Unix socket has no RST: its peer sees the
/// close.)
package func prepareReset(_ channel: Channel) -> EventLoopFuture<Void> {
    channel.pipeline.triggerUserOutboundEvent(ResetNotice(), promise: nil)
    guard let provider = channel as? SocketOptionProvider else {
        return channel.eventLoop.makeSucceededVoidFuture()
    }
    return provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
}

/// Closes `channel` with an RST (SO_LINGER 0) instead of a FIN. (A Unix
/// socket has no RST: its peer sees the close.)
package func resetAndClose(_ channel: Channel) {
    prepareReset(channel).whenComplete { _ in
        channel.close(promise: nil)
    }
}

/// The same from inside a handler: the close starts at `context`, as
/// `context.close` does, so only the handlers before it see it. On the
/// channel's event loop.
package func resetAndClose(from context: ChannelHandlerContext) {
    context.triggerUserOutboundEvent(ResetNotice(), promise: nil)
    guard let provider = context.channel as? SocketOptionProvider else {
        context.close(promise: nil)
        return
    }
    provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
        context.close(promise: nil)
    }
}

extension Channel {
    /// Closes the channel as a fault asks: `.fin` once what is queued for it
    /// has been written, `.reset` with an RST at once.
    package func close(as mode: FaultCloseMode) {
        switch mode {
        case .fin:
            writeAndFlush(ByteBuffer()).whenComplete { _ in self.close(promise: nil) }
        case .reset:
            resetAndClose(self)
        }
    }
}
