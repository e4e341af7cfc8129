import NIOCore

/// Frames Redis's RESP2 and RESP3: commands (arrays of bulk strings or inline
/// lines, pipelined or not) from the client, and every RESP2/RESP3 value from
/// the server (maps, sets, pushes, attributes, big numbers, verbatim
/// strings...). The two sides frame independently; pairing replies with
/// commands (MULTI/EXEC, pub/sub pushes) is the ``ExchangePairer``'s work.
///
/// Written by hand: no RESP library is among Tapedeck's packages, and the
/// framing grammar is a type byte, a CRLF line and, for blobs, a length.
/// RESP3 streamed strings and aggregates (`$?`, `*?`), which Redis never
/// sends, are reported as unsupported.
public struct RESPFramer: MessageFramer {
    public let limits: FramingLimits
    private var streams = StreamPair()
    private var command = RESPCommandReader()
    private var reply = RESPReplyScanner()

    public init(limits: FramingLimits = FramingLimits()) {
        self.limits = limits
    }

    public private(set) var stop: FramerStop?

    public mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration) -> [Message] {
        streams.append(bytes, from: side, at: time)
        var messages: [Message] = []
        while stop == nil, let message = side == .client ? nextCommand() : nextReply() { messages.append(message) }
        return messages
    }

    public mutating func finish() -> [Message] {
        stop == nil ? streams.takeAll(as: .truncated) : []
    }

    public mutating func handOff() -> HandOff {
        streams.handOff()
    }

    private mutating func nextCommand() -> Message? {
        do {
            guard let (command, end) = try command.advance(streams[.client].bytes, limits: limits) else { return nil }
            self.command = RESPCommandReader()
            return Message(side: .client, streams.take(end, from: .client), content: .redis(RESPMessage(kind: .command(command))))
        } catch {
            stop = .failed(error.error(.redis, side: .client, messageOffset: streams[.client].offset))
            return nil
        }
    }

    private mutating func nextReply() -> Message? {
        do {
            guard let end = try reply.advance(streams[.server].bytes, limits: limits), let type = reply.type else { return nil }
            let kind = RESPMessage.Kind.reply(type: type, hasAttribute: reply.hasAttribute)
            reply = RESPReplyScanner()
            return Message(side: .server, streams.take(end, from: .server), content: .redis(RESPMessage(kind: kind)))
        } catch {
            stop = .failed(error.error(.redis, side: .server, messageOffset: streams[.server].offset))
            return nil
        }
    }
}
