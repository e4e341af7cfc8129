/// A framing failure inside one message, before the framer knows the side
/// and stream offset to put in a ``FramingError``.
struct FramingFailure: Error, Sendable {
    var code: FramingError.Code
    /// Offset of the offending byte from the message's first byte.
    var at: Int
    var reason: String

    init(_ code: FramingError.Code, at: Int, _ reason: String) {
        self.code = code
        self.at = at
        self.reason = reason
    }

    func error(_ protocolKind: ProtocolKind, side: Side, messageOffset: Int) -> FramingError {
        FramingError(code, protocolKind, side: side, offset: messageOffset + at, messageOffset: messageOffset, reason: reason)
    }
}
