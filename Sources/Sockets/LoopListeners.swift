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

/// A TCP listener bound once for each event loop of a group, all on one
/// port (`SO_REUSEPORT`): the kernel spreads new connections over them, and
/// each is accepted, set up and served on its own loop — no hop to another
/// thread per new connection, no loop woken for a connection another took.
///
/// The port stays the proxy's alone: before binding, a plain socket (no
/// `SO_REUSEPORT`) is bound to it, so a port anyone listens on — another
/// process, another proxy of this one — still meets "address already in
/// use"; and while the proxy listens, a socket without `SO_REUSEPORT`
/// cannot join its group. (Another program of the same user that asks for
/// `SO_REUSEPORT` itself can: the kernel allows that on purpose.)
package enum LoopListeners {
    /// Binds a TCP `endpoint` on every loop of `group`, each with the server
    /// bootstrap `bootstrap(loop, loop)` makes (its children on that loop).
    /// A Unix path, or a group of one loop, is bound as
    /// `ServerBootstrap.bind(to:socketMode:)` binds it, with
    /// `bootstrap(group.next(), group)`, and gives one channel.
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
        func failure(_ reason: String) -> SocketError {
            SocketError(.listen, "cannot listen on \(endpoint): \(reason)")
        }
        var address: SocketAddress
        do throws(SocketError) {
            guard let made = try endpoint.listenable().socketAddress() else { throw SocketError(.address, "not an address") }
            address = made
        } catch {
            throw SocketError(error.code, "cannot listen on \(endpoint): \(error.message)")
        }
        var descriptors: [CInt] = []
        do throws(SocketError) {
            if address.port != 0 {
                // Taken by anyone, in a group of its own or not: say so.
                close(try socket(address, reusePort: false, listening: false, backlog: backlog))
            }
            for _ in loops {
                let descriptor = try socket(address, reusePort: true, listening: true, backlog: backlog)
                descriptors.append(descriptor)
                if address.port == 0 {
                    // The port the kernel chose, for the other loops' sockets.
                    address.port = localPort(descriptor)
                }
            }
        } catch {
            for descriptor in descriptors { close(descriptor) }
            throw failure(error.message)
        }
        var channels: [Channel] = []
        var unclaimed = descriptors[...]
        do {
            for loop in loops {
                let descriptor = unclaimed.removeFirst()
                channels.append(try await bootstrap(loop, loop).withBoundSocket(descriptor).get())
            }
        } catch {
            for descriptor in unclaimed { close(descriptor) }
            for channel in channels { try? await channel.close() }
            throw failure(PlainReason.of(error))
        }
        // NIO listens again, with its default backlog, on a socket it is
        // given; each socket (still open: its channel has it) takes ours back.
        for descriptor in descriptors where listen(descriptor, backlog) != 0 {
            let reason = PlainReason.errno(errno)
            for channel in channels { try? await channel.close() }
            throw failure(reason)
        }
        return channels
    }

    /// A bound TCP socket with `SO_REUSEADDR` (and `SO_REUSEPORT`),
    /// listening if asked; its message is the reason alone.
    private static func socket(_ address: SocketAddress, reusePort: Bool, listening: Bool, backlog: CInt) throws(SocketError) -> CInt {
        #if canImport(Darwin)
        let descriptor = systemSocket(CInt(address.protocol.rawValue), SOCK_STREAM, 0)
        #else
        let descriptor = systemSocket(CInt(address.protocol.rawValue), CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw SocketError(.listen, PlainReason.errno(errno)) }
        var one: CInt = 1
        let size = socklen_t(MemoryLayout<CInt>.size)
        let ready = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, size) == 0
            && (!reusePort || setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &one, size) == 0)
            && address.withSockAddr { systemBind(descriptor, $0, socklen_t($1)) } == 0
            && (!listening || listen(descriptor, backlog) == 0)
        guard ready else {
            let reason = PlainReason.errno(errno)
            close(descriptor)
            throw SocketError(.listen, reason)
        }
        return descriptor
    }

    /// The port a bound socket has.
    private static func localPort(_ descriptor: CInt) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        // sin_port and sin6_port both follow the 16-bit family.
        return Int(withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) })
    }
}

#if canImport(Glibc)
private let systemBind = Glibc.bind
private let systemSocket = Glibc.socket
#elseif canImport(Musl)
private let systemBind = Musl.bind
private let systemSocket = Musl.socket
#elseif canImport(Darwin)
private let systemBind = Darwin.bind
private let systemSocket = Darwin.socket
#endif
