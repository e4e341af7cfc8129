import NIOCore
import PcapFile

/// Which way bytes travel in a session.
public enum Direction: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Client to server (Toxiproxy's "upstream").
    case clientToServer = "client_to_server"
    /// Server to client (Toxiproxy's "downstream").
    case serverToClient = "server_to_client"

    public var reversed: Direction { self == .clientToServer ? .serverToClient : .clientToServer }
    public var description: String { rawValue }
}

/// Something that happened in a session, at the moment the proxy (or the
/// capture) saw it.
public struct SessionEvent: Sendable {
    public enum Kind: Sendable {
        /// Bytes one side sent.
        case data(ByteBuffer)
        /// The sending side shut down its write half (a FIN).
        case halfClose
        /// The sending side reset the connection (an RST).
        case reset
        /// Bytes the capture lost: their count is known, their content is not.
        case gap(bytes: Int)
    }

    public var time: Timestamp
    public var direction: Direction
    public var kind: Kind

    public init(time: Timestamp, direction: Direction, kind: Kind) {
        self.time = time
        self.direction = direction
        self.kind = kind
    }

    /// Bytes one side sent, copied into a buffer of their own.
    public init(time: Timestamp, direction: Direction, copying bytes: UnsafeRawBufferPointer) {
        self.init(time: time, direction: direction, kind: .data(Self.allocator.buffer(bytes: bytes)))
    }

    private static let allocator = ByteBufferAllocator()
}
