import NIOCore
import Recording

extension Endpoint {
    /// The endpoint of a socket address; nil for none, and for an unnamed
    /// (client) Unix socket, whose path is empty.
    package init?(_ address: SocketAddress?) {
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

    /// The socket address to connect to, made without a name lookup (the
    /// address is a literal): connecting by host name would run a resolver
    /// query for every new connection.
    package func socketAddress() throws -> SocketAddress {
        switch self {
        case .ip(let address, let port):
            return try SocketAddress(ipAddress: address.description, port: Int(port))
        case .unix(let path):
            return try SocketAddress(unixDomainSocketPath: path)
        }
    }

    /// The endpoint a listener asked for `self` is bound to: port 0 resolved
    /// to the port the kernel chose.
    package func bound(by channel: Channel) -> Endpoint {
        if case .ip(let address, _) = self, let port = channel.localAddress?.port {
            return .ip(address, port: UInt16(port))
        }
        return self
    }
}
