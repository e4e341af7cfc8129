import Protocols
/// Learns masks from two recordings of one scenario: frames both in the
/// same protocol, pairs their exchanges (``NoisePairing``), and proposes a
/// mask for every place a pair differs (``ExchangeDiff`` without masks):
/// HTTP header fields (requests and responses), query parameters, JSON
/// fields, Redis argument positions and commands whose replies vary,
/// PostgreSQL parameters and result columns, and otherwise a regex over
/// the bytes (``RegexProposal``). Pure.
public enum NoiseFinder {
    public static func find(_ a: RecordedConversations, _ b: RecordedConversations) -> NoiseReport {
        let pairing = NoisePairing(a, b)
        let diff = ExchangeDiff()
        var learned = LearnedMasks()
        var unmaskable: [String: NoiseReport.Finding] = [:]
        var unmaskableOrder: [String] = []
        for (exchangeA, exchangeB) in pairing.pairs {
            var seen = Set<String>()
            let variations = diff.requests(exchangeA.exchange, exchangeB.exchange, keys: exchangeA.key, exchangeB.key)
                + diff.answers(exchangeA.exchange, exchangeB.exchange, key: exchangeA.key)
            for variation in variations {
                let example = "\(exchangeA.description): \(variation.description)"
                if learned.learn(variation, example: example, seen: &seen) { continue }
                let kind = Self.unmaskableKind(variation)
                if unmaskable[kind] == nil {
                    unmaskable[kind] = .init(mask: kind, count: 0, example: example)
                    unmaskableOrder.append(kind)
                }
                if seen.insert(kind).inserted { unmaskable[kind]?.count += 1 }
            }
        }
        let describe = { (side: String, exchange: RecordedExchange) in "\(side) session \(exchange.session) exchange \(exchange.ordinal): \(exchange.description)" }
        return NoiseReport(
            protocolKind: a.protocolKind,
            masks: learned.masks,
            sessions: (a.exchangeCounts.count, b.exchangeCounts.count),
            pairs: pairing.pairs.count,
            pairedByOrder: pairing.method == .order,
            unpaired: pairing.unpairedA.map { describe("A", $0) } + pairing.unpairedB.map { describe("B", $0) },
            findings: learned.findings,
            unmaskable: unmaskableOrder.compactMap { unmaskable[$0] },
            framingFailures: a.framingFailures.map { "A session \($0.session): \($0.reason)" } + b.framingFailures.map { "B session \($0.session): \($0.reason)" }
        )
    }

    private static func unmaskableKind(_ variation: Variation) -> String {
        switch variation {
        case .httpStatus: return "HTTP status"
        case .postgresRows: return "row count"
        case .postgresOutcome: return "statement outcome"
        case .answers: return "number of answers"
        default: return "other"
        }
    }
}
