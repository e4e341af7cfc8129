import Foundation
import NIOCore
import Recording
import Sockets

#if canImport(Glibc)
import Glibc
#endif

/// A plain socket client for tests: connects, sends, optionally half-closes,
/// and reads until the peer's end of stream — with a deadline on every step.
public enum BlockingClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Sends `bytes`, half-closes when asked, and returns everything the peer
    /// sends until it closes (or `timeout` passes, which throws).
    public static func exchange(_ endpoint: Endpoint, send bytes: [UInt8], halfClose: Bool, timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        try await BlockingSocket.onThread {
            let socket = try connect(endpoint, timeout: timeout)
            defer { close(socket) }
            try writeAll(socket, bytes)
            if halfClose { shutdown(socket, Int32(SHUT_WR)) }
            return try readToEnd(socket)
        }
    }

    /// Like `exchange`, but sends on a second thread while reading, so a
    /// peer that answers as it reads (an echo) never stalls on full buffers.
    /// Returns what came back and the connection's local port (TCP).
    public static func duplexExchange(_ endpoint: Endpoint, send bytes: [UInt8], halfClose: Bool = true, timeout: Duration = .seconds(20)) async throws -> (received: [UInt8], localPort: UInt16?) {
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: timeout)
            let sent = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var sendError: Error?
            let writer = Thread {
                do { try socket.send(bytes) } catch { sendError = error }
                if halfClose { socket.shutdownWrite() }
                sent.signal()
            }
            writer.stackSize = 1 << 20
            writer.start()
            let received = Result { try socket.readToEnd() }
            sent.wait()
            if let error = sendError { throw error }
            return (try received.get(), socket.localPort)
        }
    }

    /// A connected socket with send/receive timeouts set.
    public static func connect(_ endpoint: Endpoint, timeout: Duration = .seconds(10), receiveBufferSize: Int32? = nil) throws -> Int32 {
        guard let address = try endpoint.socketAddress() else {
            throw Failure(description: "\(endpoint) is a host name; the blocking client connects to addresses only")
        }
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBufferSize {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let result = address.withSockAddr { pointer, size in Glibc.connect(fd, pointer, socklen_t(size)) }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect to \(endpoint) failed: \(reason)")
        }
        let (seconds, attoseconds) = timeout.components
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Reads until end of stream. Throws on a reset or a timeout.
    public static func readToEnd(_ fd: Int32) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return result }
            guard count > 0 else {
                throw Failure(description: errno == EAGAIN ? "read timed out" : "read failed: \(String(cString: strerror(errno)))")
            }
            result += buffer[0..<count]
        }
    }
}
