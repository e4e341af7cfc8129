import NIOCore
import Protocols
import Recording

/// One exchange of a session as the page lists it.
struct ExchangeRow: Sendable {
    var ordinal: Int
    /// When its request began, since the session opened.
    var startedAt: Duration
    /// Last request byte to first answer byte; nil when nothing answered.
    var latency: Duration?
    var request: String
    var requestBytes: Int
    var responseBytes: Int
    var offsets: [Int]
    var turn: Bool
}

/// Frames one session in its protocol, as request matching does (the
/// Protocols framers and pairer), and lists its exchanges: requests with
/// their answers for HTTP, Redis and PostgreSQL, turns otherwise.
enum SessionExchanges {
    typealias Chunk = (side: Side, bytes: ByteBuffer, time: Duration)

    /// The protocol the session's first bytes speak; generic when they do not decide.
    static func detect(client: ByteBuffer, server: ByteBuffer) -> ProtocolKind {
        ProtocolKind.detect(clientFirstBytes: client, serverFirstBytes: server) ?? .generic
    }

    /// The exchanges of `chunks` (both sides, in the order they were sent, up to any gap).
    static func rows(_ chunks: [Chunk], protocol kind: ProtocolKind) -> [ExchangeRow] {
        let (messages, _) = ConnectionFramer.frame(chunks, protocol: kind)
        var rows: [ExchangeRow] = []
        for item in ExchangePairer.pair(messages, protocol: kind) {
            guard let exchange = item.exchange, let first = exchange.requests.first, let last = exchange.requests.last else { continue }
            var latency: Duration?
            if let answer = exchange.responses.first {
                latency = max(.zero, answer.firstByteAt - last.lastByteAt)
            }
            let requestBytes = exchange.requests.reduce(0) { $0 + $1.raw.readableBytes }
            let responseBytes = exchange.responses.reduce(0) { $0 + $1.raw.readableBytes }
            let answerStart = exchange.responses.first?.streamOffset ?? -1
            let answerEnd = exchange.responses.last?.streamEndOffset ?? -1
            rows.append(ExchangeRow(
                ordinal: rows.count,
                startedAt: exchange.startedAt,
                latency: latency,
                request: RequestDescription.describe(exchange.requests, limit: 120),
                requestBytes: requestBytes,
                responseBytes: responseBytes,
                offsets: [first.streamOffset, last.streamEndOffset, answerStart, answerEnd],
                turn: first.content == .turn || first.content == .truncated
            ))
        }
        return rows
    }
}
