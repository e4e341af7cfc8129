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

/// Turns a host name into the addresses to connect to, in the order to try
/// them.
package protocol HostResolver: Sendable {
    /// Every address (A and AAAA) of `name`, with `port`, in preference
    /// order; throws a `SocketError` with code `.resolve`, whose message
    /// says why in plain words, when there is none.
    func addresses(of name: String, port: UInt16) async throws -> [SocketAddress]
}

/// The system's resolver: `getaddrinfo` (so `/etc/hosts`, DNS and whatever
/// else nsswitch names), run on NIO's thread pool so no event loop waits
/// on it. The addresses keep `getaddrinfo`'s order (RFC 6724), families
/// interleaved as Happy Eyeballs clients do (RFC 8305 §4).
package struct SystemResolver: HostResolver {
    package init() {}

    package func addresses(of name: String, port: UInt16) async throws -> [SocketAddress] {
        let found = try await NIOThreadPool.singleton.runIfActive {
            try Self.lookUp(name, port: port)
        }
        return Self.interleavingFamilies(found)
    }

    private static func lookUp(_ name: String, port: UInt16) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, String(port), &hints, &list)
        guard status == 0, let list else {
            let reason = status == EAI_SYSTEM ? PlainReason.errno(errno) : Self.reason(status)
            throw SocketError(.resolve, reason)
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let raw = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    addresses.append(SocketAddress(raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }, host: name))
                case AF_INET6:
                    addresses.append(SocketAddress(raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }, host: name))
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw SocketError(.resolve, "the name has no IPv4 or IPv6 address") }
        return addresses
    }

    /// `getaddrinfo`'s failures in plain words.
    private static func reason(_ status: Int32) -> String {
        switch status {
        case EAI_NONAME: "no such host is known"
        case EAI_AGAIN: "the name server did not answer (a temporary failure; try again)"
        case EAI_FAIL: "the name server failed"
        case EAI_MEMORY: "out of memory"
        default: String(cString: gai_strerror(status))
        }
    }

    /// The first address of the first family, then alternately one of each
    /// family, keeping each family's own order.
    package static func interleavingFamilies(_ addresses: [SocketAddress]) -> [SocketAddress] {
        guard let first = addresses.first else { return [] }
        func isSameFamily(_ address: SocketAddress) -> Bool { address.protocol == first.protocol }
        var preferred = addresses.filter(isSameFamily)[...]
        var other = addresses.filter { !isSameFamily($0) }[...]
        var ordered: [SocketAddress] = []
        while !preferred.isEmpty || !other.isEmpty {
            if let next = preferred.popFirst() { ordered.append(next) }
            if let next = other.popFirst() { ordered.append(next) }
        }
        return ordered
    }
}
