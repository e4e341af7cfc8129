#if os(Linux)
import Glibc
import NIOCore

extension Channel {
    /// A duplicate (close-on-exec) of this connected socket channel's
    /// descriptor, or nil when it cannot be had for certain.
    ///
    /// NIO has no public getter for a channel's descriptor. Its socket
    /// channels describe themselves as `SocketChannel { BaseSocket { fd=N },
    /// … }`; the number is read from there, duplicated, and the duplicate
    /// is checked to be a connected stream socket with this channel's local
    /// address (and its remote one, when the channel knows it). Anything
    /// unexpected — another description, a mismatch — gives nil, and the
    /// session stays on the NIO path.
    ///
    /// With the duplicate held, closing the channel closes only NIO's
    /// descriptor (NIO's close is `close(2)`, no `shutdown`): the
    /// connection lives on in the duplicate, its peer sees nothing.
    ///
    /// Threading: on the channel's event loop, so the descriptor cannot be
    /// closed and reused meanwhile.
    func duplicatedDescriptor() -> CInt? {
        let description = String(describing: self)
        guard description.hasPrefix("SocketChannel { BaseSocket { fd="),
              let number = description.dropFirst("SocketChannel { BaseSocket { fd=".count).split(separator: " ").first,
              let descriptor = CInt(number), descriptor >= 0
        else { return nil }
        let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { return nil }
        guard Self.isStreamSocket(duplicate),
              let local = localAddress, Self.address(of: duplicate, getsockname).map({ Self.same($0, local) }) == true,
              remoteAddress.map({ remote in Self.address(of: duplicate, getpeername).map { Self.same($0, remote) } == true }) ?? true
        else {
            Glibc.close(duplicate)
            return nil
        }
        return duplicate
    }

    private static func isStreamSocket(_ descriptor: CInt) -> Bool {
        var type: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == CInt(SOCK_STREAM.rawValue)
    }

    private typealias NameCall = (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt

    private static func address(of descriptor: CInt, _ call: NameCall) -> sockaddr_storage? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(descriptor, $0, &length) }
        }
        return result == 0 ? storage : nil
    }

    /// Family, port and address (a Unix socket: its path) are the same.
    private static func same(_ storage: sockaddr_storage, _ address: SocketAddress) -> Bool {
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw -> Bool in
            switch address {
            case .v4(let v4):
                let found = raw.load(as: sockaddr_in.self)
                return found.sin_family == sa_family_t(AF_INET)
                    && found.sin_port == v4.address.sin_port
                    && found.sin_addr.s_addr == v4.address.sin_addr.s_addr
            case .v6(let v6):
                var found = raw.load(as: sockaddr_in6.self)
                var expected = v6.address
                return found.sin6_family == sa_family_t(AF_INET6)
                    && found.sin6_port == expected.sin6_port
                    && withUnsafeBytes(of: &found.sin6_addr) { a in withUnsafeBytes(of: &expected.sin6_addr) { b in a.elementsEqual(b) } }
            case .unixDomainSocket:
                var found = raw.load(as: sockaddr_un.self)
                guard found.sun_family == sa_family_t(AF_UNIX) else { return false }
                let path = withUnsafeBytes(of: &found.sun_path) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                return path == (address.pathname ?? "")
            }
        }
    }
}
#endif
