import NIOCore
import Protocols

/// One way two recordings of an exchange differ: two runs of one scenario
/// (`tapedeck noise`), or a recorded answer and a live one (`replay drive`).
/// `a` is the first (the recording), `b` the second (the other run, the
/// live server); nil where one has no such thing.
enum Variation: Sendable, Hashable {
    /// An HTTP header field's values (all of them, joined by ", ").
    case httpHeader(name: String, a: String?, b: String?)
    /// An HTTP request's query parameter.
    case httpQuery(name: String, a: String?, b: String?)
    case httpStatus(a: Int, b: Int)
    /// A field of a JSON body.
    case json(path: JSONPath, a: JSONValue?, b: JSONValue?)
    /// An argument of a Redis command (`position` from 1).
    case redisArgument(command: String, position: Int, a: ByteBuffer?, b: ByteBuffer?)
    /// A Redis reply (to `command`).
    case redisReply(command: String, a: RESPValue?, b: RESPValue?)
    /// A PostgreSQL bound parameter (`position` from 1) of a statement.
    case postgresParameter(statement: String, position: Int, a: [UInt8]?, b: [UInt8]?)
    /// How many rows a statement returned.
    case postgresRows(statement: String?, a: Int, b: Int)
    /// A value in a result column, in the first row (from 1) where it differs.
    case postgresValue(statement: String?, column: String, row: Int, a: [UInt8]?, b: [UInt8]?)
    /// What a statement came to otherwise: its command tag, an error, its columns.
    case postgresOutcome(statement: String?, a: String, b: String)
    /// How many messages answered (a Redis SUBSCRIBE's replies, HTTP interim responses), or none.
    case answers(a: Int, b: Int)
    /// Bytes no field names: a non-JSON body, a path, a statement's text, a generic turn.
    /// `what` says which, `side` whose bytes they are.
    case bytes(what: String, side: Side, a: [UInt8], b: [UInt8])

    /// The difference in a few words, `a → b`: `status 200 → 500`,
    /// `header X-Request-Id: "1f…" → "9c…"`, `"a" → nil`, `3 rows → 2 rows`.
    var description: String {
        switch self {
        case .httpHeader(let name, let a, let b):
            return "header \(name): \(a.map(Brief.quoted) ?? "absent") → \(b.map(Brief.quoted) ?? "absent")"
        case .httpQuery(let name, let a, let b):
            return "query \(name): \(a.map(Brief.quoted) ?? "absent") → \(b.map(Brief.quoted) ?? "absent")"
        case .httpStatus(let a, let b):
            return "status \(a) → \(b)"
        case .json(let path, let a, let b):
            return "\(path): \(a?.brief ?? "absent") → \(b?.brief ?? "absent")"
        case .redisArgument(_, let position, let a, let b):
            return "argument \(position): \(a.map { Brief.quoted(bytes: $0.readableBytesView) } ?? "absent") → \(b.map { Brief.quoted(bytes: $0.readableBytesView) } ?? "absent")"
        case .redisReply(_, let a, let b):
            return RESPBrief.difference(a, b)
        case .postgresParameter(_, let position, let a, let b):
            return "$\(position): \(Self.value(a)) → \(Self.value(b))"
        case .postgresRows(_, let a, let b):
            return "\(Self.rows(a)) → \(Self.rows(b))"
        case .postgresValue(_, let column, let row, let a, let b):
            return "row \(row) \(column): \(Self.value(a)) → \(Self.value(b))"
        case .postgresOutcome(_, let a, let b):
            return "\(a) → \(b)"
        case .answers(let a, let b):
            return "\(Self.answers(a)) → \(Self.answers(b))"
        case .bytes(let what, _, let a, let b):
            let first = zip(a, b).prefix { $0 == $1 }.count
            return "\(what) differs from byte \(first) (\(a.count) bytes → \(b.count))"
        }
    }

    private static func value(_ bytes: [UInt8]?) -> String { bytes.map { Brief.quoted(bytes: $0) } ?? "NULL" }

    private static func rows(_ count: Int) -> String { "\(count) row\(count == 1 ? "" : "s")" }

    private static func answers(_ count: Int) -> String {
        switch count {
        case 0: return "no answer"
        case 1: return "1 answer"
        default: return "\(count) answers"
        }
    }
}
