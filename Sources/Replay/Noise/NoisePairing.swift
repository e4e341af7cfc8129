import Protocols

/// Pairs the exchanges of two recordings of one scenario: session by
/// session and exchange by exchange when both hold as many of each, else by
/// request key, then by request shape (route, command, statement), in
/// recorded order. What finds no partner is unpaired.
struct NoisePairing: Sendable {
    enum Method: String, Sendable {
        /// Same session order and exchange ordinal.
        case order
        /// Same request key, else same shape.
        case key
    }

    var method: Method
    var pairs: [(a: RecordedExchange, b: RecordedExchange)] = []
    var unpairedA: [RecordedExchange] = []
    var unpairedB: [RecordedExchange] = []

    init(_ a: RecordedConversations, _ b: RecordedConversations) {
        let sessionsA = Self.bySession(a)
        let sessionsB = Self.bySession(b)
        if sessionsA.count == sessionsB.count, zip(sessionsA, sessionsB).allSatisfy({ $0.count == $1.count }) {
            method = .order
            pairs = zip(sessionsA.joined(), sessionsB.joined()).map { ($0, $1) }
            return
        }
        method = .key
        var remainingB = Array(sessionsB.joined())
        var remainingA: [RecordedExchange] = []
        for exchange in sessionsA.joined() {
            if let index = remainingB.firstIndex(where: { $0.key == exchange.key }) {
                pairs.append((exchange, remainingB.remove(at: index)))
            } else {
                remainingA.append(exchange)
            }
        }
        for exchange in remainingA {
            let shape = RequestShape(exchange.key)
            if let shape, let index = remainingB.firstIndex(where: { RequestShape($0.key) == shape }) {
                pairs.append((exchange, remainingB.remove(at: index)))
            } else {
                unpairedA.append(exchange)
            }
        }
        unpairedB = remainingB
        pairs.sort { ($0.a.session, $0.a.ordinal) < ($1.a.session, $1.a.ordinal) }
    }

    /// Each session's exchanges in order, sessions in recorded order.
    private static func bySession(_ conversations: RecordedConversations) -> [[RecordedExchange]] {
        Dictionary(grouping: conversations.exchanges, by: \.session)
            .sorted { $0.key < $1.key }
            .map { $0.value.sorted { $0.ordinal < $1.ordinal } }
    }
}
