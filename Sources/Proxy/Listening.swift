#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
import NIOCore
import NIOPosix
import Recording

/// Binds a server bootstrap to an endpoint as every Tapedeck listener does:
/// a stale Unix socket file is replaced and the new one gets `socketMode`.
public func bindListener(_ bootstrap: ServerBootstrap, on endpoint: Endpoint, socketMode: mode_t) async throws -> Channel {
    switch endpoint {
    case .ip(let address, let port):
        return try await bootstrap.bind(host: address.description, port: Int(port)).get()
    case .unix(let path):
        let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        if chmod(path, socketMode) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw ProxyError(message: "cannot set mode \(String(socketMode, radix: 8)) on \(path): \(reason)")
        }
        return channel
    }
}

/// Binds every endpoint in order; on the first failure closes the channels
/// already bound and rethrows it.
public func bindListeners(_ endpoints: [Endpoint], _ bind: (Endpoint) async throws -> Channel) async throws -> [Channel] {
    var bound: [Channel] = []
    do {
        for endpoint in endpoints {
            bound.append(try await bind(endpoint))
        }
    } catch {
        for channel in bound { try? await channel.close() }
        throw error
    }
    return bound
}

/// Closes `channel` as a fault asks: `.fin` once what is queued for it has
/// been written, `.reset` with an RST at once.
public func close(_ channel: Channel, mode: FaultCloseMode) {
    switch mode {
    case .fin:
        channel.writeAndFlush(ByteBuffer()).whenComplete { _ in channel.close(promise: nil) }
    case .reset:
        resetAndClose(channel)
    }
}

extension Endpoint {
    /// The endpoint of a socket address; nil for none, and for an unnamed
    /// (client) Unix socket, whose path is empty.
    public init?(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4)?:
            self = .ip(.v4(UInt32(bigEndian: v4.address.sin_addr.s_addr)), port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6)?:
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self = .ip(IPAddress(ipv6Bytes: bytes[...]), port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket?:
            guard let path = address?.pathname, !path.isEmpty else { return nil }
            self = .unix(path: path)
        case nil:
            return nil
        }
    }
}

extension Endpoint {
    /// The socket address to connect to, made without a name lookup (the
    /// address is a literal): connecting by host name would run a resolver
    /// query for every new connection.
    public func socketAddress() throws -> SocketAddress {
        switch self {
        case .ip(let address, let port):
            return try SocketAddress(ipAddress: address.description, port: Int(port))
        case .unix(let path):
            return try SocketAddress(unixDomainSocketPath: path)
        }
    }
}
