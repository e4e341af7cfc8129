/// Bytes a framer cannot parse: where, and why.
///
/// A framer that throws this has stopped for the connection; the caller
/// (``ConnectionFramer`` does it) frames the rest of the connection as generic
/// turns. `description` is one line for a log, e.g.
/// `postgres: client byte 8: message length 2147483647 is over the 1073741824-byte limit (message starts at byte 8)`.
public struct FramingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The bytes are not the protocol's syntax (a bad type byte, a missing CRLF, a non-number length).
        case malformed
        /// A length or count is negative, overflows, or is over a ``FramingLimits`` bound.
        case overLimit
        /// Valid syntax the framer does not follow (HTTP/2, RESP3 streamed strings, a PostgreSQL protocol version other than 3).
        case unsupported
    }

    public var code: Code
    public var protocolKind: ProtocolKind
    public var side: Side
    /// Offset in the side's byte stream of the first byte that could not be parsed.
    public var offset: Int
    /// Offset in the side's byte stream where the message holding that byte starts.
    public var messageOffset: Int
    public var reason: String

    public init(_ code: Code, _ protocolKind: ProtocolKind, side: Side, offset: Int, messageOffset: Int, reason: String) {
        self.code = code
        self.protocolKind = protocolKind
        self.side = side
        self.offset = offset
        self.messageOffset = messageOffset
        self.reason = reason
    }

    public var description: String {
        "\(protocolKind): \(side) byte \(offset): \(reason) (message starts at byte \(messageOffset))"
    }
}
