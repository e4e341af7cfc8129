import NIOCore

/// An incremental, pure framer for both sides of one connection.
///
/// Feed each side's bytes as they were sent, in any chunks: the messages that
/// come out (and their raw bytes) are the same however the bytes are cut, and
/// however the two sides' feeds interleave. Where one side's framing needs
/// the other's (an HTTP response needs its request's method), the framer
/// holds that side's bytes until the other side's arrive; ``finish()``
/// decides what is still held. Times are the caller's (usually the time since
/// the session opened) and only stamp the messages.
///
/// A framer never traps on its input. Once it has stopped (bytes it cannot
/// parse, or an upgrade or encryption that makes the rest opaque), it frames
/// nothing more, and ``handOff()`` gives back every byte it holds so that the
/// caller can frame the rest as generic turns (``ConnectionFramer`` does).
public protocol MessageFramer: Sendable {
    /// Frames `bytes` sent by `side` at `time`; returns the messages (of either side) this completes.
    mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration) -> [Message]
    /// Both sides ended: frames what is held, and gives a truncated message for each incomplete tail.
    mutating func finish() -> [Message]
    /// Why the framer stopped framing, once it has.
    var stop: FramerStop? { get }
    /// Everything held and unframed, per side, as it arrived, with the stream offset it starts at.
    mutating func handOff() -> HandOff
}

/// Why a framer stopped framing a connection.
public enum FramerStop: Sendable, Hashable {
    /// The rest of the connection is not this protocol's to frame.
    case opaque(OpaqueReason)
    /// Bytes the framer cannot parse.
    case failed(FramingError)
}

/// Why the rest of a connection is opaque to its framer.
public enum OpaqueReason: String, Sendable, Hashable {
    /// HTTP 101 Switching Protocols, or a successful CONNECT.
    case upgraded
    /// PostgreSQL SSL or GSS encryption accepted, or TLS from the first byte.
    case encrypted
    /// PostgreSQL CancelRequest: the connection carries nothing else.
    case cancelled
}

/// What a framer held when it stopped, for the generic framer to continue from.
public struct HandOff: Sendable {
    public struct Pending: Sendable {
        /// Stream offset of the first held byte.
        public var streamOffset: Int
        public var chunks: [(bytes: ByteBuffer, time: Duration)]
    }

    public var client: Pending
    public var server: Pending

    public subscript(side: Side) -> Pending {
        side == .client ? client : server
    }
}

extension StreamBuffer {
    /// Empties the buffer into a hand-off record.
    mutating func handOff() -> HandOff.Pending {
        let start = offset
        return HandOff.Pending(streamOffset: start, chunks: takeChunks())
    }
}
