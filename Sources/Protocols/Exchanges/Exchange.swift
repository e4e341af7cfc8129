/// A request and what the server sent to answer it.
///
/// `requests` holds more than one message where the protocol needs several
/// to ask one thing: PostgreSQL's extended query (Parse, Bind, Describe,
/// Execute, Sync) or its login (StartupMessage and password messages), the
/// client's COPY data, consecutive generic turns.
public struct Exchange: Sendable, Hashable {
    public var requests: [Message]
    /// The server's messages answering `requests`, in order: for HTTP any
    /// interim 1xx and the final response; for Redis one reply (several for
    /// SUBSCRIBE and its kin); for PostgreSQL everything up to and including
    /// ReadyForQuery.
    public var responses: [Message]
    /// The session state the requests were made in.
    public var context: ExchangeContext

    public init(requests: [Message], responses: [Message] = [], context: ExchangeContext = .none) {
        self.requests = requests
        self.responses = responses
        self.context = context
    }

    /// When the first request's first byte was sent.
    public var startedAt: Duration { requests.first?.firstByteAt ?? .zero }
}
