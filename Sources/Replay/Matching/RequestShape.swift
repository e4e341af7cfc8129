import NIOCore
import Protocols

/// What a request asks, without the values it asks it for: the HTTP route,
/// the Redis command, the SQL statement with its literals and parameters
/// taken out. `--on-unmatched nearest` answers a request with a recorded
/// exchange of the same shape, so a load tool that asks for random keys or
/// account ids still gets answers of the right form.
enum RequestShape: Sendable, Hashable {
    case http(method: String, path: String)
    case redis(command: String)
    case postgres([String])

    /// Nil where a request has no shape apart from its bytes (generic turns).
    init?(_ key: ExchangeKey) {
        switch key {
        case .http(let method, let path, _, _): self = .http(method: method, path: path)
        case .redis(let command, _): self = .redis(command: command)
        case .postgres(.statements(let statements)):
            // The messages shape the answer as much as the statement does.
            self = .postgres(statements.map { StatementShape.of($0.text) } + [statements.messageTypes])
        case .postgres(let other): self = .postgres(["\(other)"])
        case .bytes: return nil
        }
    }
}

/// A statement's text with its literals replaced by `?`, the way
/// pg_stat_statements groups queries: `… WHERE aid = 4711` and
/// `… WHERE aid = 17` have one shape.
enum StatementShape {
    static func of(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        func isWordByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "'") {
                // A string literal; '' inside it is a quote.
                index += 1
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "'") {
                        if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index += 1
                out.append(UInt8(ascii: "?"))
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), out.last.map({ !isWordByte($0) }) ?? true {
                while index < bytes.count, isWordByte(bytes[index]) || bytes[index] == UInt8(ascii: ".") { index += 1 }
                out.append(UInt8(ascii: "?"))
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// How a live request differs from a recorded one, in a few words:
/// `path /c, recorded /a`, `arguments k9, recorded k1`.
enum KeyDifference {
    static func describe(live: ExchangeKey, recorded: ExchangeKey) -> String {
        switch (live, recorded) {
        case (.http(let method, let path, let query, let body), .http(let recordedMethod, let recordedPath, let recordedQuery, let recordedBody)):
            var parts: [String] = []
            if method != recordedMethod { parts.append("method \(method), recorded \(recordedMethod)") }
            if path != recordedPath { parts.append("path \(path), recorded \(recordedPath)") }
            if query != recordedQuery {
                let names = Set(query.map(\.name)).symmetricDifference(recordedQuery.map(\.name))
                let changed = query.filter { parameter in recordedQuery.contains { $0.name == parameter.name && $0.value != parameter.value } }.map(\.name)
                parts.append("query differs in " + (names.union(changed)).sorted().joined(separator: ", "))
            }
            if body != recordedBody { parts.append("body differs (\(body.readableBytes) bytes, recorded \(recordedBody.readableBytes))") }
            return parts.isEmpty ? "same request" : parts.joined(separator: "; ")
        case (.redis(let command, let arguments), .redis(let recordedCommand, let recordedArguments)):
            if command != recordedCommand { return "command \(command), recorded \(recordedCommand)" }
            // A long argument is indexed as a marker and its digest: shown as what it stands for.
            let word = { (value: ByteBuffer) in
                ExchangeKey.isCompacted(value) ? "(a value over \(ExchangeKey.indexedValueLimit) bytes)" : String(buffer: value)
            }
            let words = { (list: [ByteBuffer]) in list.map(word).joined(separator: " ") }
            return "arguments \(words(arguments)), recorded \(words(recordedArguments))"
        case (.postgres(.statements(let statements)), .postgres(.statements(let recordedStatements))):
            if statements.map(\.text) != recordedStatements.map(\.text) {
                return statements.map { StatementShape.of($0.text) } == recordedStatements.map { StatementShape.of($0.text) }
                    ? "literals differ" : "statement differs"
            }
            if statements.messageTypes != recordedStatements.messageTypes {
                let shown = { (text: String) in text.isEmpty ? "a simple Query" : text.map(String.init).joined(separator: " ") }
                return "messages \(shown(statements.messageTypes)), recorded \(shown(recordedStatements.messageTypes))"
            }
            return "bound parameters differ"
        case (.bytes(let bytes), .bytes(let recordedBytes)):
            let prefix = zip(bytes.readableBytesView, recordedBytes.readableBytesView).prefix { $0 == $1 }.count
            return "bytes differ from offset \(prefix)"
        default:
            return "another kind of request"
        }
    }
}

extension [PostgresRequestKey.Statement] {
    /// The exchange's extended-query message types as letters (`PBDES`);
    /// empty for a simple Query. Every statement of an exchange holds the same.
    var messageTypes: String { String(decoding: first?.messages ?? [], as: UTF8.self) }
}
