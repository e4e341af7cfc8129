import NIOCore

/// Follows the session state that decides answers, exchange by exchange:
/// Redis's selected database and open MULTI, PostgreSQL's transaction
/// status. The pairer fills each exchange's context with it; a replayer
/// keeps one per live connection and applies what it answered.
public struct SessionState: Sendable, Hashable {
    public let protocolKind: ProtocolKind
    public private(set) var redisDatabase = 0
    public private(set) var redisInTransaction = false
    /// A SELECT queued inside MULTI, applied by EXEC.
    private var redisQueuedDatabase: Int?
    public private(set) var postgresTransactionStatus = PostgresMessage.TransactionStatus.idle

    public init(protocol protocolKind: ProtocolKind) {
        self.protocolKind = protocolKind
    }

    /// The context a request made now is made in.
    public var context: ExchangeContext {
        switch protocolKind {
        case .redis: return .redis(database: redisDatabase, inTransaction: redisInTransaction)
        case .postgres: return .postgres(postgresTransactionStatus)
        case .http, .generic: return .none
        }
    }

    /// Moves the state past one answered exchange.
    public mutating func apply(_ exchange: Exchange) {
        apply(requests: exchange.requests, outcome: ExchangeOutcome(exchange.responses))
    }

    /// Moves the state past requests answered as `outcome` says.
    public mutating func apply(requests: [Message], outcome: ExchangeOutcome) {
        switch protocolKind {
        case .redis:
            guard let command = requests.first?.redis?.command else { return }
            applyRedis(command, failed: outcome.failed)
        case .postgres:
            if let status = outcome.transactionStatus {
                postgresTransactionStatus = status
            }
        case .http, .generic:
            break
        }
    }

    private mutating func applyRedis(_ command: RESPCommand, failed: Bool) {
        guard !failed else { return }
        let database = command.arguments.first.flatMap { Int(String(buffer: $0)) }
        switch command.name {
        case "SELECT" where database != nil:
            if redisInTransaction { redisQueuedDatabase = database } else { redisDatabase = database ?? redisDatabase }
        case "MULTI":
            redisInTransaction = true
        case "EXEC":
            redisDatabase = redisQueuedDatabase ?? redisDatabase
            fallthrough
        case "DISCARD":
            redisInTransaction = false
            redisQueuedDatabase = nil
        case "RESET":
            redisDatabase = 0
            redisInTransaction = false
            redisQueuedDatabase = nil
        default:
            break
        }
    }
}

/// What an answer did to the session state, read from its messages: kept
/// in place of them where the answer's bytes wait on disk.
public struct ExchangeOutcome: Sendable, Hashable {
    /// Redis: the first reply is an error (a failed SELECT selects nothing).
    public var failed: Bool
    /// PostgreSQL: the transaction status of the last ReadyForQuery.
    public var transactionStatus: PostgresMessage.TransactionStatus?

    public init(_ responses: [Message]) {
        failed = responses.first?.redis?.replyType?.isError ?? false
        transactionStatus = responses.last(where: { $0.postgres?.backend == .readyForQuery })?.postgres?.transactionStatus
    }
}
