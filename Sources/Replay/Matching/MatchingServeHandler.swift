import Faults
import Logging
import NIOCore
import PcapFile
import Protocols

/// Answers one live client request by request from every recorded
/// exchange (`replay serve --match request`): the client's bytes are framed
/// in the recording's protocol, each request is looked up in the shared
/// ``ExchangeBook``, and the recorded answer goes out after the recorded
/// server time (÷ `--speed`; under a millisecond, at once), in request
/// order. What cannot be replayed as bytes is answered in the protocol's
/// terms: PostgreSQL encryption requests are refused with `N`, a login is
/// accepted whatever the password, with the recorded server parameters.
///
/// Threading: the channel's event loop.
final class MatchingServeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Answers due less than this far off go out at once.
    static let immediate = Duration.milliseconds(1)

    private let book: ExchangeBook
    private let timing: ReplayTiming
    private let connection: UInt64
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var framer: ConnectionFramer
    private var requests: LiveRequests
    private var keyer: RequestKeyer
    private var state: SessionState
    private let opened = NIODeadline.now()
    /// Client messages framed and not handled yet.
    private var arrived: [Message] = []
    private var handling = false
    private var outbox = ReplyQueue()
    private var timer: Scheduled<Void>?
    private var finished = false
    /// Answers whose HTTP dates were moved, and the second they were moved to.
    private var refreshed: [ExchangeID: (second: Int64, bytes: ByteBuffer)] = [:]

    init(book: ExchangeBook, timing: ReplayTiming, connection: UInt64, logger: Logger) {
        self.book = book
        self.timing = timing
        self.connection = connection
        self.logger = logger
        framer = ConnectionFramer(protocol: book.protocolKind, turnIdle: timing.turnIdle)
        requests = LiveRequests(protocol: book.protocolKind)
        keyer = RequestKeyer(options: KeyOptions())
        state = SessionState(protocol: book.protocolKind)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Lets go of the context: the two would otherwise keep each other, and
    /// the session's bytes, alive after the connection closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        handle(framer.feed(unwrapInboundIn(data), from: .client, at: elapsed))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The client will ask nothing more: frame what it left, answer, then close.
            if !finished { handle(framer.finish()) }
            enqueue(ByteBuffer(), after: .zero, then: .close)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished = true
        timer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        finished = true
        context.close(promise: nil)
    }

    private var elapsed: Duration { .nanoseconds((NIODeadline.now() - opened).nanoseconds) }

    // MARK: Requests

    private func handle(_ messages: [Message]) {
        arrived += messages.filter { $0.side == .client }
        guard !handling else { return }
        handling = true
        defer { handling = false }
        while !arrived.isEmpty, !finished {
            let message = arrived.removeFirst()
            switch message.content {
            case .turn, .truncated:
                cannotFrame()
                return
            case .http, .redis, .postgres:
                if let item = requests.add(message) { answer(item) }
            }
        }
    }

    private func answer(_ item: LiveRequests.Item) {
        switch item {
        case .request(let messages):
            answerFromRecording(messages)
        case .encryptionRequest(let message):
            book.markAnswered(key: keyer.key(for: [message]))
            send(ProtocolAnswer.postgresEncryptionRefused)
        case .startup(let message):
            send(login(message))
        case .goodbye(let message):
            book.markAnswered(key: keyer.key(for: [message]))
            enqueue(ByteBuffer(), after: .zero, then: .close)
        case .ignored(let message):
            logger.debug("ignoring a client message no recorded exchange answers", metadata: ["message": "\(message.content)"])
        }
    }

    private func answerFromRecording(_ messages: [Message]) {
        let probe = ExchangeIndex.Probe(bytes: RecordedExchange.joined(messages), key: keyer.key(for: messages), context: state.context)
        switch book.answer(probe, description: { RequestDescription.describe(messages) }, connection: connection) {
        case .recorded(let recorded, let tier):
            logger.debug("answering from the recording", metadata: [
                "request": "\(RequestDescription.describe(messages))", "match": "\(tier.rawValue)",
                "session.index": "\(recorded.session)", "exchange": "\(recorded.ordinal)",
            ])
            state.apply(requests: messages, outcome: recorded.outline.outcome)
            send(answerBytes(recorded), after: thinkTime(recorded), then: closesAfter(messages, recorded) ? .close : .nothing)
        case .unmatched(let explanation):
            logger.warning("\(explanation)")
            switch book.matching.onUnmatched {
            case .error, .nearest:
                let answer = ProtocolAnswer.unmatched(messages, explanation: explanation, state: state)
                let closes = answer.readableBytes == 0 || messages.first?.http?.keepsAlive == false
                send(answer, then: closes ? .close : .nothing)
            case .close:
                enqueue(ByteBuffer(), after: .zero, then: .close)
            case .reset:
                enqueue(ByteBuffer(), after: .zero, then: .reset)
            }
        }
    }

    /// The recorded answer's bytes, HTTP dates moved to now unless
    /// `--no-refresh`. A refreshed answer is kept for the rest of its second.
    private func answerBytes(_ recorded: RecordedAnswer) -> ByteBuffer {
        guard book.protocolKind == .http, book.matching.refreshDates else { return recorded.bytes }
        let now = Timestamp.now().seconds
        let id = ExchangeID(session: recorded.session, ordinal: recorded.ordinal)
        if let cached = refreshed[id], cached.second == now { return cached.bytes }
        var all = ByteBuffer()
        var bytes = recorded.bytes
        for response in recorded.outline.responses {
            guard let raw = bytes.readSlice(length: min(response.length, bytes.readableBytes)) else { break }
            var moved = HTTPDateRefresh.refresh(raw, by: now - response.at.seconds)
            all.writeBuffer(&moved)
        }
        if refreshed.count > 1024 { refreshed.removeAll(keepingCapacity: true) }
        refreshed[id] = (now, all)
        return all
    }

    private struct ExchangeID: Hashable {
        var session: Int
        var ordinal: Int
    }

    private func thinkTime(_ recorded: RecordedAnswer) -> Duration {
        var think = recorded.outline.thinkTime
        if let maxGap = timing.maxGap { think = min(think, maxGap) }
        let scaled = Duration.nanoseconds(timing.scaled(think.clampedNanoseconds))
        return scaled < Self.immediate ? .zero : scaled
    }

    /// HTTP: the request or the recorded answer ends the connection.
    private func closesAfter(_ messages: [Message], _ recorded: RecordedAnswer) -> Bool {
        guard book.protocolKind == .http else { return false }
        return messages.last?.http?.keepsAlive == false || recorded.outline.closesConnection
    }

    /// A PostgreSQL login answered at once, whatever the password: the
    /// recorded server parameters and key data of the same user's login
    /// (else of any recorded login).
    private func login(_ startup: Message) -> ByteBuffer {
        let key = keyer.key(for: [startup])
        var parameters = PostgresLogin.defaultParameters
        var keyData: (Int32, Int32) = (1, 0)
        guard case .postgres(.startup(let user, let database)) = key,
              let position = book.index.postgresLogin(user: user, database: database) else {
            logger.warning("the recording holds no PostgreSQL login; answering with default server parameters")
            return ProtocolAnswer.postgresLogin(parameters: parameters)
        }
        let recorded = book.index.exchanges[position]
        book.markUsed(position, tier: recorded.key == book.index.indexedKey(key) ? .key : .nearest)
        if let login = recorded.answer.login {
            if !login.parameters.isEmpty { parameters = login.parameters }
            if let processID = login.processID, let secret = login.secretKey { keyData = (processID, secret) }
        }
        logger.info("accepting a PostgreSQL login as the recording's", metadata: ["user": "\(user)", "database": "\(database)"])
        return ProtocolAnswer.postgresLogin(parameters: parameters, processID: keyData.0, secretKey: keyData.1)
    }

    private func cannotFrame() {
        let reason = framer.failure.map { "\($0)" } ?? "the connection became opaque (\(framer.stop.map { "\($0)" } ?? "unknown"))"
        logger.warning("cannot answer this connection request by request: \(reason); closing it")
        book.recordFramingFailure(connection: connection, reason: reason)
        enqueue(ByteBuffer(), after: .zero, then: .close)
        finished = true
    }

    // MARK: Replies

    private func send(_ bytes: ByteBuffer, after delay: Duration = .zero, then: ReplyQueue.After = .nothing) {
        // PostgreSQL's framer follows the server side too: a client's bytes
        // after SSLRequest are framed once the answer is known. HTTP and
        // Redis client messages are framed from the client's bytes alone.
        let released = book.protocolKind == .postgres ? framer.feed(bytes, from: .server, at: elapsed) : []
        enqueue(bytes, after: delay, then: then)
        handle(released)
    }

    private func enqueue(_ bytes: ByteBuffer, after delay: Duration, then: ReplyQueue.After) {
        guard let context else { return }
        let now = NIODeadline.now()
        outbox.append(bytes, due: now + TimeAmount(delay), then: then)
        flushDue(context: context, now: now)
    }

    private func flushDue(context: ChannelHandlerContext, now: NIODeadline) {
        timer?.cancel()
        timer = nil
        while let reply = outbox.takeDue(at: now) {
            if reply.bytes.readableBytes > 0 { context.write(wrapOutboundOut(reply.bytes), promise: nil) }
            switch reply.then {
            case .nothing:
                continue
            case .close:
                finished = true
                context.flush()
                context.closeOnceWritten()
                return
            case .reset:
                finished = true
                context.resetDroppingHeldWrites()
                return
            }
        }
        context.flush()
        if let due = outbox.nextDue {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
                flushDue(context: context, now: .now())
            }
        }
    }
}

@available(*, unavailable)
extension MatchingServeHandler: Sendable {}

/// Answers waiting for their time, in request order: an answer never
/// overtakes an earlier one.
struct ReplyQueue {
    enum After: Sendable {
        case nothing
        case close
        case reset
    }

    struct Reply {
        var bytes: ByteBuffer
        var due: NIODeadline
        var then: After
    }

    private var replies = CircularBuffer<Reply>()

    mutating func append(_ bytes: ByteBuffer, due: NIODeadline, then: After) {
        let notBefore = replies.last.map { max($0.due, due) } ?? due
        replies.append(Reply(bytes: bytes, due: notBefore, then: then))
    }

    mutating func takeDue(at now: NIODeadline) -> Reply? {
        guard let first = replies.first, first.due <= now else { return nil }
        return replies.removeFirst()
    }

    var nextDue: NIODeadline? { replies.first?.due }
}

enum PostgresLogin {
    /// What a client is told when the recording holds no login: enough for psql and libpq.
    static let defaultParameters: [(name: String, value: String)] = [
        ("server_version", "15.0"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"), ("integer_datetimes", "on"), ("standard_conforming_strings", "on"),
    ]
}
