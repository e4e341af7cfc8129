import NIOCore

/// Reads a client's ClientHello without answering it, so the proxy can
/// learn the name and protocols it asks for (and ask the upstream for the
/// same) before it picks a certificate and an ALPN answer.
///
/// It issues its own reads (the handlers after it may be holding theirs)
/// until the hello is whole; `hello` then succeeds, or fails with a
/// `TLSError` when the first bytes are not TLS or the client leaves first.
/// `startTLS(with:)` puts the TLS handler in its place and hands it the
/// bytes read so far.
package final class ClientHelloPeek {
    package var hello: EventLoopFuture<ClientHello> { outcome.future }
    package let outcome: SetupOutcome<ClientHello>
    private var buffered: ByteBuffer?
    private var done: Bool { outcome.isSettled }
    package var context: ChannelHandlerContext?

    package init(eventLoop: EventLoop) {
        outcome = SetupOutcome(eventLoop: eventLoop)
    }

    /// Adds `handlers` after this one, gives them what the client sent so
    /// far and leaves the pipeline. On the channel's event loop, after `hello`.
    package func startTLS(with handlers: [ChannelHandler]) throws {
        guard let context else { throw ChannelError.ioOnClosedChannel }
        try context.pipeline.syncOperations.addHandlers(handlers, position: .after(self))
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(NIOAny(bytes))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

}

extension ClientHelloPeek: ChannelInboundHandler, RemovableChannelHandler, SelfReadingSetupHandler {
    package typealias InboundIn = ByteBuffer

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !done else {
            // Bytes after the hello, before the TLS handler is in: keep them, in order.
            buffered?.writeBuffer(&bytes)
            return
        }
        if buffered == nil {
            buffered = bytes
        } else {
            buffered!.writeBuffer(&bytes)
        }
        switch TLSHelloParser.clientHello(buffered!) {
        case .needMore: break
        case .notTLS(let why): outcome.settle(.failure(TLSError("not a TLS client: \(why)")))
        case .hello(let hello): outcome.settle(.success(hello))
        }
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        if !done { context.read() }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        outcome.settle(.failure(TLSError("the client closed the connection before its TLS hello")))
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        outcome.settle(.failure(error))
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension ClientHelloPeek: Sendable {}
