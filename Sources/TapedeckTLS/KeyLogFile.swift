import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// A file TLS secrets are appended to in the NSS key log format
/// (`CLIENT_RANDOM …`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET …`), which Wireshark
/// and tshark read to decrypt a capture of the same connections.
///
/// The path may also be a stream — `/dev/stderr`, a FIFO a reader holds
/// open — which is written as it is.
///
/// Threading: safe from any event loop; each line is written whole.
public final class KeyLogFile: Sendable {
    public let path: String
    private let descriptor: NIOLockedValueBox<Int32>

    /// Opens `path` for appending, creating it readable by its owner alone.
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TLSError("cannot open the key log \(path) for writing: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = NIOLockedValueBox(fd)
    }

    deinit {
        descriptor.withLockedValue { fd in
            if fd >= 0 { close(fd) }
        }
    }

    /// What NIOSSL calls with each secret's line (newline included). A
    /// line the key log cannot take (its reader went away, a full disk) is
    /// dropped; the connection goes on.
    public var callback: NIOSSLKeyLogCallback {
        { [descriptor] line in
            let bytes = Array(line.readableBytesView)
            descriptor.withLockedValue { fd in
                guard fd >= 0 else { return }
                if Self.writeAll(bytes, to: fd) == EPIPE {
                    // The reader went away: no more lines.
                    close(fd)
                    fd = -1
                }
            }
        }
    }

    /// Writes `bytes` whole; 0, or the errno that stopped it. A reader
    /// that went away fails it with EPIPE, never SIGPIPE: the signal is
    /// blocked on this thread for the write, and taken if it came.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Int32 {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        defer {
            var pending = sigset_t()
            if sigpending(&pending) == 0, sigismember(&pending, SIGPIPE) == 1, sigismember(&previous, SIGPIPE) == 0 {
                var immediately = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&pipeSignal, nil, &immediately)
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return count < 0 ? errno : EIO }
            written += count
        }
        return 0
    }
}
