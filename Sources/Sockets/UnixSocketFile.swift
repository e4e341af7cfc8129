#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
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
        switch isListedAsListening(path) ? .answered : probe(path) {
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

    /// True when Linux lists a socket listening on `path` in this network
    /// namespace (`/proc/net/unix`: flag `__SO_ACCEPTCON`, the path it was
    /// bound to). Asking the list first spares a live listener the probe's
    /// connection, which it would take for a client (and a proxy would
    /// record). False elsewhere, and for a listener the list does not show
    /// (another namespace, the path spelt otherwise): the probe decides.
    private static func isListedAsListening(_ path: String) -> Bool {
        guard let list = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return false }
        let wanted = canonical(path)
        for line in list.split(separator: "\n").dropFirst() {
            // Num RefCount Protocol Flags Type St Inode Path
            let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
            guard fields.count == 8, fields[3] == "00010000" else { continue }
            if canonical(String(fields[7])) == wanted { return true }
        }
        return false
    }

    /// `path` with its directory's symbolic links and `.`/`..` resolved.
    private static func canonical(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let resolved = realpath(directory, nil) else { return path }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return (base.hasSuffix("/") ? base : base + "/") + name
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
