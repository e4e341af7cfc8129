import NIOCore
import PcapFile
import Protocols

/// What the request index keeps of a recorded answer in place of its
/// messages: where its bytes lie in the server's stream, and what a
/// replayer must know of them before sending them — the server's think
/// time, what they do to the session state, whether they end an HTTP
/// connection, the dates to refresh, a PostgreSQL login's parameters.
struct AnswerOutline: Sendable {
    /// One HTTP response of the answer: its length and when it was sent.
    struct Sent: Sendable {
        var length: Int
        var at: Timestamp
    }

    /// Where the answer's first byte lies; nil when the server sent nothing.
    var place: StreamPlace?
    var length: Int
    /// HTTP only: the responses, for moving their dates to now.
    var responses: [Sent]
    var thinkTime: Duration
    var outcome: ExchangeOutcome
    /// HTTP: the final response ends the connection.
    var closesConnection: Bool
    /// A PostgreSQL login: the server parameters and key data it answered with.
    var login: PostgresLoginAnswer?

    /// The outline of `recorded`'s answer, whose first byte lies at `place`.
    init(_ recorded: RecordedExchange, place: StreamPlace?) {
        let responses = recorded.exchange.responses
        self.place = place
        length = responses.reduce(0) { $0 + $1.raw.readableBytes }
        self.responses = responses.first?.http == nil ? [] : responses.map { response in
            Sent(length: response.raw.readableBytes, at: recorded.recordedAt.advanced(by: response.firstByteAt - recorded.exchange.startedAt))
        }
        thinkTime = recorded.thinkTime
        outcome = ExchangeOutcome(responses)
        if let final = responses.last?.http {
            closesConnection = !final.keepsAlive || final.bodyFraming == .untilClose
        } else {
            closesConnection = false
        }
        if case .postgres(.startup) = recorded.key {
            login = PostgresLoginAnswer(responses.compactMap(\.postgres))
        }
    }
}

/// A PostgreSQL login's answer as recorded: the server parameters and
/// the backend key data.
struct PostgresLoginAnswer: Sendable {
    var parameters: [(name: String, value: String)]
    var processID: Int32?
    var secretKey: Int32?

    init(_ responses: [PostgresMessage]) {
        parameters = responses.compactMap(\.parameterStatus)
        if let data = responses.first(where: { $0.backend == .backendKeyData })?.body {
            processID = data.getInteger(at: data.readerIndex, as: Int32.self)
            secretKey = data.getInteger(at: data.readerIndex + 4, as: Int32.self)
        }
    }
}

/// A recorded answer read back for a live request: the exchange as the
/// index keeps it, and the answer's bytes.
struct RecordedAnswer: Sendable {
    let exchange: IndexedExchange
    let bytes: ByteBuffer

    /// The session's index in the recording.
    var session: Int { exchange.session }
    /// The exchange's place in its session.
    var ordinal: Int { exchange.ordinal }
    /// The recorded request, as logs and reports name it.
    var description: String { exchange.description }
    var outline: AnswerOutline { exchange.answer }
}
