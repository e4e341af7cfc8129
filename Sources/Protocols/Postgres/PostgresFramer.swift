import NIOCore

/// Frames PostgreSQL protocol v3: the startup phase (SSLRequest and
/// GSSENCRequest with their one-byte answers, StartupMessage,
/// CancelRequest), then typed messages both ways: authentication (SASL
/// included), simple and extended query, COPY both ways, notices and
/// notifications.
///
/// Written by hand: PostgresNIO's message decoders are internal to it, and
/// the framing is a type byte and a length. After an encryption request the
/// client's bytes wait for the server's answer: `N` and the client sends a
/// StartupMessage next; `S` or `G` and the rest of the connection is
/// encrypted, so opaque. A client that starts with TLS at once (PostgreSQL
/// 17's direct SSL) is opaque from its first byte.
public struct PostgresFramer: MessageFramer, InterdependentSides {
    /// PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
    static let maximumStartupLength = 10_000

    private enum ClientPhase: Sendable {
        case startup
        case awaitingEncryptionAnswer
        case regular
    }

    private enum ServerPhase: Sendable {
        case startup
        /// The server accepted encryption: nothing more of it is framed.
        case encrypted
        case regular
    }

    public let limits: FramingLimits
    var streams = StreamPair()
    private var clientPhase = ClientPhase.startup
    private var serverPhase = ServerPhase.startup
    /// Encryption answers the server gave that the client side has not reached yet.
    private var encryptionAnswers: [UInt8] = []
    var finishing = false
    public private(set) var stop: FramerStop?

    public init(limits: FramingLimits = FramingLimits()) {
        self.limits = limits
    }

    public mutating func finish() -> [Message] {
        let messages = pumpFinishing()
        if stop == nil, serverPhase == .encrypted { stop = .opaque(.encrypted) }
        return stop == nil ? messages + streams.takeAll(as: .truncated) : messages
    }

    func canFrame(_ side: Side) -> Bool {
        side == .client || serverPhase != .encrypted
    }

    mutating func next(_ side: Side) -> Message? {
        let messageOffset = streams[side].offset
        do {
            return side == .client ? try nextClientMessage() : try nextServerMessage()
        } catch {
            stop = .failed(error.error(.postgres, side: side, messageOffset: messageOffset))
            return nil
        }
    }

    private mutating func nextClientMessage() throws(FramingFailure) -> Message? {
        switch clientPhase {
        case .awaitingEncryptionAnswer:
            guard !encryptionAnswers.isEmpty || finishing else { return nil }
            let answer = encryptionAnswers.isEmpty ? UInt8(ascii: "N") : encryptionAnswers.removeFirst()
            guard answer == UInt8(ascii: "N") else {
                stop = .opaque(.encrypted)
                return nil
            }
            clientPhase = .startup
            return try nextClientMessage()
        case .startup:
            let client = streams[.client]
            if client.byte(at: 0) == 0x16 {
                stop = .opaque(.encrypted)
                return nil
            }
            guard let length = client.integer(at: 0, as: Int32.self) else { return nil }
            guard (8...PostgresFramer.maximumStartupLength).contains(Int(length)) else {
                throw FramingFailure(.overLimit, at: 0, "startup message length \(length) is outside 8...\(PostgresFramer.maximumStartupLength)")
            }
            guard client.count >= Int(length), let code = client.integer(at: 4, as: UInt32.self) else { return nil }
            let expectedLength = [PostgresMessage.sslRequestCode: 8, PostgresMessage.gssEncryptionRequestCode: 8, PostgresMessage.cancelRequestCode: 16][code]
            if let expectedLength, Int(length) != expectedLength {
                throw FramingFailure(.malformed, at: 0, "request code \(code) with length \(length), not \(expectedLength)")
            }
            let kind: PostgresMessage.Kind
            switch code {
            case PostgresMessage.sslRequestCode:
                kind = .sslRequest
                clientPhase = .awaitingEncryptionAnswer
            case PostgresMessage.gssEncryptionRequestCode:
                kind = .gssEncryptionRequest
                clientPhase = .awaitingEncryptionAnswer
            case PostgresMessage.cancelRequestCode:
                kind = .cancelRequest
            default:
                guard code >> 16 == 3 else { throw FramingFailure(.unsupported, at: 4, "protocol version \(code >> 16).\(code & 0xFFFF) is not 3") }
                kind = .startup(protocolVersion: code)
                clientPhase = .regular
            }
            let message = take(Int(length), bodyFrom: 8, from: .client, kind: kind)
            if kind == .cancelRequest { stop = .opaque(.cancelled) }
            return message
        case .regular:
            return try nextTyped(from: .client)
        }
    }

    private mutating func nextServerMessage() throws(FramingFailure) -> Message? {
        if serverPhase == .startup, let first = streams[.server].byte(at: 0), [UInt8(ascii: "N"), UInt8(ascii: "S"), UInt8(ascii: "G")].contains(first) {
            encryptionAnswers.append(first)
            if first != UInt8(ascii: "N") { serverPhase = .encrypted }
            return take(1, bodyFrom: 1, from: .server, kind: .encryptionResponse(first))
        }
        guard let message = try nextTyped(from: .server) else { return nil }
        serverPhase = .regular
        return message
    }

    /// A type byte, a length that counts itself, and the body.
    private mutating func nextTyped(from side: Side) throws(FramingFailure) -> Message? {
        let buffer = streams[side]
        guard let type = buffer.byte(at: 0) else { return nil }
        let kind: PostgresMessage.Kind
        switch side {
        case .client:
            guard let frontend = PostgresMessage.Frontend(rawValue: type) else {
                throw FramingFailure(.malformed, at: 0, "byte 0x\(String(type, radix: 16)) is not a frontend message type")
            }
            kind = .frontend(frontend)
        case .server:
            guard let backend = PostgresMessage.Backend(rawValue: type) else {
                throw FramingFailure(.malformed, at: 0, "byte 0x\(String(type, radix: 16)) is not a backend message type")
            }
            kind = .backend(backend)
        }
        guard let length = buffer.integer(at: 1, as: Int32.self) else { return nil }
        guard length >= 4 else { throw FramingFailure(.malformed, at: 1, "message length \(length) is under 4") }
        guard Int(length) <= limits.maximumDeclaredBytes else {
            throw FramingFailure(.overLimit, at: 1, "message length \(length) is over the \(limits.maximumDeclaredBytes)-byte limit")
        }
        guard buffer.count >= 1 + Int(length) else { return nil }
        return take(1 + Int(length), bodyFrom: 5, from: side, kind: kind)
    }

    private mutating func take(_ count: Int, bodyFrom bodyStart: Int, from side: Side, kind: PostgresMessage.Kind) -> Message {
        let cut = streams.take(count, from: side)
        let body = cut.raw.getSlice(at: cut.raw.readerIndex + bodyStart, length: count - bodyStart) ?? ByteBuffer()
        return Message(side: side, cut, content: .postgres(PostgresMessage(kind: kind, body: body)))
    }
}
