import NIOCore

/// PostgreSQL's in-protocol TLS upgrade: a client that wants TLS first
/// sends an 8-byte SSLRequest (length 8, code 80877103); the server
/// answers one byte, `S` (TLS follows) or `N`. A GSSENCRequest (code
/// 80877104) is answered `N`, after which libpq sends its SSLRequest.
package enum PostgresSSLRequest {
    package static let sslRequestCode: UInt32 = 80_877_103
    package static let gssEncRequestCode: UInt32 = 80_877_104

    /// The 8 bytes a client sends to ask for TLS.
    package static var message: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(8))
        buffer.writeInteger(sslRequestCode)
        return buffer
    }
}

/// The server's side of the upgrade, before a TLS handler: answers `S` to
/// an SSLRequest and `N` to a GSSENCRequest, then leaves the pipeline.
/// `upgraded` succeeds with true once it has said `S`, or with false when
/// the client's first message is something else (a plaintext startup),
/// which it passes on as it came.
package final class PostgresSSLRequestAnswer {
    package var upgraded: EventLoopFuture<Bool> { outcome.future }
    private let outcome: SetupOutcome<Bool>
    private var buffered = ByteBuffer()
    private var done: Bool { outcome.isSettled }

    package init(eventLoop: EventLoop) {
        outcome = SetupOutcome(eventLoop: eventLoop)
    }

    private func leave(_ context: ChannelHandlerContext, upgraded: Bool) {
        outcome.settle(.success(upgraded))
        if buffered.readableBytes > 0 {
            let rest = buffered
            buffered = ByteBuffer()
            context.fireChannelRead(NIOAny(rest))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension PostgresSSLRequestAnswer: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        buffered.writeBuffer(&bytes)
        while !done, buffered.readableBytes >= 8 {
            let length = buffered.getInteger(at: buffered.readerIndex, as: UInt32.self)
            let code = buffered.getInteger(at: buffered.readerIndex + 4, as: UInt32.self)
            guard length == 8, code == PostgresSSLRequest.sslRequestCode || code == PostgresSSLRequest.gssEncRequestCode else {
                leave(context, upgraded: false)
                return
            }
            buffered.moveReaderIndex(forwardBy: 8)
            let isSSL = code == PostgresSSLRequest.sslRequestCode
            var answer = context.channel.allocator.buffer(capacity: 1)
            answer.writeString(isSSL ? "S" : "N")
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            if isSSL { leave(context, upgraded: true) }
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        outcome.settle(.failure(TLSError("the client closed the connection before its SSLRequest")))
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        outcome.settle(.failure(ChannelError.ioOnClosedChannel))
    }
}

/// The client's side of the upgrade, on a connection to a PostgreSQL
/// server: sends SSLRequest and reads the one-byte answer. `accepted`
/// succeeds on `S` (the handler has left; start TLS now) and fails with a
/// `TLSError` on `N` or anything else.
package final class PostgresSSLRequestClient {
    package var accepted: EventLoopFuture<Void> { outcome.future }
    private let outcome: SetupOutcome<Void>
    private var done: Bool { outcome.isSettled }
    private var sent = false

    package init(eventLoop: EventLoop) {
        outcome = SetupOutcome(eventLoop: eventLoop)
    }

}

extension PostgresSSLRequestClient: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        send(context)
    }

    private func send(_ context: ChannelHandlerContext) {
        // Added to an active channel whose channelActive is still on its way: once only.
        guard !sent else { return }
        sent = true
        context.writeAndFlush(wrapOutboundOut(PostgresSSLRequest.message), promise: nil)
        context.read()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !done, let answer = bytes.readInteger(as: UInt8.self) else { return }
        switch answer {
        case UInt8(ascii: "S"):
            guard bytes.readableBytes == 0 else {
                // Bytes after `S` before our hello: someone in the middle (CVE-2021-23222).
                outcome.settle(.failure(TLSError("the PostgreSQL server sent bytes after accepting SSLRequest")))
                return
            }
            // Succeed first: leaving the pipeline fails whatever is unfinished.
            outcome.settle(.success(()))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case UInt8(ascii: "N"):
            outcome.settle(.failure(TLSError("the PostgreSQL server does not accept TLS (it answered N to SSLRequest)")))
        default:
            outcome.settle(.failure(TLSError("the upstream is not a PostgreSQL server (it answered SSLRequest with \(hex(answer, digits: 2)))")))
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        outcome.settle(.failure(TLSError("the PostgreSQL server closed the connection after SSLRequest")))
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        outcome.settle(.failure(ChannelError.ioOnClosedChannel))
    }
}

@available(*, unavailable)
extension PostgresSSLRequestAnswer: Sendable {}

@available(*, unavailable)
extension PostgresSSLRequestClient: Sendable {}
