import NIOCore
import NIOPosix
import Proxy
import Recording

/// Binding shared by Tapedeck's built-in test servers.
enum TestServerBootstrap {
    static func bind(
        _ endpoint: Endpoint,
        group: EventLoopGroup,
        configure: @escaping @Sendable (Channel) throws -> Void
    ) async throws -> Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try configure(channel) }
            }
        switch endpoint {
        case .ip(let address, let port):
            return try await bootstrap.bind(host: address.description, port: Int(port)).get()
        case .unix(let path):
            return try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        }
    }

    /// The endpoint a channel is bound to (port 0 resolved).
    static func endpoint(of channel: Channel, requested: Endpoint) -> Endpoint {
        if case .ip(let address, _) = requested, let port = channel.localAddress?.port {
            return .ip(address, port: UInt16(port))
        }
        return requested
    }
}
