import NIOCore

/// A request in a few words for a log line or an error a person reads:
/// `GET /users/7`, `GET k:1`, `SELECT * FROM users WHERE id = $1 …`.
public enum RequestDescription {
    /// At most about `limit` characters; longer texts end in `…`.
    public static func describe(_ requests: [Message], limit: Int = 80) -> String {
        guard let first = requests.first else { return "(nothing)" }
        let text: String
        switch first.content {
        case .http(let message):
            text = "\(message.method ?? "?") \(message.target ?? "")"
        case .redis(let message):
            guard let command = message.command else { return "(reply)" }
            text = command.parts.isEmpty ? "(empty command)" : ([command.name] + command.arguments.map(word)).joined(separator: " ")
        case .postgres:
            text = postgres(requests.compactMap(\.postgres))
        case .turn, .truncated:
            text = printable(Array(requests.flatMap { $0.raw.readableBytesView }.prefix(limit)))
        }
        return shortened(text, to: limit)
    }

    private static func postgres(_ messages: [PostgresMessage]) -> String {
        guard let first = messages.first else { return "(nothing)" }
        switch first.kind {
        case .sslRequest: return "SSLRequest"
        case .gssEncryptionRequest: return "GSSENCRequest"
        case .cancelRequest: return "CancelRequest"
        case .startup:
            let parameters = first.startupParameters ?? []
            return "startup " + parameters.filter { $0.name == "user" || $0.name == "database" }.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
        case .encryptionResponse, .backend, .frontend:
            let texts = messages.compactMap { $0.queryText ?? $0.parse?.query }.map(StatementText.normalized)
            if !texts.isEmpty { return texts.joined(separator: "; ") }
            return messages.compactMap { $0.frontend.map { "\($0)" } }.joined(separator: ", ")
        }
    }

    /// A Redis argument: as is when plain, quoted with escapes otherwise.
    private static func word(_ bytes: ByteBuffer) -> String {
        let raw = Array(bytes.readableBytesView)
        let plain = !raw.isEmpty && raw.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }
        return plain ? String(decoding: raw, as: UTF8.self) : "\"\(printable(raw))\""
    }

    private static func printable(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            switch byte {
            case 0x0A: return "\\n"
            case 0x0D: return "\\r"
            case 0x22: return "\\\""
            case 0x20..<0x7F: return String(UnicodeScalar(byte))
            default: return "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }.joined()
    }

    private static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(limit - 1, 1))) + "…"
    }
}
