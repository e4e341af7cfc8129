/// The session state a request is made in, which decides its answer as much
/// as its bytes do: a matcher only answers a request with a recording made
/// in the same context.
public enum ExchangeContext: Sendable, Hashable {
    /// HTTP and generic turns: requests stand alone.
    case none
    /// The database `SELECT` chose, and whether a MULTI is open (commands are then queued).
    case redis(database: Int, inTransaction: Bool)
    /// The transaction status of the last ReadyForQuery before the request.
    case postgres(PostgresMessage.TransactionStatus)
}
