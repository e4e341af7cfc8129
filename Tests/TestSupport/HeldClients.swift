import Foundation
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// Clients that connect at once, each send one line, and hold their
/// connection open for a while, reading: how did each connection end?
public enum HeldClients {
    public enum Outcome: String, Sendable, Equatable {
        /// A read failed with ECONNRESET: the client got an RST.
        case reset
        /// The peer closed (end of stream) before the hold was over.
        case closed
        /// Still open when the hold was over; the client closed it (FIN).
        case held
    }

    public struct Client: Sendable {
        /// The client's local port: its session's client port in a recording.
        public var port: UInt16
        public var outcome: Outcome
        /// What came back before the end.
        public var received: [UInt8]
        /// What it sent: `client N\n`.
        public var sent: [UInt8]
    }

    /// `count` clients of `endpoint` (TCP), each on its own thread, each
    /// holding its connection for `hold` after sending; in client order.
    public static func run(_ endpoint: Endpoint, count: Int, hold: Duration) async throws -> [Client] {
        try await withThrowingTaskGroup(of: (Int, Client).self) { group in
            for index in 0..<count {
                group.addTask {
                    (index, try await BlockingSocket.onThread { try client(index, of: endpoint, hold: hold) })
                }
            }
            var clients: [Int: Client] = [:]
            for try await (index, client) in group { clients[index] = client }
            return (0..<count).map { clients[$0]! }
        }
    }

    private static func client(_ index: Int, of endpoint: Endpoint, hold: Duration) throws -> Client {
        let socket = try BlockingSocket(connectingTo: endpoint)
        let sent = Array("client \(index)\n".utf8)
        try socket.send(sent)
        let deadline = ContinuousClock.now + hold
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            let (seconds, attoseconds) = left.components
            var limit = timeval(tv_sec: Int(seconds), tv_usec: max(1, Int(attoseconds / 1_000_000_000_000)))
            setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[0..<count]
                continue
            }
            if count == 0 {
                return Client(port: socket.localPort ?? 0, outcome: .closed, received: received, sent: sent)
            }
            if errno == ECONNRESET {
                return Client(port: socket.localPort ?? 0, outcome: .reset, received: received, sent: sent)
            }
            guard errno == EAGAIN || errno == EINTR else {
                throw BlockingClient.Failure(description: "client \(index): read failed: \(String(cString: strerror(errno)))")
            }
        }
        return Client(port: socket.localPort ?? 0, outcome: .held, received: received, sent: sent)
    }
}

extension TShark {
    /// Every RST in the capture, by its source and destination port.
    public static func resets(_ path: String) throws -> [(source: UInt16, destination: UInt16)] {
        try run(["-r", path, "-Y", "tcp.flags.reset == 1", "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport"])
            .split(separator: "\n").compactMap { line in
                let ports = line.split(separator: "\t").compactMap { UInt16($0) }
                return ports.count == 2 ? (ports[0], ports[1]) : nil
            }
    }
}
