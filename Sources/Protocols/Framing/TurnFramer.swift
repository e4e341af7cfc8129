import NIOCore

/// Generic framing for protocols Tapedeck does not know: a turn is what one
/// side sent until the other side sent something, or until that side paused
/// longer than `turnIdle` (nil: only a change of side ends a turn).
///
/// Unlike the protocol framers, turns depend on the order and times the
/// bytes are fed in, which must be the order and times they were sent.
public struct TurnFramer: MessageFramer {
    public let turnIdle: Duration?
    private var streams: StreamPair
    private var current: Side?
    private var lastByteAt = Duration.zero

    /// A framer whose sides' streams start at the given offsets (where another framer stopped).
    public init(turnIdle: Duration? = nil, clientOffset: Int = 0, serverOffset: Int = 0) {
        self.turnIdle = turnIdle
        streams = StreamPair(clientOffset: clientOffset, serverOffset: serverOffset)
    }

    public var stop: FramerStop? { nil }

    public mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration) -> [Message] {
        guard bytes.readableBytes > 0 else { return [] }
        var messages: [Message] = []
        if let current, current != side || turnIdle.map({ time - lastByteAt > $0 }) == true {
            messages = streams.takeAll(as: .turn)
        }
        streams.append(bytes, from: side, at: time)
        current = side
        lastByteAt = time
        return messages
    }

    /// The turn still open.
    public mutating func finish() -> [Message] {
        streams.takeAll(as: .turn)
    }

    public mutating func handOff() -> HandOff {
        streams.handOff()
    }
}
