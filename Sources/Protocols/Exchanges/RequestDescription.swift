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
            guard !command.parts.isEmpty else { return "(empty command)" }
            // Words past the limit would be cut off: a 64 KiB value is not written out.
            var words = command.name
            for argument in command.arguments {
                guard words.utf8.count <= limit else { break }
                words += " " + word(argument, upTo: limit)
            }
            text = words
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

    /// A Redis argument: as is when plain, quoted with escapes otherwise;
    /// only its first `limit` bytes are written (the rest would be cut off).
    private static func word(_ bytes: ByteBuffer, upTo limit: Int) -> String {
        let view = bytes.readableBytesView
        let plain = !view.isEmpty && view.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }
        let shown = Array(view.prefix(limit))
        return plain ? String(decoding: shown, as: UTF8.self) : "\"\(printable(shown))\""
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
