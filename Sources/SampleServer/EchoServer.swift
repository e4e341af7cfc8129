import NIOCore
import NIOPosix
import Recording
import Sockets

/// The upstream `tapedeck sample-server` runs, for demos and tests: echoes
/// every byte back, and when its client half-closes, half-closes too once
/// everything is echoed.
/// Listens on TCP or a Unix socket; port 0 picks a free port.
public final class EchoServer: Sendable {
    public let endpoint: Endpoint
    private let channel: Channel

    private init(endpoint: Endpoint, channel: Channel) {
        self.endpoint = endpoint
        self.channel = channel
    }

    public static func start(on endpoint: Endpoint = .ip(.loopbackV4, port: 0), group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> EchoServer {
        let channel = try await ServerBootstrap.smallServer(group: group) { channel in
            try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }.bind(to: endpoint)
        return EchoServer(endpoint: endpoint.bound(by: channel), channel: channel)
    }

    public func stop() async {
        try? await channel.close()
    }
}

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // NIO turns a close of the output into a full close, dropping
            // queued writes, once the input is closed: wait for them first.
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension EchoHandler: Sendable {}
