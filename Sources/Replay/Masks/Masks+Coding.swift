import Foundation
import Protocols
import Recording

/// The masks file: plain JSON a person edits.
///
/// ```json
/// {"http": {"headers": ["X-Request-Id", "Date"], "query": ["ts"], "json": ["$.nonce", "$.items[*].id"]},
///  "redis": {"arguments": [{"command": "SET", "position": 2}], "replies": ["TIME"]},
///  "postgres": {"parameters": [{"statement": "INSERT INTO t (a, b) VALUES ($1, $2)", "position": 2}],
///               "columns": [{"statement": "SELECT id, created FROM t", "column": "created"}]},
///  "bytes": [{"side": "server", "regex": "nonce=[0-9a-f]{16}"}]}
/// ```
///
/// Every part may be left out; an unknown field is an error, so a typo
/// does not silently mask nothing.
extension Masks {
    /// Reads a masks file. The error is one line naming the file and the field.
    public static func load(path: String) throws(ReplayError) -> Masks {
        try decodeUserFile(path, named: "masks file", failing: { ReplayError(.invalidOption, $0) }) { try Masks(json: $0) }
    }

    /// Masks from the text of a masks file.
    public init(json: some Collection<UInt8>) throws(MaskError) {
        let data = Data(json)
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey].map { "\($0)" } ?? PlainReason.of(error)
            throw MaskError("not JSON: \(detail)")
        }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw MaskError("not JSON: \(PlainReason.of(error))")
        }
        let root = try Field("", document).object(["http", "redis", "postgres", "bytes"])
        self.init()
        if let http = try root["http"]?.object(["headers", "query", "json"]) {
            self.http.headers = try http["headers"]?.strings() ?? []
            self.http.query = try http["query"]?.strings() ?? []
            self.http.json = try http["json"]?.array().map { field throws(MaskError) in
                do {
                    return try JSONPath(parsing: try field.string())
                } catch {
                    throw MaskError("\(field.name): \(error)")
                }
            } ?? []
        }
        if let redis = try root["redis"]?.object(["arguments", "replies"]) {
            self.redis.arguments = try redis["arguments"]?.array().map { field throws(MaskError) in
                let entry = try field.object(["command", "position"])
                return Redis.Argument(command: try entry.required("command").string(), position: try entry.required("position").position())
            } ?? []
            self.redis.replies = try redis["replies"]?.strings().map { $0.uppercased() } ?? []
        }
        if let postgres = try root["postgres"]?.object(["parameters", "columns"]) {
            self.postgres.parameters = try postgres["parameters"]?.array().map { field throws(MaskError) in
                let entry = try field.object(["statement", "position"])
                return Postgres.Parameter(statement: try entry["statement"]?.string(), position: try entry.required("position").position())
            } ?? []
            self.postgres.columns = try postgres["columns"]?.array().map { field throws(MaskError) in
                let entry = try field.object(["statement", "column"])
                return Postgres.Column(statement: try entry["statement"]?.string(), column: try entry.required("column").string())
            } ?? []
        }
        self.bytes = try root["bytes"]?.array().map { field throws(MaskError) in
            let entry = try field.object(["side", "regex"])
            let sideField = try entry.required("side")
            guard let side = Side(rawValue: try sideField.string()) else { throw MaskError("\(sideField.name): expected \"client\" or \"server\"") }
            let regexField = try entry.required("regex")
            do {
                return try BytePattern(side: side, regex: try regexField.string())
            } catch {
                throw MaskError("\(regexField.name): \(error)")
            }
        } ?? []
    }

    /// The masks file's text: indented JSON, the parts with no masks left out.
    public var json: [UInt8] {
        var root: [String: JSONValue] = [:]
        var http: [String: JSONValue] = [:]
        if !self.http.headers.isEmpty { http["headers"] = .array(self.http.headers.map(JSONValue.string)) }
        if !self.http.query.isEmpty { http["query"] = .array(self.http.query.map(JSONValue.string)) }
        if !self.http.json.isEmpty { http["json"] = .array(self.http.json.map { .string($0.description) }) }
        if !http.isEmpty { root["http"] = .object(http) }
        var redis: [String: JSONValue] = [:]
        if !self.redis.arguments.isEmpty {
            redis["arguments"] = .array(self.redis.arguments.map { .object(["command": .string($0.command), "position": .integer(Int64($0.position))]) })
        }
        if !self.redis.replies.isEmpty { redis["replies"] = .array(self.redis.replies.map(JSONValue.string)) }
        if !redis.isEmpty { root["redis"] = .object(redis) }
        var postgres: [String: JSONValue] = [:]
        if !self.postgres.parameters.isEmpty {
            postgres["parameters"] = .array(self.postgres.parameters.map { parameter in
                var entry: [String: JSONValue] = ["position": .integer(Int64(parameter.position))]
                entry["statement"] = parameter.statement.map(JSONValue.string)
                return .object(entry)
            })
        }
        if !self.postgres.columns.isEmpty {
            postgres["columns"] = .array(self.postgres.columns.map { column in
                var entry: [String: JSONValue] = ["column": .string(column.column)]
                entry["statement"] = column.statement.map(JSONValue.string)
                return .object(entry)
            })
        }
        if !postgres.isEmpty { root["postgres"] = .object(postgres) }
        if !bytes.isEmpty { root["bytes"] = .array(bytes.map { .object(["side": .string($0.side.rawValue), "regex": .string($0.regex)]) }) }
        guard !root.isEmpty else { return Array("{}\n".utf8) }
        return ((try? PrettyJSON.encoder.encode(JSONValue.object(root))).map(Array.init) ?? []) + [0x0A]
    }
}

/// A value of the masks file and where it is (`http.headers[1]`), for errors.
private struct Field {
    var name: String
    var value: JSONValue

    init(_ name: String, _ value: JSONValue) {
        self.name = name
        self.value = value
    }

    private var place: String { name.isEmpty ? "the file" : name }

    /// The fields of an object, refusing names not in `known`.
    func object(_ known: [String]) throws(MaskError) -> Object {
        guard case .object(let fields) = value else { throw MaskError("\(place): expected an object, found \(value.brief)") }
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw MaskError("\(child(unknown)): unknown field (expected \(known.joined(separator: ", ")))")
        }
        return Object(field: self, fields: fields)
    }

    func array() throws(MaskError) -> [Field] {
        guard case .array(let items) = value else { throw MaskError("\(place): expected a list, found \(value.brief)") }
        return items.enumerated().map { Field("\(name)[\($0.offset)]", $0.element) }
    }

    func string() throws(MaskError) -> String {
        guard case .string(let text) = value, !text.isEmpty else { throw MaskError("\(place): expected a non-empty string, found \(value.brief)") }
        return text
    }

    func strings() throws(MaskError) -> [String] {
        try array().map { field throws(MaskError) in try field.string() }
    }

    /// A 1-based position.
    func position() throws(MaskError) -> Int {
        guard case .integer(let number) = value, number >= 1, number <= Int64(Int32.max) else {
            throw MaskError("\(place): expected a position from 1, found \(value.brief)")
        }
        return Int(number)
    }

    func child(_ key: String) -> String { name.isEmpty ? key : "\(name).\(key)" }

    struct Object {
        var field: Field
        var fields: [String: JSONValue]

        subscript(key: String) -> Field? {
            fields[key].map { Field(field.child(key), $0) }
        }

        func required(_ key: String) throws(MaskError) -> Field {
            guard let value = self[key] else { throw MaskError("\(field.place): missing \"\(key)\"") }
            return value
        }
    }
}
