import Protocols

/// What `tapedeck noise` found between two recordings of one scenario.
public struct NoiseReport: Sendable {
    public var protocolKind: ProtocolKind
    /// The masks proposed: one for every place the recordings differ that a mask can name.
    public var masks: Masks
    public var sessions: (a: Int, b: Int)
    /// Exchanges compared, and whether they were paired by order or by key.
    public var pairs: Int
    public var pairedByOrder: Bool
    /// Exchanges of either recording that found no partner: `A session 2 exchange 3: GET /x`.
    public var unpaired: [String]
    /// Each mask, with how many pairs it was seen in and one example.
    public var findings: [Finding]
    /// Differences no mask can hide (a status, a row count), each with how often and an example.
    public var unmaskable: [Finding]
    /// Sessions of either recording whose bytes could not be framed past some point.
    public var framingFailures: [String]

    public struct Finding: Sendable, Hashable {
        /// `header X-Request-Id`, `json $.requestId`, `bytes server /nonce=[0-9a-f]{16}/`.
        public var mask: String
        public var count: Int
        /// `GET /a: header X-Request-Id: "3f…" → "9c…"`.
        public var example: String
    }
}

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

/// Masks being learned, without repeats, with what each was learned from.
struct LearnedMasks {
    var masks = Masks()
    private var order: [String] = []
    private var found: [String: NoiseReport.Finding] = [:]

    var findings: [NoiseReport.Finding] { order.compactMap { found[$0] } }

    /// Adds the masks `variation` calls for; false when no mask can hide it.
    /// `seen` holds the masks already counted for this pair.
    mutating func learn(_ variation: Variation, example: String, seen: inout Set<String>) -> Bool {
        switch variation {
        case .httpHeader(let name, _, _):
            note("header \(name.lowercased())", display: "header \(name)", example: example, seen: &seen) { $0.http.headers.append(name) }
        case .httpQuery(let name, _, _):
            note("query \(name)", display: "query \(name)", example: example, seen: &seen) { $0.http.query.append(name) }
        case .json(let path, _, _):
            let general = path.generalized
            note("json \(general)", display: "json \(general)", example: example, seen: &seen) { $0.http.json.append(general) }
        case .redisArgument(let command, let position, _, _):
            note("redis \(command) \(position)", display: "redis \(command) argument \(position)", example: example, seen: &seen) {
                $0.redis.arguments.append(.init(command: command, position: position))
            }
        case .redisReply(let command, _, _):
            note("reply \(command)", display: "redis replies to \(command)", example: example, seen: &seen) { $0.redis.replies.append(command) }
        case .postgresParameter(let statement, let position, _, _):
            note("parameter \(position) \(statement)", display: "postgres $\(position) of \(statement)", example: example, seen: &seen) {
                $0.postgres.parameters.append(.init(statement: statement, position: position))
            }
        case .postgresValue(let statement, let column, _, _, _):
            note("column \(column) \(statement ?? "")", display: "postgres column \(column)\(statement.map { " of \($0)" } ?? "")", example: example, seen: &seen) {
                $0.postgres.columns.append(.init(statement: statement, column: column))
            }
        case .bytes(_, let side, let a, let b):
            let proposals = RegexProposal.propose(a, b)
            guard !proposals.isEmpty else { return false }
            for regex in proposals {
                note("bytes \(side) \(regex)", display: "bytes \(side) /\(regex)/", example: example, seen: &seen) { masks in
                    if let pattern = try? Masks.BytePattern(side: side, regex: regex) { masks.bytes.append(pattern) }
                }
            }
        case .httpStatus, .postgresRows, .postgresOutcome, .answers:
            return false
        }
        return true
    }

    /// Counts a mask once per pair; adds it the first time it is found.
    private mutating func note(_ identity: String, display: String, example: String, seen: inout Set<String>, add: (inout Masks) -> Void) {
        if found[identity] == nil {
            found[identity] = .init(mask: display, count: 0, example: example)
            order.append(identity)
            add(&masks)
        }
        if seen.insert(identity).inserted { found[identity]?.count += 1 }
    }
}
