import Protocols

/// Groups a live client's messages into requests, as ``ExchangePairer``
/// groups recorded ones, so a live request and a recorded one are keyed
/// alike: HTTP and Redis messages stand alone; a PostgreSQL extended-query
/// run is one request up to its Sync.
struct LiveRequests: Sendable {
    enum Item: Sendable {
        /// A complete request to answer from the recording.
        case request([Message])
        /// PostgreSQL SSLRequest or GSSENCRequest: refused with `N`.
        case encryptionRequest(Message)
        /// A PostgreSQL StartupMessage: answered with a login.
        case startup(Message)
        /// The client says goodbye (Terminate) or cancels (CancelRequest): close.
        case goodbye(Message)
        /// A message that asks nothing here (a stray password message, COPY
        /// data, an empty Redis command).
        case ignored(Message)
    }

    let protocolKind: ProtocolKind
    private var pending: [Message] = []

    init(protocol protocolKind: ProtocolKind) {
        self.protocolKind = protocolKind
    }

    mutating func add(_ message: Message) -> Item? {
        // An empty Redis command (a bare CRLF, which `redis-cli --pipe`
        // sends) gets no reply from Redis, so none here either.
        if let command = message.redis?.command, command.parts.isEmpty { return .ignored(message) }
        guard protocolKind == .postgres, let postgres = message.postgres else { return .request([message]) }
        switch postgres.kind {
        case .sslRequest, .gssEncryptionRequest: return .encryptionRequest(message)
        case .startup: return .startup(message)
        case .cancelRequest, .frontend(.terminate): return .goodbye(message)
        case .frontend(.query), .frontend(.functionCall): return .request([message])
        case .frontend(.sync):
            defer { pending = [] }
            return .request(pending + [message])
        case .frontend(.parse), .frontend(.bind), .frontend(.describe), .frontend(.execute), .frontend(.close), .frontend(.flush):
            pending.append(message)
            return nil
        case .frontend(.authenticationResponse), .frontend(.copyData), .frontend(.copyDone), .frontend(.copyFail), .encryptionResponse, .backend:
            return .ignored(message)
        }
    }
}
