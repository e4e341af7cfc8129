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

    /// The socket address of an IP literal or a Unix path, made without a
    /// name lookup; nil for a host name, which only a resolver turns into
    /// addresses (`UpstreamConnector`). Throws for a Unix path longer than
    /// a socket address holds.
    package func socketAddress() throws(SocketError) -> SocketAddress? {
        do {
            switch self {
            case .ip(let address, let port):
                return try SocketAddress(ipAddress: address.description, port: Int(port))
            case .host:
                return nil
            case .unix(let path):
                let length = path.utf8.count
                guard length <= PlainReason.maximumUnixPathBytes else {
                    throw SocketError(.address, "the path is \(length) bytes long; a Unix socket path may have at most \(PlainReason.maximumUnixPathBytes)")
                }
                return try SocketAddress(unixDomainSocketPath: path)
            }
        } catch let error as SocketError {
            throw error
        } catch {
            throw SocketError(.address, PlainReason.of(error))
        }
    }

    /// What a listener binds: an IP literal, `localhost` (127.0.0.1, as it
    /// always was for a listener) or a Unix path. Any other host name is
    /// refused: a listener binds an address of this machine, not a name.
    package func listenable() throws(SocketError) -> Endpoint {
        switch self {
        case .host("localhost", let port):
            return .ip(.loopbackV4, port: port)
        case .host(let name, _):
            throw SocketError(.address, "'\(name)' is a host name; a listener takes an IP address (or localhost, or :PORT) or unix:/path")
        case .ip, .unix:
            return self
        }
    }

    /// The endpoint a listener asked for `self` is bound to: port 0 resolved
    /// to the port the kernel chose.
    package func bound(by channel: Channel) -> Endpoint {
        let asked = (try? listenable()) ?? self
        if case .ip(let address, _) = asked, let port = channel.localAddress?.port {
            return .ip(address, port: UInt16(port))
        }
        return asked
    }
}
