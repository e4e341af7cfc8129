import NIOCore
import Protocols

/// How a live request found its answer.
public enum MatchTier: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    /// The same bytes as a recorded request.
    case exact
    /// The same bytes once the masks took out what varies.
    case masked
    /// The same key: route and parameters, command and arguments, statement and bound values.
    case key
    /// No recorded request matched; answered with the nearest of the same shape (`--on-unmatched nearest`).
    case nearest

    public static func < (lhs: MatchTier, rhs: MatchTier) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Every recorded exchange, found by bytes, masked bytes, key and shape.
/// Candidates come back in recorded order. Pure and immutable once built:
/// which candidate answers is ``ExchangeBook``'s business.
struct ExchangeIndex: Sendable {
    let exchanges: [RecordedExchange]
    let masking: RequestMasking
    private var byBytes: [ByteBuffer: [Int]] = [:]
    private var byMaskedBytes: [ByteBuffer: [Int]] = [:]
    private var byKey: [ExchangeKey: [Int]] = [:]
    private var byShape: [RequestShape: [Int]] = [:]

    init(_ exchanges: [RecordedExchange], masking: RequestMasking = .none) {
        self.exchanges = exchanges
        self.masking = masking
        for (position, recorded) in exchanges.enumerated() {
            let bytes = recorded.requestBytes
            byBytes[bytes, default: []].append(position)
            if masking.masksBytes { byMaskedBytes[masking.bytes(bytes), default: []].append(position) }
            byKey[masking.key(recorded.key), default: []].append(position)
            if let shape = RequestShape(masking.key(recorded.key)) { byShape[shape, default: []].append(position) }
        }
    }

    /// What a live request is looked up by.
    struct Probe: Sendable {
        var bytes: ByteBuffer
        var key: ExchangeKey
        var context: ExchangeContext
    }

    /// Candidates tier by tier, best tier first; each tier's list in
    /// recorded order and only of recorded exchanges made in `probe`'s
    /// context where the protocol needs it (see ``admits(_:in:)``).
    func candidates(for probe: Probe, includingNearest: Bool) -> [(tier: MatchTier, positions: [Int])] {
        var tiers: [(MatchTier, [Int])] = []
        func add(_ tier: MatchTier, _ positions: [Int]?) {
            guard let positions else { return }
            let admitted = Self.preferContext(positions.filter { admits(exchanges[$0].exchange.context, in: probe.context) }, probe.context, exchanges)
            if !admitted.isEmpty { tiers.append((tier, admitted)) }
        }
        add(.exact, byBytes[probe.bytes])
        if masking.masksBytes { add(.masked, byMaskedBytes[masking.bytes(probe.bytes)]) }
        let key = masking.key(probe.key)
        add(.key, byKey[key])
        if includingNearest, let shape = RequestShape(key) { add(.nearest, byShape[shape]) }
        return tiers
    }

    /// Whether an exchange recorded in `recorded` may answer a request made
    /// in `live`. Redis answers differ by database and inside MULTI, so they
    /// must agree; a PostgreSQL statement is preferred from the same
    /// transaction state but may come from another (``preferContext``).
    private func admits(_ recorded: ExchangeContext, in live: ExchangeContext) -> Bool {
        switch (recorded, live) {
        case (.redis, .redis): return recorded == live
        default: return true
        }
    }

    private static func preferContext(_ positions: [Int], _ live: ExchangeContext, _ exchanges: [RecordedExchange]) -> [Int] {
        guard case .postgres = live else { return positions }
        let same = positions.filter { exchanges[$0].exchange.context == live }
        return same.isEmpty ? positions : same
    }

    /// The recorded exchange nearest to a request that matched none, and
    /// how they differ: same shape first, else the most similar description
    /// of the same protocol. Nil for an empty recording.
    func nearest(to probe: Probe, description: String) -> (position: Int, difference: String)? {
        let key = masking.key(probe.key)
        if let shape = RequestShape(key), let position = byShape[shape]?.first {
            return (position, KeyDifference.describe(live: key, recorded: masking.key(exchanges[position].key)))
        }
        let live = Array(description.utf8)
        var best: (position: Int, score: Int)?
        for (position, recorded) in exchanges.enumerated() {
            let score = zip(live, recorded.description.utf8).prefix { $0 == $1 }.count
            if best == nil || score > best!.score { best = (position, score) }
        }
        return best.map { ($0.position, KeyDifference.describe(live: key, recorded: masking.key(exchanges[$0.position].key))) }
    }

    /// The PostgreSQL login recorded for this user and database, else any recorded login.
    func postgresLogin(user: String, database: String) -> Int? {
        var any: Int?
        for (position, recorded) in exchanges.enumerated() {
            guard case .postgres(.startup(let recordedUser, let recordedDatabase)) = recorded.key else { continue }
            if recordedUser == user, recordedDatabase == database { return position }
            if any == nil { any = position }
        }
        return any
    }

    /// Recorded exchanges whose request has this PostgreSQL key (SSLRequest, Terminate …), in order.
    func positions(withKey key: ExchangeKey) -> [Int] { byKey[key] ?? [] }
}
