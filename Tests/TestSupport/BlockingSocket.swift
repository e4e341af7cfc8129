import Foundation
import NIOCore
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// One connected socket for tests, driven with plain blocking calls (every
/// call bounded by the socket's send/receive timeouts). Run it on its own
/// thread (`BlockingSocket.onThread`), never on the Swift concurrency pool.
public final class BlockingSocket: @unchecked Sendable {
    public let fd: Int32
    private var isClosed = false

    /// Connects to `endpoint`; `receiveBufferSize` shrinks SO_RCVBUF (a slow reader).
    public init(connectingTo endpoint: Endpoint, timeout: Duration = .seconds(10), receiveBufferSize: Int32? = nil) throws {
        fd = try BlockingClient.connect(endpoint, timeout: timeout, receiveBufferSize: receiveBufferSize)
    }

    deinit {
        if !isClosed { Glibc.close(fd) }
    }

    /// The local port (TCP) of the connection.
    public var localPort: UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        default:
            return nil
        }
    }

    public func send(_ bytes: [UInt8]) throws {
        try BlockingClient.writeAll(fd, bytes)
    }

    /// `shutdown(SHUT_WR)`: a FIN to the peer.
    public func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Everything until the peer's end of stream; throws on a reset or a timeout.
    public func readToEnd() throws -> [UInt8] {
        try BlockingClient.readToEnd(fd)
    }

    /// Up to `count` bytes; an empty result is the end of stream.
    public func read(upTo count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) }
        guard read >= 0 else { throw BlockingClient.Failure(description: "read failed: \(String(cString: strerror(errno)))") }
        return Array(buffer[0..<read])
    }

    /// Exactly `count` bytes (fewer only at the end of stream).
    public func read(exactly count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        while result.count < count {
            let chunk = try read(upTo: count - result.count)
            if chunk.isEmpty { break }
            result += chunk
        }
        return result
    }

    /// Closes with an RST (SO_LINGER 0). Call it from the socket's one owner thread.
    public func reset() {
        guard !isClosed else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        isClosed = true
        Glibc.close(fd)
    }

    /// Runs `body` on a new thread and returns its result: blocking socket
    /// calls must not occupy the (small) Swift concurrency pool.
    public static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
