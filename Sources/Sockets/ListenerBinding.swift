#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import Recording

extension ServerBootstrap {
    /// Binds to `endpoint` as every Tapedeck listener does: a stale Unix
    /// socket file is replaced, and with `socketMode` the new one gets that
    /// mode (closing the listener again if it cannot be set).
    package func bind(to endpoint: Endpoint, socketMode: mode_t? = nil) async throws -> Channel {
        switch endpoint {
        case .ip(let address, let port):
            return try await bind(host: address.description, port: Int(port)).get()
        case .unix(let path):
            let channel = try await bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            if let socketMode, chmod(path, socketMode) != 0 {
                let reason = String(cString: strerror(errno))
                try? await channel.close()
                throw SocketError(.socketMode, "cannot set mode \(String(socketMode, radix: 8)) on \(path): \(reason)")
            }
            return channel
        }
    }
}

/// Binds every endpoint in order; on the first failure closes the channels
/// already bound and rethrows it (a system error as `ENDPOINT: REASON`).
package func bindListeners(_ endpoints: [Endpoint], _ bind: (Endpoint) async throws -> Channel) async throws -> [Channel] {
    var bound: [Channel] = []
    do {
        for endpoint in endpoints {
            do {
                bound.append(try await bind(endpoint))
            } catch let error as IOError {
                throw SocketError(.bind, "\(endpoint): \(String(cString: strerror(error.errnoCode)))")
            }
        }
    } catch {
        for channel in bound { try? await channel.close() }
        throw error
    }
    return bound
}

extension ServerBootstrap {
    /// The bootstrap of a small built-in server (the sample echo server, test
    /// servers): addresses reused, half-closure on, `configure` run
    /// synchronously on every accepted channel.
    package static func smallServer(
        group: EventLoopGroup,
        configure: @escaping @Sendable (Channel) throws -> Void
    ) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try configure(channel) }
            }
    }
}
