import NIOCore
import Protocols

/// What the server's messages answering one PostgreSQL request came to,
/// statement by statement: rows (with their columns), a command's tag, an
/// error. Parse, bind and describe acknowledgements, notices and parameter
/// changes are left out; they do not say what a statement did.
struct PostgresResults: Sendable, Hashable {
    enum Result: Sendable, Hashable {
        /// RowDescription's column names, then each DataRow's values
        /// (nil for NULL, the bytes as sent otherwise), and the tag that closed it.
        case rows(columns: [String], rows: [[[UInt8]?]], tag: String?)
        case command(tag: String)
        case error(code: String, message: String)
        case emptyQuery

        /// A few words: `3 rows`, `INSERT 0 1`, `ERROR 42P01: relation "t" does not exist`.
        var brief: String {
            switch self {
            case .rows(_, let rows, _): return "\(rows.count) row\(rows.count == 1 ? "" : "s")"
            case .command(let tag): return tag
            case .error(let code, let message): return "ERROR \(code): \(message)"
            case .emptyQuery: return "empty query"
            }
        }
    }

    var results: [Result] = []

    init(_ messages: [Message]) {
        var open: (columns: [String], rows: [[[UInt8]?]])?
        for message in messages {
            guard let postgres = message.postgres, let type = postgres.backend else { continue }
            switch type {
            case .rowDescription:
                open = (Self.columnNames(postgres.body) ?? [], [])
            case .dataRow, .copyData:
                let values = type == .dataRow ? Self.values(postgres.body) ?? [] : [Array(postgres.body.readableBytesView)]
                if open == nil { open = (type == .copyData ? ["copy"] : [], []) }
                open?.rows.append(values)
            case .commandComplete:
                let tag = postgres.commandTag ?? ""
                if let rows = open {
                    results.append(.rows(columns: rows.columns, rows: rows.rows, tag: tag))
                } else {
                    results.append(.command(tag: tag))
                }
                open = nil
            case .errorResponse:
                if let rows = open { results.append(.rows(columns: rows.columns, rows: rows.rows, tag: nil)) }
                open = nil
                results.append(.error(code: postgres.sqlState ?? "?", message: postgres.primaryMessage ?? ""))
            case .emptyQueryResponse:
                results.append(.emptyQuery)
            case .portalSuspended:
                if let rows = open { results.append(.rows(columns: rows.columns, rows: rows.rows, tag: nil)) }
                open = nil
            default:
                continue
            }
        }
        if let rows = open { results.append(.rows(columns: rows.columns, rows: rows.rows, tag: nil)) }
    }

    /// RowDescription: a count, then per field its name and 18 bytes of type information.
    static func columnNames(_ body: ByteBuffer) -> [String]? {
        var body = body
        guard let count = body.readInteger(as: Int16.self), count >= 0 else { return nil }
        var names: [String] = []
        for _ in 0..<count {
            guard let name = body.readNullTerminatedString(), body.readSlice(length: 18) != nil else { return nil }
            names.append(name)
        }
        return names
    }

    /// DataRow: a count, then per value its length (-1 for NULL) and bytes.
    static func values(_ body: ByteBuffer) -> [[UInt8]?]? {
        var body = body
        return body.readPostgresValues()?.map { $0.map { Array($0.readableBytesView) } }
    }
}
