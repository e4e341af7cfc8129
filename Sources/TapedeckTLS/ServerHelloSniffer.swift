import NIOCore

/// Next to the socket of a TLS connection, reads the server's first
/// message as it passes (inbound on a client's connection, outbound on a
/// server's) for what NIOSSL does not tell: the cipher suite chosen. It
/// leaves the pipeline once it has it, or once the bytes are not a hello.
package final class ServerHelloSniffer {
    package private(set) var serverHello: ServerHello?
    private var seen = ByteBuffer()
    private var done = false
    private var leavesAfterFlush = false
    /// True on a server's connection: the hello is among what it writes.
    private let outbound: Bool

    /// `outbound`: the server is this side (the hello is written), not the peer.
    package init(outbound: Bool) {
        self.outbound = outbound
    }

    /// Reads `bytes`; true once there is nothing more to look for.
    private func look(at bytes: ByteBuffer) -> Bool {
        guard !done else { return false }
        var copy = bytes
        seen.writeBuffer(&copy)
        switch TLSHelloParser.serverHello(seen) {
        case .needMore:
            return false
        case .notTLS:
            break
        case .hello(let hello):
            serverHello = hello
        }
        done = true
        seen = ByteBuffer()
        return true
    }
}

extension ServerHelloSniffer: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let finished = !outbound && look(at: unwrapInboundIn(data))
        // Passed on first: a handler that has left the pipeline passes nothing.
        context.fireChannelRead(data)
        if finished { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if outbound { leavesAfterFlush = look(at: unwrapOutboundIn(data)) || leavesAfterFlush }
        context.write(data, promise: promise)
    }

    package func flush(context: ChannelHandlerContext) {
        context.flush()
        // Not before: a flush sent to a handler that has left goes nowhere.
        if leavesAfterFlush {
            leavesAfterFlush = false
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

@available(*, unavailable)
extension ServerHelloSniffer: Sendable {}
