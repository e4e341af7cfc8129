import Protocols

/// Masks ready to apply: names in the form they are looked up in, regexes
/// compiled. Built once per server or drive.
struct MaskSet: Sendable {
    let masks: Masks
    /// Lowercased header names.
    let headers: Set<String>
    let query: Set<String>
    let json: [JSONPath]
    /// Masked argument positions (from 1) by uppercase command.
    let redisArguments: [String: Set<Int>]
    let redisReplies: Set<String>
    let client: BytePatterns
    let server: BytePatterns

    init(_ masks: Masks) {
        self.masks = masks
        headers = Set(masks.http.headers.map { $0.lowercased() })
        query = Set(masks.http.query)
        json = masks.http.json
        redisArguments = Dictionary(masks.redis.arguments.map { ($0.command, [$0.position]) }, uniquingKeysWith: { $0.union($1) })
        redisReplies = Set(masks.redis.replies.map { $0.uppercased() })
        client = BytePatterns(masks.bytes.filter { $0.side == .client }.map(\.regex))
        server = BytePatterns(masks.bytes.filter { $0.side == .server }.map(\.regex))
    }

    func patterns(_ side: Side) -> BytePatterns { side == .client ? client : server }

    /// Whether parameter `$position` of a statement with this (normalized) text is masked.
    func masksParameter(_ position: Int, of statement: String) -> Bool {
        masks.postgres.parameters.contains { $0.position == position && ($0.statement == nil || $0.statement == statement) }
    }

    /// Whether a result column is masked in a statement's results (nil: the statement is not known).
    func masksColumn(_ column: String, of statement: String?) -> Bool {
        masks.postgres.columns.contains { $0.column == column && ($0.statement == nil || $0.statement == statement) }
    }

    /// A JSON body without the masked fields; nil when it is not JSON.
    func maskedJSON(_ body: some Collection<UInt8>) -> JSONValue? {
        JSONValue(parsing: body).map { $0.removing(json) }
    }
}
