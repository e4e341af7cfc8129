import NIOCore
import PcapFile
import Protocols
import Recording

/// One recorded exchange — a request and the server's answer — with where it
/// was recorded and what it is found by.
public struct RecordedExchange: Sendable {
    /// The session's index in the recording (as `tapedeck inspect` lists it).
    public var session: Int
    /// Its place among the session's exchanges, from 0.
    public var ordinal: Int
    public var exchange: Exchange
    public var key: ExchangeKey
    /// `GET /users/7`, `GET k:1`, `SELECT …`: for logs and reports.
    public var description: String
    /// When the request began, in the recording's time.
    public var recordedAt: Timestamp

    /// Every request message's bytes, in order.
    public var requestBytes: ByteBuffer { Self.joined(exchange.requests) }
    /// The recorded answer's bytes, in order.
    public var responseBytes: ByteBuffer { Self.joined(exchange.responses) }

    /// How long the server took to answer: from the request's last byte to the answer's first.
    public var thinkTime: Duration {
        guard let last = exchange.requests.last, let first = exchange.responses.first else { return .zero }
        return max(.zero, first.firstByteAt - last.lastByteAt)
    }

    /// The messages' bytes as one buffer: a single message's own (no copy).
    static func joined(_ messages: [Message]) -> ByteBuffer {
        if messages.count == 1 { return messages[0].raw }
        var all = ByteBuffer()
        all.reserveCapacity(messages.reduce(0) { $0 + $1.raw.readableBytes })
        for message in messages {
            var raw = message.raw
            all.writeBuffer(&raw)
        }
        return all
    }
}

/// A recording framed in its protocol: every session's exchanges, in recorded order.
public struct RecordedConversations: Sendable {
    public var protocolKind: ProtocolKind
    /// Every exchange of every session, ordered by when its request began.
    public var exchanges: [RecordedExchange]
    /// Exchanges per session index, for "partly used" reports.
    public var exchangeCounts: [Int: Int]
    /// Sessions whose bytes the protocol framer could not parse past some
    /// point (the rest was paired as turns): index and the framer's words.
    public var framingFailures: [(session: Int, reason: String)]

    /// Frames each script in `protocolKind` (detected from the recording's
    /// first bytes when nil) and pairs its messages into exchanges.
    public init(scripts: [SessionScript], protocol protocolKind: ProtocolKind? = nil, turnIdle: Duration? = nil, keyOptions: KeyOptions = KeyOptions()) {
        let kind = protocolKind ?? Self.detect(scripts)
        self.protocolKind = kind
        var exchanges: [RecordedExchange] = []
        var counts: [Int: Int] = [:]
        var failures: [(Int, String)] = []
        for script in scripts {
            let framed = Self.exchanges(of: script, protocol: kind, turnIdle: turnIdle, keyOptions: keyOptions)
            exchanges += framed.exchanges
            failures += framed.failures.map { (script.session.index, $0) }
            counts[script.session.index] = framed.exchanges.count
        }
        self.exchanges = exchanges.enumerated()
            .sorted { ($0.element.recordedAt, $0.offset) < ($1.element.recordedAt, $1.offset) }
            .map(\.element)
        self.exchangeCounts = counts
        self.framingFailures = failures
    }

    /// One session's exchanges, in its order, and why it could be framed
    /// only in part (the framer's words, a gap in the capture). The same
    /// script always gives the same exchanges: the request index frames a
    /// session again to answer from it.
    static func exchanges(
        of script: SessionScript,
        protocol kind: ProtocolKind,
        turnIdle: Duration?,
        keyOptions: KeyOptions
    ) -> (exchanges: [RecordedExchange], failures: [String]) {
        let (messages, stop) = ConnectionFramer.frame(script.chunksBeforeFirstGap, protocol: kind, turnIdle: turnIdle)
        var failures: [String] = []
        if case .failed(let error) = stop { failures.append("\(error)") }
        if let gap = script.firstGap, case .gap(let bytes) = gap.step.action {
            failures.append("the capture lost \(bytes) bytes at offset \(gap.streamOffset) of the \(gap.step.direction == .clientToServer ? "client's" : "server's") stream; its exchanges after that are not answered")
        }
        var keyer = RequestKeyer(options: keyOptions)
        var exchanges: [RecordedExchange] = []
        for item in ExchangePairer.pair(messages, protocol: kind) {
            guard let exchange = item.exchange, !exchange.requests.isEmpty else { continue }
            exchanges.append(RecordedExchange(
                session: script.session.index,
                ordinal: exchanges.count,
                exchange: exchange,
                key: keyer.key(for: exchange.requests),
                description: RequestDescription.describe(exchange.requests),
                recordedAt: script.session.opened.advanced(by: exchange.startedAt)
            ))
        }
        return (exchanges, failures)
    }

    /// The protocol of the first session whose first bytes decide it; generic when none does.
    public static func detect(_ scripts: [SessionScript]) -> ProtocolKind {
        detect(count: scripts.count) { position, direction in scripts[position].firstBytes(direction, upTo: ProtocolKind.requestLineLimit) }
    }

    /// The protocol of the first session whose first bytes decide it (see
    /// ``detect(_:)``); only those bytes are read.
    public static func detect(in sessions: some SessionScriptSource) throws -> ProtocolKind {
        try detect(count: sessions.count) { position, direction in try sessions.firstBytes(at: position, direction, upTo: ProtocolKind.requestLineLimit) }
    }

    private static func detect(count: Int, firstBytes: (_ position: Int, Direction) throws -> ByteBuffer) rethrows -> ProtocolKind {
        for position in 0..<count {
            let client = try firstBytes(position, .clientToServer)
            let server = try firstBytes(position, .serverToClient)
            if let kind = ProtocolKind.detect(clientFirstBytes: client, serverFirstBytes: server) { return kind }
        }
        return .generic
    }
}

extension SessionScript {
    /// The data steps as a framer takes them (side, bytes, time since the
    /// session opened), up to the first bytes the capture lost: past a gap
    /// a stream cannot be framed.
    var chunksBeforeFirstGap: [(side: Side, bytes: ByteBuffer, time: Duration)] {
        var chunks: [(side: Side, bytes: ByteBuffer, time: Duration)] = []
        for step in steps {
            switch step.action {
            case .data(let buffer): chunks.append((step.direction == .clientToServer ? .client : .server, buffer, .nanoseconds(step.offset)))
            case .gap: return chunks
            case .halfClose, .reset: continue
            }
        }
        return chunks
    }

    /// Up to `count` of the first bytes one side sent.
    func firstBytes(_ direction: Direction, upTo count: Int) -> ByteBuffer {
        var bytes = ByteBuffer()
        for step in steps where step.direction == direction {
            guard case .data(var buffer) = step.action else { continue }
            if let slice = buffer.readSlice(length: min(buffer.readableBytes, count - bytes.readableBytes)) {
                var slice = slice
                bytes.writeBuffer(&slice)
            }
            if bytes.readableBytes >= count { break }
        }
        return bytes
    }
}
