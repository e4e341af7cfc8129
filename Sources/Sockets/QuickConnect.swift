#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// A connection made by hand, when it completes at once, and handed to NIO
/// connected: no pending connect, no timer, no wait for writability — the
/// event loop's share of a new session's cost is set up once, not twice.
///
/// Only where finishing at once is the rule and giving up costs the
/// upstream nothing: a Unix socket, whose `connect` succeeds or fails
/// there and then; TCP on loopback, whose handshake the kernel completes
/// before `connect` returns (the peer's answer is processed on the way
/// out). When it is not done at once (a full backlog), the socket is
/// closed — the upstream's program never saw it, as its kernel had not
/// finished the handshake — and the caller connects the usual way.
package enum QuickConnect {
    package enum Outcome {
        /// Connected: the socket is NIO's to register.
        case connected(CInt)
        /// Refused, or another error, there and then.
        case failed(IOError)
        /// Not a quick case, or not done at once: connect the usual way.
        case notQuick
    }

    package static func attempt(_ address: SocketAddress) -> Outcome {
        let isUnix: Bool
        switch address {
        case .unixDomainSocket: isUnix = true
        case .v4, .v6: isUnix = false
        }
        guard isUnix || isLoopback(address) else { return .notQuick }
        #if canImport(Darwin)
        return .notQuick
        #else
        let descriptor = socket(CInt(address.protocol.rawValue), CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failed(IOError(errnoCode: errno, reason: "socket")) }
        if !isUnix {
            var one: CInt = 1
            _ = setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
        }
        let result = address.withSockAddr { connect(descriptor, $0, socklen_t($1)) }
        if result == 0 { return .connected(descriptor) }
        let code = errno
        guard code == EINPROGRESS else {
            close(descriptor)
            // EAGAIN: a Unix listener's backlog is full; the usual way waits for room.
            return code == EAGAIN ? .notQuick : .failed(IOError(errnoCode: code, reason: "connect"))
        }
        var waited = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&waited, 1, 0) == 1 else {
            close(descriptor)
            return .notQuick
        }
        var failure: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else {
            let code = errno
            close(descriptor)
            return .failed(IOError(errnoCode: code, reason: "getsockopt"))
        }
        guard failure == 0 else {
            close(descriptor)
            return .failed(IOError(errnoCode: failure, reason: "connect"))
        }
        return .connected(descriptor)
        #endif
    }

    /// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6.
    package static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
        case .unixDomainSocket:
            return false
        }
    }
}
