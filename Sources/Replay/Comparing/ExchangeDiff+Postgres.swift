import NIOCore
import Protocols

extension ExchangeDiff {
    /// Statement by statement: the text, then each bound parameter. Logins
    /// are not compared (passwords and SCRAM nonces differ every time).
    func postgresRequests(_ a: [Message], _ b: [Message], keys keyA: ExchangeKey, _ keyB: ExchangeKey) -> [Variation] {
        switch (keyA, keyB) {
        case (.postgres(.startup), .postgres(.startup)):
            return []
        case (.postgres(.statements(let statementsA)), .postgres(.statements(let statementsB))) where statementsA.count == statementsB.count:
            var found: [Variation] = []
            for (statementA, statementB) in zip(statementsA, statementsB) {
                guard statementA.text == statementB.text, statementA.parameters.count == statementB.parameters.count else {
                    found.append(.bytes(what: "statement", side: .client, a: Array(statementA.text.utf8), b: Array(statementB.text.utf8)))
                    continue
                }
                for (index, (valueA, valueB)) in zip(statementA.parameters, statementB.parameters).enumerated() {
                    let bytesA = valueA.map { Array($0.readableBytesView) }
                    let bytesB = valueB.map { Array($0.readableBytesView) }
                    guard !masks.masksParameter(index + 1, of: statementA.text), !same(bytesA, bytesB, side: .client) else { continue }
                    found.append(.postgresParameter(statement: statementA.text, position: index + 1, a: bytesA, b: bytesB))
                }
            }
            return found
        default:
            return keyA == keyB ? [] : generic(a, b, what: "request", side: .client)
        }
    }

    /// What each statement came to: rows (value by value, masked columns
    /// left out), a command tag, an error. A login is compared by its
    /// outcome alone (accepted or the error), an encryption request by its answer.
    func postgresAnswers(_ a: [Message], _ b: [Message], key: ExchangeKey) -> [Variation] {
        switch key {
        case .postgres(.startup):
            let outcomeA = Self.loginOutcome(a)
            let outcomeB = Self.loginOutcome(b)
            return outcomeA == outcomeB ? [] : [.postgresOutcome(statement: nil, a: outcomeA, b: outcomeB)]
        case .postgres(.sslRequest), .postgres(.gssEncryptionRequest), .postgres(.cancelRequest):
            return generic(a, b, what: "answer", side: .server)
        default:
            break
        }
        var texts: [String] = []
        if case .postgres(.statements(let statements)) = key { texts = statements.map(\.text) }
        let resultsA = PostgresResults(a).results
        let resultsB = PostgresResults(b).results
        guard resultsA.count == resultsB.count else {
            let brief = { (results: [PostgresResults.Result]) in results.isEmpty ? "no result" : results.map(\.brief).joined(separator: "; ") }
            return [.postgresOutcome(statement: texts.first, a: brief(resultsA), b: brief(resultsB))]
        }
        var found: [Variation] = []
        for (index, (resultA, resultB)) in zip(resultsA, resultsB).enumerated() {
            let statement = texts.isEmpty ? nil : texts[min(index, texts.count - 1)]
            found += resultVariations(resultA, resultB, statement: statement)
        }
        return found
    }

    private func resultVariations(_ a: PostgresResults.Result, _ b: PostgresResults.Result, statement: String?) -> [Variation] {
        guard case .rows(let columnsA, let rowsA, let tagA) = a, case .rows(let columnsB, let rowsB, let tagB) = b else {
            return a == b ? [] : [.postgresOutcome(statement: statement, a: a.brief, b: b.brief)]
        }
        if columnsA != columnsB {
            return [.postgresOutcome(statement: statement, a: "columns " + columnsA.joined(separator: ", "), b: "columns " + columnsB.joined(separator: ", "))]
        }
        if rowsA.count != rowsB.count { return [.postgresRows(statement: statement, a: rowsA.count, b: rowsB.count)] }
        var found: [Variation] = []
        let width = max(columnsA.count, rowsA.map(\.count).max() ?? 0)
        for column in 0..<width {
            let name = column < columnsA.count ? columnsA[column] : "column \(column + 1)"
            guard !masks.masksColumn(name, of: statement) else { continue }
            let valueAt = { (row: [[UInt8]?]) in column < row.count ? row[column] : nil }
            if let row = rowsA.indices.first(where: { !same(valueAt(rowsA[$0]), valueAt(rowsB[$0]), side: .server) }) {
                found.append(.postgresValue(statement: statement, column: name, row: row + 1, a: valueAt(rowsA[row]), b: valueAt(rowsB[row])))
            }
        }
        if found.isEmpty, tagA != tagB {
            found.append(.postgresOutcome(statement: statement, a: tagA ?? "no tag", b: tagB ?? "no tag"))
        }
        return found
    }

    /// `login accepted`, or the error that refused it.
    private static func loginOutcome(_ messages: [Message]) -> String {
        if let error = messages.compactMap(\.postgres).first(where: { $0.backend == .errorResponse }) {
            return "ERROR \(error.sqlState ?? "?"): \(error.primaryMessage ?? "")"
        }
        return messages.contains { $0.postgres?.backend == .readyForQuery } ? "login accepted" : "no answer"
    }
}
