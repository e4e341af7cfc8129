import NIOCore

/// Answers a mock server writes in the protocol's own terms, when it has no
/// recorded answer for a request or a recorded one cannot be replayed as
/// bytes (a PostgreSQL login): a client then fails with an error that names
/// the problem instead of hanging or seeing a closed connection.
public enum ProtocolAnswer {
    /// SQLSTATE for "no recorded answer": class 58, system error.
    public static let unmatchedSQLState = "58000"

    /// The answer to an unmatched request, for the protocol its messages are in.
    /// `explanation` is one line: what was asked, and the nearest recording.
    public static func unmatched(_ requests: [Message], explanation: String, state: SessionState) -> ByteBuffer {
        switch requests.first?.content {
        case .http(let request): return http(status: 502, reason: "Bad Gateway", explanation: explanation, request: request)
        case .redis: return redisError(explanation)
        case .postgres:
            if requests.first?.postgres?.kind == .sslRequest || requests.first?.postgres?.kind == .gssEncryptionRequest {
                return postgresEncryptionRefused
            }
            let syncs = requests.filter { [.sync, .query, .functionCall].contains($0.postgres?.frontend) }.count
            return postgresError(explanation, readyForQuery: max(syncs, 1), status: state.postgresTransactionStatus)
        case .turn, .truncated, nil: return ByteBuffer()
        }
    }

    /// An HTTP response with a plain-text body (none to HEAD), in the request's HTTP version.
    public static func http(status: Int, reason: String, explanation: String, request: HTTPMessage? = nil) -> ByteBuffer {
        let body = "tapedeck: \(explanation)\n"
        let version = request?.minorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1"
        var head = "\(version) \(status) \(reason)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
        if request?.keepsAlive == false { head += "Connection: close\r\n" }
        head += "\r\n"
        return ByteBuffer(string: request?.method == "HEAD" ? head : head + body)
    }

    /// A RESP error reply: `-ERR tapedeck: …`.
    public static func redisError(_ explanation: String) -> ByteBuffer {
        ByteBuffer(string: "-ERR tapedeck: \(singleLine(explanation))\r\n")
    }

    /// ErrorResponse (severity ERROR, `sqlState`, the message) and then
    /// `readyForQuery` ReadyForQuery messages (one per Sync or Query asked).
    /// Inside a transaction, the status becomes failed, as PostgreSQL's would.
    public static func postgresError(
        _ explanation: String,
        sqlState: String = unmatchedSQLState,
        readyForQuery: Int = 1,
        status: PostgresMessage.TransactionStatus = .idle
    ) -> ByteBuffer {
        var answer = ByteBuffer()
        writePostgres(PostgresMessage.Backend.errorResponse, to: &answer) { body in
            for (code, value) in [("S", "ERROR"), ("V", "ERROR"), ("C", sqlState), ("M", "tapedeck: \(singleLine(explanation))")] {
                body.writeString(code)
                body.writeNullTerminatedString(value)
            }
            body.writeInteger(UInt8(0))
        }
        for _ in 0..<max(readyForQuery, 0) {
            writePostgres(.readyForQuery, to: &answer) { $0.writeInteger((status == .idle ? status : .failed).rawValue) }
        }
        return answer
    }

    /// The answer to SSLRequest or GSSENCRequest when Tapedeck has no TLS to offer.
    public static let postgresEncryptionRefused = ByteBuffer(string: "N")

    /// A login any client accepts: AuthenticationOk, the server parameters
    /// given (recorded ones, so the client sees the same server), BackendKeyData, ReadyForQuery.
    public static func postgresLogin(parameters: [(name: String, value: String)], processID: Int32 = 1, secretKey: Int32 = 0) -> ByteBuffer {
        var answer = ByteBuffer()
        writePostgres(.authentication, to: &answer) { $0.writeInteger(Int32(0)) }
        for parameter in parameters {
            writePostgres(.parameterStatus, to: &answer) { body in
                body.writeNullTerminatedString(parameter.name)
                body.writeNullTerminatedString(parameter.value)
            }
        }
        writePostgres(.backendKeyData, to: &answer) { body in
            body.writeInteger(processID)
            body.writeInteger(secretKey)
        }
        writePostgres(.readyForQuery, to: &answer) { $0.writeInteger(PostgresMessage.TransactionStatus.idle.rawValue) }
        return answer
    }

    private static func writePostgres(_ type: PostgresMessage.Backend, to buffer: inout ByteBuffer, body write: (inout ByteBuffer) -> Void) {
        var body = ByteBuffer()
        write(&body)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(Int32(body.readableBytes + 4))
        buffer.writeBuffer(&body)
    }

    private static func singleLine(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
    }
}
