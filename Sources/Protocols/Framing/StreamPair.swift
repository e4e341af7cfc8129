import NIOCore

/// Both sides' unframed bytes: what every framer holds.
struct StreamPair: Sendable {
    private var client: StreamBuffer
    private var server: StreamBuffer

    init(clientOffset: Int = 0, serverOffset: Int = 0) {
        client = StreamBuffer(startingAt: clientOffset)
        server = StreamBuffer(startingAt: serverOffset)
    }

    subscript(side: Side) -> StreamBuffer {
        side == .client ? client : server
    }

    mutating func append(_ bytes: ByteBuffer, from side: Side, at time: Duration) {
        switch side {
        case .client: client.append(bytes, at: time)
        case .server: server.append(bytes, at: time)
        }
    }

    /// Cuts `side`'s first `count` held bytes off as one message.
    mutating func take(_ count: Int, from side: Side) -> StreamBuffer.Cut {
        switch side {
        case .client: return client.take(count)
        case .server: return server.take(count)
        }
    }

    /// Each side's held bytes as one message with `content`, client first.
    mutating func takeAll(as content: Message.Content) -> [Message] {
        Side.allCases.compactMap { side in
            self[side].isEmpty ? nil : Message(side: side, take(self[side].count, from: side), content: content)
        }
    }

    mutating func handOff() -> HandOff {
        HandOff(client: client.handOff(), server: server.handOff())
    }
}
