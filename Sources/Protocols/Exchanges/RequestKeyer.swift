import NIOCore

/// Builds the ``ExchangeKey`` of each request of one connection, in order.
///
/// It is stateful because PostgreSQL's is: a Bind names a statement that a
/// Parse prepared earlier, maybe exchanges before, so the keyer remembers
/// prepared statements' texts. Feed it every request of a connection, the
/// recorded ones when indexing a recording, the live ones when matching.
public struct RequestKeyer: Sendable {
    public let options: KeyOptions
    /// Prepared statements' texts by name (the unnamed one under "").
    private var statements: [String: String] = [:]

    public init(options: KeyOptions = KeyOptions()) {
        self.options = options
    }

    /// The key of one request (the client messages of one exchange).
    public mutating func key(for requests: [Message]) -> ExchangeKey {
        guard let first = requests.first else { return .bytes(ByteBuffer()) }
        switch first.content {
        case .http(let message): return httpKey(message)
        case .redis(let message):
            guard let command = message.command else { return .bytes(first.raw) }
            return .redis(command: command.name, arguments: Array(command.arguments))
        case .postgres: return .postgres(postgresKey(requests.compactMap(\.postgres)))
        case .turn, .truncated:
            var bytes = ByteBuffer()
            for request in requests {
                var raw = request.raw
                bytes.writeBuffer(&raw)
            }
            return .bytes(bytes)
        }
    }

    private func httpKey(_ message: HTTPMessage) -> ExchangeKey {
        let target = message.target ?? ""
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let parameters = QueryString.parameters(query).filter { !options.ignoredQueryParameters.contains($0.name) }
        var body = ByteBuffer()
        if !options.ignoresHTTPBody {
            let contentType = message.header("Content-Type")?.lowercased() ?? ""
            if contentType.hasPrefix("application/x-www-form-urlencoded") {
                body = ByteBuffer(string: QueryString.parameters(String(buffer: message.body)).map { "\($0.name)=\($0.value)" }.joined(separator: "&"))
            } else {
                body = CanonicalJSON.canonical(message.body) ?? message.body
            }
        }
        return .http(method: message.method ?? "", path: path, query: parameters, body: body)
    }

    private mutating func postgresKey(_ messages: [PostgresMessage]) -> PostgresRequestKey {
        guard let first = messages.first else { return .messages([]) }
        switch first.kind {
        case .sslRequest: return .sslRequest
        case .gssEncryptionRequest: return .gssEncryptionRequest
        case .cancelRequest: return .cancelRequest
        case .startup:
            let parameters = first.startupParameters ?? []
            let user = parameters.first { $0.name == "user" }?.value ?? ""
            let database = parameters.first { $0.name == "database" }?.value ?? user
            return .startup(user: user, database: database)
        case .encryptionResponse, .backend, .frontend:
            break
        }
        var executed: [PostgresRequestKey.Statement] = []
        var prepared: [PostgresRequestKey.Statement] = []
        var portals: [String: PostgresRequestKey.Statement] = [:]
        for message in messages {
            if let text = message.queryText {
                executed.append(.init(text: StatementText.normalized(text)))
            } else if let parse = message.parse {
                statements[parse.statement] = StatementText.normalized(parse.query)
                prepared.append(.init(text: StatementText.normalized(parse.query)))
            } else if let bind = message.bind {
                portals[bind.portal] = .init(text: statements[bind.statement] ?? "", parameters: bind.parameters)
            } else if let execute = message.execute, let statement = portals[execute.portal] {
                executed.append(statement)
            } else if let target = message.target, message.frontend == .close, target.kind == UInt8(ascii: "S") {
                statements[target.name] = nil
            }
        }
        let types = messages.compactMap { $0.frontend?.rawValue }
        let extended = !messages.contains { $0.queryText != nil }
        let statements = executed.isEmpty ? prepared : executed
        if !statements.isEmpty {
            return .statements(extended ? statements.map { var statement = $0; statement.messages = types; return statement } : statements)
        }
        return .messages(types)
    }
}
