#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Recording

/// What is at a Unix socket path a listener is about to bind.
enum UnixSocketFile {
    /// Makes the path free to bind: removes a socket file nothing answers
    /// on (left by a process that died). Throws when a running process
    /// answers there, or when the path holds something that is not a
    /// socket: neither is Tapedeck's to remove. The error's message is the
    /// reason alone; the caller names the endpoint.
    static func removeIfStale(_ path: String) throws(SocketError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketError(.listen, "the path exists and is not a socket; remove it or choose another path")
        }
        switch probe(path) {
        case .refused:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw SocketError(.listen, "cannot remove the stale socket file: \(PlainReason.errno(errno))")
            }
        case .answered:
            throw SocketError(.listen, "already in use by a running process")
        case .failed(let code):
            throw SocketError(.listen, "cannot tell whether a process listens there: \(PlainReason.errno(code))")
        }
    }

    private enum Probe {
        case answered
        case refused
        case failed(CInt)
    }

    /// Connects to the socket at `path` without waiting: a listener accepts
    /// at once, or has a full backlog (EAGAIN); no listener refuses.
    private static func probe(_ path: String) -> Probe {
        guard let address = try? SocketAddress(unixDomainSocketPath: path) else { return .failed(ENAMETOOLONG) }
        #if canImport(Darwin)
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        if descriptor >= 0 { _ = fcntl(descriptor, F_SETFL, O_NONBLOCK) }
        #else
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard descriptor >= 0 else { return .failed(errno) }
        defer { close(descriptor) }
        let result = address.withSockAddr { pointer, size in connect(descriptor, pointer, socklen_t(size)) }
        if result == 0 { return .answered }
        switch errno {
        case EAGAIN, EINPROGRESS: return .answered
        case ECONNREFUSED, ENOENT: return .refused
        case let code: return .failed(code)
        }
    }
}
