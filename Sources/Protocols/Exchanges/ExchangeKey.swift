import NIOCore

/// What a request is, for matching: two requests with the same key ask the
/// same thing, whatever bytes they differ in (header order, a User-Agent,
/// JSON whitespace, SQL line breaks). Built by ``RequestKeyer``.
public enum ExchangeKey: Sendable, Hashable {
    /// Method, path, query (sorted by name, ignored parameters removed) and
    /// body (JSON in canonical form, a form sorted by name, anything else as sent).
    case http(method: String, path: String, query: [QueryParameter], body: ByteBuffer)
    /// The command name (uppercased) and its arguments as sent.
    case redis(command: String, arguments: [ByteBuffer])
    case postgres(PostgresRequestKey)
    /// A generic turn, or a message no field-wise key applies to: its bytes.
    case bytes(ByteBuffer)

    /// A query parameter: a name and a value, as a header field has them.
    public typealias QueryParameter = HTTPMessage.Field
}

/// The key of a PostgreSQL request.
public enum PostgresRequestKey: Sendable, Hashable {
    case sslRequest
    case gssEncryptionRequest
    case cancelRequest
    /// A login: who, to which database (passwords and nonces are not part of it).
    case startup(user: String, database: String)
    /// What a Query, or an extended-query run, executes: each statement's
    /// text with white space collapsed, with the parameters bound to it.
    case statements([Statement])
    /// Any other request (a lone Sync, Terminate, FunctionCall): its message types.
    case messages([UInt8])

    public struct Statement: Sendable, Hashable {
        public var text: String
        /// Each parameter as sent (text or binary), nil for NULL.
        public var parameters: [ByteBuffer?]
        /// An extended-query exchange's message types in order (`P`arse,
        /// `B`ind, `D`escribe, `E`xecute, `S`ync, …); empty for a simple
        /// Query. The answer's messages follow them (ParseComplete for a
        /// Parse, rows for an Execute), so a Parse alone and a Bind and
        /// Execute of the same statement are different requests.
        public var messages: [UInt8]

        public init(text: String, parameters: [ByteBuffer?] = [], messages: [UInt8] = []) {
            self.text = text
            self.parameters = parameters
            self.messages = messages
        }
    }
}
