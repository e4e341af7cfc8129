import NIOCore
import PcapFile
import Protocols

/// How a live request found its answer, from the closest match to the
/// loosest: the book tries the tiers in this order.
public enum MatchTier: String, Sendable, Codable, Hashable, CaseIterable {
    /// The same bytes as a recorded request.
    case exact
    /// The same bytes once the masks took out what varies.
    case masked
    /// The same key: route and parameters, command and arguments, statement and bound values.
    case key
    /// No recorded request matched; answered with the nearest of the same shape (`--on-unmatched nearest`).
    case nearest
}

/// What the request index keeps of one recorded exchange: where it was
/// recorded, what it is found by, and where to read it back from — not its
/// bytes. A recording of any size is indexed in memory proportional to its
/// number of exchanges; an answer's bytes are read back from its session
/// when it answers (``ExchangeBook/answer(at:)``).
struct IndexedExchange: Sendable {
    /// The session's index in the recording (as `tapedeck inspect` lists it).
    var session: Int
    /// The session's position in the source the book reads it back from.
    var source: Int
    /// Its place among the session's exchanges, from 0.
    var ordinal: Int
    /// The request's key, masked and compacted (``ExchangeKey/compacted()``).
    var key: ExchangeKey
    var description: String
    var context: ExchangeContext
    var recordedAt: Timestamp
    var requestDigest: ByteDigest
    /// The digest of the request's bytes once masked; nil when the masks leave bytes alone.
    var maskedDigest: ByteDigest?
    var shape: RequestShape?
    var answer: AnswerOutline

    /// What the index keeps of `recorded`, whose session is at `source`
    /// and whose answer's first byte lies at `answerPlace`.
    init(_ recorded: RecordedExchange, source: Int, answerPlace: StreamPlace?, masking: RequestMasking) {
        let bytes = recorded.requestBytes
        let masked = masking.key(recorded.key)
        session = recorded.session
        self.source = source
        ordinal = recorded.ordinal
        key = masked.compacted()
        description = recorded.description
        context = recorded.exchange.context
        recordedAt = recorded.recordedAt
        requestDigest = ByteDigest(bytes)
        maskedDigest = masking.masksBytes ? ByteDigest(masking.bytes(bytes)) : nil
        shape = RequestShape(masked)
        answer = AnswerOutline(recorded, place: answerPlace)
    }
}

/// Every recorded exchange, found by bytes, masked bytes, key and shape,
/// within the session state it was recorded in. Pure and immutable once
/// built: which candidate answers is ``ExchangeBook``'s business.
///
/// Bytes are looked up by their digest (``ByteDigest``) and keys in their
/// compacted form, so the index holds tens of bytes per exchange whatever
/// the requests carried.
///
/// Each lookup gives a *list*: the positions of the recorded exchanges
/// that share the lookup value, in recorded order, under a number the book
/// keeps its cursor of used answers by — so finding the next unused answer
/// costs the same for the ten-thousandth request as for the first.
struct ExchangeIndex: Sendable {
    let exchanges: [IndexedExchange]
    let masking: RequestMasking
    /// Every list of candidates, by number.
    private(set) var lists: [[Int]] = []
    private var byBytes: [Lookup<ByteDigest>: Int] = [:]
    private var byMaskedBytes: [Lookup<ByteDigest>: Int] = [:]
    private var byKey: [Lookup<ExchangeKey>: Int] = [:]
    private var byShape: [Lookup<RequestShape>: Int] = [:]

    /// A value looked up within a session state, or in any state (nil).
    private struct Lookup<Value: Hashable & Sendable>: Hashable, Sendable {
        var value: Value
        var context: ExchangeContext?
    }

    /// Indexes `exchanges`, given in recorded order.
    init(_ exchanges: [IndexedExchange], masking: RequestMasking = .none) {
        self.exchanges = exchanges
        self.masking = masking
        var lists: [[Int]] = []
        for (position, entry) in exchanges.enumerated() {
            Self.add(position, entry.requestDigest, entry.context, to: &byBytes, lists: &lists)
            if let masked = entry.maskedDigest { Self.add(position, masked, entry.context, to: &byMaskedBytes, lists: &lists) }
            Self.add(position, entry.key, entry.context, to: &byKey, lists: &lists)
            if let shape = entry.shape { Self.add(position, shape, entry.context, to: &byShape, lists: &lists) }
        }
        self.lists = lists
    }

