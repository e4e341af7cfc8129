import NIOCore

/// One protocol message one side sent, with its exact bytes.
///
/// `raw` is byte-exact: a replayer resends it verbatim, and the raw bytes of
/// all of a side's messages, in order, are everything that side sent. The
/// parsed `content` is a reading of those bytes, never a rewrite of them.
public struct Message: Sendable, Hashable {
    /// What a message is, as far as its framer could tell.
    public enum Content: Sendable, Hashable {
        case http(HTTPMessage)
        case redis(RESPMessage)
        case postgres(PostgresMessage)
        /// Bytes of a generic turn: a protocol Tapedeck does not know, the
        /// opaque rest of an upgraded or encrypted connection, or the rest of
        /// a connection a framer could not parse.
        case turn
        /// Bytes the stream ended in the middle of a message with.
        case truncated
    }

    public var side: Side
    public var raw: ByteBuffer
    /// Offset of `raw`'s first byte in its side's stream.
    public var streamOffset: Int
    /// When the message's first byte arrived, as given to the framer (time since the session opened).
    public var firstByteAt: Duration
    /// When its last byte arrived.
    public var lastByteAt: Duration
    public var content: Content

    public init(side: Side, raw: ByteBuffer, streamOffset: Int, firstByteAt: Duration = .zero, lastByteAt: Duration = .zero, content: Content) {
        self.side = side
        self.raw = raw
        self.streamOffset = streamOffset
        self.firstByteAt = firstByteAt
        self.lastByteAt = lastByteAt
        self.content = content
    }

    init(side: Side, _ cut: StreamBuffer.Cut, content: Content) {
        self.init(side: side, raw: cut.raw, streamOffset: cut.streamOffset, firstByteAt: cut.firstByteAt, lastByteAt: cut.lastByteAt, content: content)
    }

    /// Offset one past `raw`'s last byte in its side's stream.
    public var streamEndOffset: Int { streamOffset + raw.readableBytes }

    public var http: HTTPMessage? {
        if case .http(let message) = content { return message }
        return nil
    }

    public var redis: RESPMessage? {
        if case .redis(let message) = content { return message }
        return nil
    }

    public var postgres: PostgresMessage? {
        if case .postgres(let message) = content { return message }
        return nil
    }
}
