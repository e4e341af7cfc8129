import NIOCore
import Protocols

extension ExchangeDiff {
    /// Header fields that frame a body rather than say something: a body of
    /// another length changes them, and the body itself is compared.
    static let framingHeaders: Set<String> = ["content-length", "transfer-encoding"]

    func httpRequests(_ a: HTTPMessage, _ b: HTTPMessage, keys keyA: ExchangeKey, _ keyB: ExchangeKey) -> [Variation] {
        var found: [Variation] = []
        if a.method != b.method {
            found.append(.bytes(what: "method", side: .client, a: Array((a.method ?? "").utf8), b: Array((b.method ?? "").utf8)))
        }
        if case .http(_, let pathA, let queryA, _) = keyA, case .http(_, let pathB, let queryB, _) = keyB {
            if pathA != pathB { found.append(.bytes(what: "path", side: .client, a: Array(pathA.utf8), b: Array(pathB.utf8))) }
            found += queryVariations(queryA, queryB)
        }
        found += headerVariations(a, b, side: .client)
        found += bodyVariations(a.body, b.body, side: .client)
        return found
    }

    func httpAnswers(_ a: [Message], _ b: [Message]) -> [Variation] {
        guard let finalA = a.last(where: { $0.http != nil })?.http, let finalB = b.last(where: { $0.http != nil })?.http else {
            return a.count == b.count ? [] : [.answers(a: a.count, b: b.count)]
        }
        var found: [Variation] = []
        if a.count != b.count { found.append(.answers(a: a.count, b: b.count)) }
        if let statusA = finalA.status, let statusB = finalB.status, statusA != statusB { found.append(.httpStatus(a: statusA, b: statusB)) }
        found += headerVariations(finalA, finalB, side: .server)
        found += bodyVariations(finalA.body, finalB.body, side: .server)
        return found
    }

    private func queryVariations(_ a: [ExchangeKey.QueryParameter], _ b: [ExchangeKey.QueryParameter]) -> [Variation] {
        let valuesA = Dictionary(grouping: a, by: \.name).mapValues { $0.map(\.value).joined(separator: ",") }
        let valuesB = Dictionary(grouping: b, by: \.name).mapValues { $0.map(\.value).joined(separator: ",") }
        return Set(valuesA.keys).union(valuesB.keys).sorted().compactMap { name in
            guard valuesA[name] != valuesB[name], !masks.query.contains(name) else { return nil }
            return .httpQuery(name: name, a: valuesA[name], b: valuesB[name])
        }
    }

    /// Each header field whose values differ (all of a name's values joined,
    /// in order), but for masked and framing fields. A regex sees the field
    /// as a line, `Name: value`.
    private func headerVariations(_ a: HTTPMessage, _ b: HTTPMessage, side: Side) -> [Variation] {
        let fieldsA = Self.fields(a)
        let fieldsB = Self.fields(b)
        return Set(fieldsA.keys).union(fieldsB.keys).sorted().compactMap { key in
            let fieldA = fieldsA[key]
            let fieldB = fieldsB[key]
            guard !masks.headers.contains(key), !Self.framingHeaders.contains(key) else { return nil }
            let lineA = fieldA.map { Array("\($0.name): \($0.value)".utf8) }
            let lineB = fieldB.map { Array("\($0.name): \($0.value)".utf8) }
            guard !same(lineA, lineB, side: side) else { return nil }
            return .httpHeader(name: fieldA?.name ?? fieldB?.name ?? key, a: fieldA?.value, b: fieldB?.value)
        }
    }

    /// Header fields by lowercased name: the first spelling, and every value joined by ", ".
    private static func fields(_ message: HTTPMessage) -> [String: (name: String, value: String)] {
        var fields: [String: (name: String, value: String)] = [:]
        for field in message.headers {
            let key = field.name.lowercased()
            if let seen = fields[key] {
                fields[key] = (seen.name, seen.value + ", " + field.value)
            } else {
                fields[key] = (field.name, field.value)
            }
        }
        return fields
    }

    /// JSON bodies field by field (masked fields taken out), any other body as bytes.
    private func bodyVariations(_ a: ByteBuffer, _ b: ByteBuffer, side: Side) -> [Variation] {
        guard !same(a.readableBytesView, b.readableBytesView, side: side) else { return [] }
        if let jsonA = masks.maskedJSON(a.readableBytesView), let jsonB = masks.maskedJSON(b.readableBytesView) {
            return jsonA.differences(from: jsonB).map { .json(path: $0.path, a: $0.mine, b: $0.theirs) }
        }
        return [.bytes(what: "body", side: side, a: Array(a.readableBytesView), b: Array(b.readableBytesView))]
    }
}