    private static func add<Value>(_ position: Int, _ value: Value, _ context: ExchangeContext, to map: inout [Lookup<Value>: Int], lists: inout [[Int]]) {
        // HTTP and generic requests have no state: one list, in any state.
        // Redis is looked up only within its state; PostgreSQL within it, then in any.
        let lookups: [Lookup<Value>] = switch context {
        case .none: [Lookup(value: value, context: nil)]
        case .redis: [Lookup(value: value, context: context)]
        case .postgres: [Lookup(value: value, context: context), Lookup(value: value, context: nil)]
        }
        for lookup in lookups {
            if let list = map[lookup] {
                lists[list].append(position)
            } else {
                map[lookup] = lists.count
                lists.append([position])
            }
        }
    }

    /// A live key as the index keeps recorded ones: masked, then compacted.
    func indexedKey(_ key: ExchangeKey) -> ExchangeKey {
        masking.key(key).compacted()
    }

    /// What a live request is looked up by.
    struct Probe: Sendable {
        var bytes: ByteBuffer
        var key: ExchangeKey
        var context: ExchangeContext
    }

    /// The candidate lists for `tier`, best first: those recorded in the
    /// probe's session state, then, where the protocol allows an answer
    /// from another state, those recorded in any. Redis answers differ by
    /// database and inside MULTI, so they must agree; a PostgreSQL
    /// statement is preferred from the same transaction state but may come
    /// from another.
    func lists(for probe: Probe, tier: MatchTier) -> [Int] {
        func find<Value>(_ value: Value?, in map: [Lookup<Value>: Int]) -> [Int] {
            guard let value else { return [] }
            let any = map[Lookup(value: value, context: nil)]
            switch probe.context {
            case .none: return any.map { [$0] } ?? []
            case .redis: return map[Lookup(value: value, context: probe.context)].map { [$0] } ?? []
            case .postgres: return [map[Lookup(value: value, context: probe.context)], any].compactMap { $0 }
            }
        }
        switch tier {
        case .exact: return find(ByteDigest(probe.bytes), in: byBytes)
        case .masked: return masking.masksBytes ? find(ByteDigest(masking.bytes(probe.bytes)), in: byMaskedBytes) : []
        case .key: return find(indexedKey(probe.key), in: byKey)
        case .nearest: return find(RequestShape(masking.key(probe.key)), in: byShape)
        }
    }

    /// The recorded exchange nearest to a request that matched none, and
    /// how they differ: same shape first, else the most similar description.
    /// Nil for an empty recording.
    func nearest(to probe: Probe, description: String) -> (position: Int, difference: String)? {
        let key = indexedKey(probe.key)
        if let list = lists(for: probe, tier: .nearest).first, let position = lists[list].first {
            return (position, KeyDifference.describe(live: key, recorded: exchanges[position].key))
        }
        // No exchange of the same shape: the closest of the same kind of
        // request (a statement for a statement, not a login; the same Redis
        // command or HTTP method first), then the longest common start of
        // the descriptions, case aside.
        let live = Array(description.lowercased().utf8)
        var best: (position: Int, kinship: Int, prefix: Int)?
        for (position, recorded) in exchanges.enumerated() {
            let kinship = Self.kinship(key, recorded.key)
            let prefix = zip(live, recorded.description.lowercased().utf8).prefix { $0 == $1 }.count
            if let current = best, (current.kinship, current.prefix) >= (kinship, prefix) { continue }
            best = (position, kinship, prefix)
        }
        return best.map { ($0.position, KeyDifference.describe(live: key, recorded: exchanges[$0.position].key)) }
    }

    /// How alike two requests' kinds are: 2 for the same HTTP method, Redis
    /// command or kind of PostgreSQL request; 1 for the same protocol; 0 else.
    private static func kinship(_ live: ExchangeKey, _ recorded: ExchangeKey) -> Int {
        switch (live, recorded) {
        case (.http(let method, _, _, _), .http(let recordedMethod, _, _, _)): return method == recordedMethod ? 2 : 1
        case (.redis(let command, _), .redis(let recordedCommand, _)): return command == recordedCommand ? 2 : 1
        case (.postgres(let request), .postgres(let recordedRequest)):
            switch (request, recordedRequest) {
            case (.statements, .statements), (.startup, .startup), (.messages, .messages): return 2
            default: return 1
            }
        case (.bytes, .bytes): return 1
        default: return 0
        }
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

    /// Recorded exchanges whose request has this key in any state, in recorded order.
    func positions(withKey key: ExchangeKey) -> [Int] {
        byKey[Lookup(value: indexedKey(key), context: nil)].map { lists[$0] } ?? []
    }
}
