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
    /// Binds to `endpoint` as every Tapedeck listener does: a Unix socket
    /// file nothing answers on (one left by a process that died) is
    /// replaced, a live one is left alone, and with `socketMode` the new one
    /// gets that mode (closing the listener again if it cannot be set).
    ///
    /// Throws a `SocketError` naming the endpoint and the cause in plain
    /// words (`cannot listen on 127.0.0.1:6380: address already in use`).
    package func bind(to endpoint: Endpoint, socketMode: mode_t? = nil) async throws -> Channel {
        func failure(_ reason: String, _ code: SocketErrorCode = .listen) -> SocketError {
            SocketError(code, "cannot listen on \(endpoint): \(reason)")
        }
        let address: SocketAddress?
        do {
            address = try endpoint.listenable().socketAddress()
        } catch {
            throw failure(error.message, error.code)
        }
        guard let address else { throw failure("not an address") }
        if let path = address.pathname {
            do {
                try UnixSocketFile.removeIfStale(path)
            } catch {
                throw failure(error.message)
            }
        }
        let channel: Channel
        do {
            channel = try await bind(to: address).get()
        } catch {
            throw failure(PlainReason.of(error))
        }
        if let socketMode, let path = address.pathname, chmod(path, socketMode) != 0 {
            let reason = PlainReason.errno(errno)
            try? await channel.close()
            throw SocketError(.socketMode, "cannot set mode \(String(socketMode, radix: 8)) on \(path): \(reason)")
        }
        return channel
    }
}

/// Binds every endpoint in order; on the first failure closes the channels
/// already bound and rethrows it (a system error as `ENDPOINT: REASON`).
package func bindListeners(_ endpoints: [Endpoint], _ bind: (Endpoint) async throws -> Channel) async throws -> [Channel] {
    try await bindListeners(endpoints) { [try await bind($0)] }.map { $0[0] }
}

/// Binds every endpoint in order, each as one or more channels (a listener
/// on every event loop); on the first failure closes every channel already
/// bound and rethrows it.
package func bindListeners(_ endpoints: [Endpoint], _ bind: (Endpoint) async throws -> [Channel]) async throws -> [[Channel]] {
    var bound: [[Channel]] = []
    do {
        for endpoint in endpoints {
            bound.append(try await bind(endpoint))
        }
    } catch {
        for channel in bound.joined() { try? await channel.close() }
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
