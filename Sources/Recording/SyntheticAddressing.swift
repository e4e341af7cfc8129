/// The IP addresses and ports a session's frames carry.
package struct FlowAddresses: Hashable, Sendable {
    public var clientAddress: IPAddress
    public var clientPort: UInt16
    public var serverAddress: IPAddress
    public var serverPort: UInt16

    public var isIPv6: Bool { clientAddress.isIPv6 }

    public var client: Endpoint { .ip(clientAddress, port: clientPort) }
    public var server: Endpoint { .ip(serverAddress, port: serverPort) }
}

/// Maps a session's real endpoints to the addresses written in its frames.
///
/// TCP endpoints keep their real address and port. A Unix-socket side gets a
/// stable synthetic address: one per socket path (from a hash of the path),
/// and on the client side one address and port per session id, so no two
/// sessions share a 4-tuple (Wireshark would merge them). The server port of
/// a Unix socket is the port number found in its path (`.s.PGSQL.5432` →
/// 5432, so Wireshark picks the right dissector), else `unixPort`.
///
/// IPv4 is used unless a real endpoint is IPv6; a real IPv4 address paired
/// with an IPv6 one is written IPv4-mapped (`::ffff:a.b.c.d`).
public struct SyntheticAddressing: Hashable, Sendable {
    /// The server port for Unix socket paths that name none.
    public var unixPort: UInt16

    public static let defaultUnixPort: UInt16 = 40000

    public init(unixPort: UInt16 = SyntheticAddressing.defaultUnixPort) {
        self.unixPort = unixPort
    }

    package func addresses(for session: Session) -> FlowAddresses {
        let useIPv6 = session.client.isIPv6 || session.server.isIPv6
        let (clientAddress, clientPort) = address(of: session.client, role: .client, sessionID: session.id, ipv6: useIPv6)
        let (serverAddress, serverPort) = address(of: session.server, role: .server, sessionID: session.id, ipv6: useIPv6)
        return FlowAddresses(clientAddress: clientAddress, clientPort: clientPort, serverAddress: serverAddress, serverPort: serverPort)
    }

    /// The server port a Unix socket at `path` is given.
    public func port(forUnixPath path: String) -> UInt16 {
        let name = path.split(separator: "/").last ?? Substring(path)
        func isDigit(_ character: Character) -> Bool { character.isASCII && character.isNumber }
        let lastDigitRun = name.reversed().drop(while: { !isDigit($0) }).prefix(while: isDigit)
        let digits = String(lastDigitRun.reversed())
        if let port = UInt16(digits), port > 0 { return port }
        return unixPort
    }

    private enum Role { case client, server }

    private func address(of endpoint: Endpoint, role: Role, sessionID: UInt64, ipv6: Bool) -> (IPAddress, UInt16) {
        switch endpoint {
        case .ip(let address, let port):
            if ipv6, case .v4(let v4) = address {
                return (.v6(0, 0xFFFF_0000_0000 | UInt64(v4)), port)
            }
            return (address, port)
        case .host(let name, let port):
            // Not a real address (sessions hold the address connected to):
            // a synthetic one per name, as for a Unix path.
            return (synthetic(naming: name, ipv6: ipv6), port)
        case .unix(let path):
            switch role {
            case .server:
                return (synthetic(naming: path, ipv6: ipv6), port(forUnixPath: path))
            case .client:
                // 2^16 addresses times 28,232 ports before an IPv4 4-tuple repeats.
                let port = UInt16(32768 + (sessionID >> 16) % 28232)
                let address: IPAddress = ipv6
                    ? .v6(Self.ipv6Prefix | 2, sessionID)
                    : .v4(0x7F43_0000 | UInt32(truncatingIfNeeded: sessionID & 0xFFFF))
                return (address, port)
            }
        }
    }

    /// The stable synthetic server address of a Unix path (or a name).
    private func synthetic(naming name: String, ipv6: Bool) -> IPAddress {
        let hash = Self.fnv1a(name)
        return ipv6 ? .v6(Self.ipv6Prefix | 1, hash) : .v4(0x7F55_0000 | UInt32(truncatingIfNeeded: hash & 0xFFFF))
    }

    /// fd54:6170:6564::/48 — a unique local prefix ("Taped").
    private static let ipv6Prefix: UInt64 = 0xFD54_6170_6564_0000

    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return hash
    }
}

extension Endpoint {
    var isIPv6: Bool {
        if case .ip(let address, _) = self { return address.isIPv6 }
        return false
    }
}
