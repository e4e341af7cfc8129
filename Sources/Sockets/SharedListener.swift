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

/// One TCP listening socket that every event loop of a group accepts on,
/// each through a channel of its own (the descriptor duplicated), so a
/// connection is accepted, set up and served on the loop that took it: no
/// hop to another thread per new connection. Whichever loop wakes first
/// takes what is pending; a busy loop leaves it to the other.
///
/// One socket, not one per loop with `SO_REUSEPORT`: a second process (or
/// a second proxy of this one) binding the same port still meets "address
/// already in use".
package enum SharedListener {
    /// Binds a TCP `endpoint` once and registers it on every loop of
    /// `group`, each with the server bootstrap `bootstrap(loop, loop)`
    /// makes (its children on that loop). A Unix path, or a group of one
    /// loop, is bound as `ServerBootstrap.bind(to:socketMode:)` binds it,
    /// with `bootstrap(group.next(), group)`, and gives one channel.
    ///
    /// Throws a `SocketError` as `ServerBootstrap.bind(to:socketMode:)`
    /// does (`cannot listen on 127.0.0.1:6380: address already in use`);
    /// the channels already registered are closed first.
    package static func bind(
        _ endpoint: Endpoint,
        socketMode: mode_t?,
        backlog: CInt,
        group: EventLoopGroup,
        bootstrap: (_ loop: EventLoop, _ children: EventLoopGroup) -> ServerBootstrap
    ) async throws -> [Channel] {
        let loops = Array(group.makeIterator())
        guard case .ip = try? endpoint.listenable(), loops.count > 1 else {
            return [try await bootstrap(group.next(), group).bind(to: endpoint, socketMode: socketMode)]
        }
        func failure(_ reason: String, _ code: SocketErrorCode = .listen) -> SocketError {
            SocketError(code, "cannot listen on \(endpoint): \(reason)")
        }
        let address: SocketAddress
        do {
            guard let made = try endpoint.listenable().socketAddress() else { throw failure("not an address") }
            address = made
        } catch {
            throw failure(error.message, error.code)
        }
        let descriptor = try listeningSocket(address, backlog: backlog, failure: failure)
        var unclaimed = [descriptor]
        for _ in loops.dropFirst() {
            let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
            guard duplicate >= 0 else {
                let reason = PlainReason.errno(errno)
                for fd in unclaimed { close(fd) }
                throw failure(reason)
            }
            unclaimed.append(duplicate)
        }
        var channels: [Channel] = []
        do {
            for loop in loops {
                let fd = unclaimed.removeFirst()
                channels.append(try await bootstrap(loop, loop).withBoundSocket(fd).get())
            }
        } catch {
            for fd in unclaimed { close(fd) }
            for channel in channels { try? await channel.close() }
            throw failure(PlainReason.of(error))
        }
        // NIO listens again, with its default backlog, on a socket it is
        // given; the socket (shared by every channel) takes ours back.
        if listen(descriptor, backlog) != 0 {
            let reason = PlainReason.errno(errno)
            for channel in channels { try? await channel.close() }
            throw failure(reason)
        }
        return channels
    }

    /// A bound, listening, non-blocking TCP socket with `SO_REUSEADDR`.
    private static func listeningSocket(
        _ address: SocketAddress,
        backlog: CInt,
        failure: (String, SocketErrorCode) -> SocketError
    ) throws(SocketError) -> CInt {
        #if canImport(Darwin)
        let descriptor = socket(CInt(address.protocol.rawValue), SOCK_STREAM, 0)
        #else
        let descriptor = socket(CInt(address.protocol.rawValue), CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw failure(PlainReason.errno(errno), .listen) }
        var one: CInt = 1
        let bound = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)) == 0
            && address.withSockAddr { systemBind(descriptor, $0, socklen_t($1)) } == 0
            && listen(descriptor, backlog) == 0
        guard bound else {
            let reason = PlainReason.errno(errno)
            close(descriptor)
            throw failure(reason, .listen)
        }
        return descriptor
    }
}

#if canImport(Glibc)
private let systemBind = Glibc.bind
#elseif canImport(Musl)
private let systemBind = Musl.bind
#elseif canImport(Darwin)
private let systemBind = Darwin.bind
#endif
