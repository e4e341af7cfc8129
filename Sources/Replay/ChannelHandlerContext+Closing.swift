import Faults
import NIOCore

extension ChannelHandlerContext {
    /// Closes `mode` once what was written before has gone out: once the
    /// input is closed NIO turns an output close into a full one that drops
    /// queued writes. On the channel's event loop.
    func closeOnceWritten(mode: CloseMode = .all) {
        writeAndFlush(NIOAny(ByteBuffer())).assumeIsolated().whenComplete { _ in
            self.close(mode: mode, promise: nil)
        }
    }

    /// Resets the connection (an RST), throwing away the writes the
    /// channel's ``OutboundFaultHandler`` still holds. On the channel's
    /// event loop.
    func resetDroppingHeldWrites() {
        try? pipeline.syncOperations.handler(type: OutboundFaultHandler.self).abandonHeld()
        resetAndClose(channel)
    }
}
