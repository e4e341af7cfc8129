#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Closes `channel` with an RST (SO_LINGER 0) instead of a FIN. (A Unix
/// socket has no RST: its peer sees the close.)
package func resetAndClose(_ channel: Channel) {
    guard let provider = channel as? SocketOptionProvider else {
        channel.close(promise: nil)
        return
    }
    provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
        channel.close(promise: nil)
    }
}

/// The same from inside a handler: the close starts at `context`, as
/// `context.close` does, so only the handlers before it see it. On the
/// channel's event loop.
package func resetAndClose(from context: ChannelHandlerContext) {
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
