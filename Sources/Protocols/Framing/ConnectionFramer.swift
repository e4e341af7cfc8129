import NIOCore

/// Frames one connection in its protocol, and falls back to generic turns
/// for the rest of it when the protocol framer stops: on bytes it cannot
/// parse (``failure`` says where and why), or where the connection becomes
/// opaque (an HTTP upgrade, PostgreSQL encryption).
///
/// It never throws and never traps: every byte fed comes back in exactly one
/// message, in order per side, once ``finish()`` has been called.
public struct ConnectionFramer: Sendable {
    public let protocolKind: ProtocolKind
    public let turnIdle: Duration?
    private var framer: any MessageFramer
    private var fellBack = false

    public init(protocol protocolKind: ProtocolKind, turnIdle: Duration? = nil, limits: FramingLimits = FramingLimits()) {
        self.protocolKind = protocolKind
        self.turnIdle = turnIdle
        switch protocolKind {
        case .http: framer = HTTPFramer(limits: limits)
        case .redis: framer = RESPFramer(limits: limits)
        case .postgres: framer = PostgresFramer(limits: limits)
        case .generic: framer = TurnFramer(turnIdle: turnIdle)
        }
    }

    /// Why the protocol framer stopped, if it did: the rest of the connection is framed as turns.
    public private(set) var stop: FramerStop?

    /// The bytes the protocol framer could not parse, if any.
    public var failure: FramingError? {
        if case .failed(let error) = stop { return error }
        return nil
    }

    /// Frames `bytes` sent by `side` at `time` (time since the session opened); returns the messages this completes.
    public mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration = .zero) -> [Message] {
        var messages = framer.feed(bytes, from: side, at: time)
        fallBackIfStopped(into: &messages)
        return messages
    }

    /// Both sides ended: frames everything still held.
    public mutating func finish() -> [Message] {
        var messages = framer.finish()
        if fallBackIfStopped(into: &messages) { messages += framer.finish() }
        return messages
    }

    /// Frames a whole recorded connection: its chunks in the order they were sent.
    public static func frame(
        _ chunks: some Sequence<(side: Side, bytes: ByteBuffer, time: Duration)>,
        protocol protocolKind: ProtocolKind,
        turnIdle: Duration? = nil,
        limits: FramingLimits = FramingLimits()
    ) -> (messages: [Message], stop: FramerStop?) {
        var framer = ConnectionFramer(protocol: protocolKind, turnIdle: turnIdle, limits: limits)
        var messages: [Message] = []
        for chunk in chunks { messages += framer.feed(chunk.bytes, from: chunk.side, at: chunk.time) }
        messages += framer.finish()
        return (messages, framer.stop)
    }

    /// Once the protocol framer has stopped, hands what it holds to a turn framer, oldest bytes first;
    /// true when it did so now.
    @discardableResult
    private mutating func fallBackIfStopped(into messages: inout [Message]) -> Bool {
        guard !fellBack, let stop = framer.stop else { return false }
        fellBack = true
        self.stop = stop
        let held = framer.handOff()
        var turns = TurnFramer(turnIdle: turnIdle, clientOffset: held.client.streamOffset, serverOffset: held.server.streamOffset)
        let chunks = (held.client.chunks.map { (side: Side.client, $0.bytes, $0.time) } + held.server.chunks.map { (side: Side.server, $0.bytes, $0.time) })
            .enumerated()
            .sorted { ($0.element.2, $0.offset) < ($1.element.2, $1.offset) }
        for (_, chunk) in chunks { messages += turns.feed(chunk.1, from: chunk.side, at: chunk.2) }
        framer = turns
        return true
    }
}
