import NIOCore

/// Generic framing for protocols Tapedeck does not know: a turn is what one
/// side sent until the other side sent something, or until that side paused
/// longer than `turnIdle` (nil: only a change of side ends a turn).
///
/// Unlike the protocol framers, turns depend on the order and times the
/// bytes are fed in, which must be the order and times they were sent.
public struct TurnFramer: MessageFramer {
    public let turnIdle: Duration?
    private var client: StreamBuffer
    private var server: StreamBuffer
    private var current: Side?
    private var lastByteAt = Duration.zero

    /// A framer whose sides' streams start at the given offsets (where another framer stopped).
    public init(turnIdle: Duration? = nil, clientOffset: Int = 0, serverOffset: Int = 0) {
        self.turnIdle = turnIdle
        client = StreamBuffer(startingAt: clientOffset)
        server = StreamBuffer(startingAt: serverOffset)
    }

    public var stop: FramerStop? { nil }

    public mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration) -> [Message] {
        guard bytes.readableBytes > 0 else { return [] }
        var messages: [Message] = []
        if let current, current != side || turnIdle.map({ time - lastByteAt > $0 }) == true, let turn = endTurn(current) {
            messages.append(turn)
        }
        switch side {
        case .client: client.append(bytes, at: time)
        case .server: server.append(bytes, at: time)
        }
        current = side
        lastByteAt = time
        return messages
    }

    public mutating func finish() -> [Message] {
        Side.allCases.compactMap { endTurn($0) }
    }

    public mutating func handOff() -> HandOff {
        HandOff(client: client.handOff(), server: server.handOff())
    }

    private mutating func endTurn(_ side: Side) -> Message? {
        let cut: StreamBuffer.Cut
        switch side {
        case .client:
            guard !client.isEmpty else { return nil }
            cut = client.take(client.count)
        case .server:
            guard !server.isEmpty else { return nil }
            cut = server.take(server.count)
        }
        return Message(side: side, cut, content: .turn)
    }
}
