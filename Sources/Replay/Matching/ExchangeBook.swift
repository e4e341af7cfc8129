import NIOConcurrencyHelpers
import NIOCore
import Protocols

/// The recorded exchanges a `--match request` server answers from, and
/// which of them it has used: shared by every connection, so a request is
/// answered from any recorded session whatever connection it arrives on.
///
/// A request with several recorded answers gets them in recorded order (the
/// third `GET /counter` gets the third recorded answer); then ``ReusePolicy``
/// decides. Within a tier, an answer not used yet is preferred; a lower tier
/// is tried for one before a used answer of a better tier is repeated.
///
/// The book reads its sessions once, one at a time, to index their
/// exchanges (``ExchangeIndex``), and keeps no bytes: an answer's bytes
/// are read back from its session in the source when it answers (a
/// ``SessionCatalog`` reads them from disk), so a capture of any size is
/// answered from in memory that grows with its number of exchanges, not
/// its bytes.
///
/// Threading: any thread.
final class ExchangeBook: Sendable {
    let protocolKind: ProtocolKind
    let index: ExchangeIndex
    let matching: RequestMatching
    /// Sessions the framer could parse only in part: index and why.
    let framingFailures: [(session: Int, reason: String)]
    /// Exchanges per session index, for "partly used" reports.
    private let exchangeCounts: [Int: Int]
    private let source: any SessionScriptSource
    private let state: NIOLockedValueBox<State>

    /// At most this many unmatched requests are kept for the report (all are counted).
    static let reportedUnmatchedLimit = 100

    struct State {
        var uses: [Int]
        /// Per candidate list: where its first unused answer may be.
        var unusedFrom: [Int]
        /// Per candidate list: how many answers `--reuse` has cycled through.
        var cycled: [Int]
        var tally: [MatchTier: Int] = [:]
        var unmatched: [UnmatchedRequest] = []
        var unmatchedCount = 0
        var framingFailures: [String] = []
        var answers: [MatchReport.Answer] = []

        /// The first answer in `list` no request has used yet.
        mutating func firstUnused(_ list: Int, in positions: [Int]) -> Int? {
            while unusedFrom[list] < positions.count, uses[positions[unusedFrom[list]]] > 0 { unusedFrom[list] += 1 }
            return unusedFrom[list] < positions.count ? positions[unusedFrom[list]] : nil
        }
    }

    enum Answer: Sendable {
        case recorded(RecordedAnswer, tier: MatchTier)
        /// `explanation` is one line for the client and the log.
        case unmatched(explanation: String)
    }

    /// Frames every session of `sessions` in `protocolKind`, one at a
    /// time, and indexes their exchanges in the order their requests began.
    /// Throws what reading a session back throws.
    init(
        sessions: some SessionScriptSource,
        protocol protocolKind: ProtocolKind,
        turnIdle: Duration? = nil,
        keyOptions: KeyOptions = KeyOptions(),
        matching: RequestMatching
    ) throws {
        // Only what the index keeps of each exchange: a session's bytes go
        // with its script before the next is read.
        var entries: [IndexedExchange] = []
        var counts: [Int: Int] = [:]
        var failures: [(session: Int, reason: String)] = []
        for position in 0..<sessions.count {
            let script = try sessions.script(at: position)
            let framed = RecordedConversations.exchanges(of: script, protocol: protocolKind, turnIdle: turnIdle, keyOptions: keyOptions)
            let starts = framed.exchanges.map { $0.exchange.responses.first?.streamOffset ?? Int.max }
            let ascending = starts.sorted()
            let places = script.steps.places(of: ascending, .serverToClient)
            let placeOf = Dictionary(zip(ascending, places), uniquingKeysWith: { first, _ in first })
            entries += framed.exchanges.enumerated().map { ordinal, exchange in
                IndexedExchange(exchange, source: position, answerPlace: placeOf[starts[ordinal]] ?? nil, masking: matching.masking)
            }
            failures += framed.failures.map { (script.session.index, $0) }
            counts[script.session.index] = framed.exchanges.count
        }
        self.protocolKind = protocolKind
        self.index = ExchangeIndex(
            entries.enumerated().sorted { ($0.element.recordedAt, $0.offset) < ($1.element.recordedAt, $1.offset) }.map(\.element),
            masking: matching.masking
        )
        self.matching = matching
        self.framingFailures = failures
        self.exchangeCounts = counts
        self.source = sessions
        self.state = NIOLockedValueBox(State(
            uses: Array(repeating: 0, count: index.exchanges.count),
            unusedFrom: Array(repeating: 0, count: index.lists.count),
            cycled: Array(repeating: 0, count: index.lists.count)
        ))
    }

    /// The recorded answer of the exchange at `position` of the index,
    /// its bytes read back from its session.
    func answer(at position: Int) throws -> RecordedAnswer {
        let entry = index.exchanges[position]
        let outline = entry.answer
        let bytes = try outline.place.map { try source.bytes(at: entry.source, .serverToClient, from: $0, count: outline.length) } ?? ByteBuffer()
        return RecordedAnswer(exchange: entry, bytes: bytes)
    }

    /// The answer to one live request, marked used.
    /// `description` is called only when the request is listed (the first
    /// answers, every unmatched one): most requests of a load never need it.
    func answer(_ probe: ExchangeIndex.Probe, description: () -> String, connection: UInt64) -> Answer {
        var tiers: [(tier: MatchTier, lists: [Int])] = []
        for tier in [MatchTier.exact, .masked, .key] {
            let lists = index.lists(for: probe, tier: tier)
            if !lists.isEmpty { tiers.append((tier, lists)) }
        }
        if tiers.isEmpty, matching.onUnmatched == .nearest {
            let lists = index.lists(for: probe, tier: .nearest)
            if !lists.isEmpty { tiers.append((.nearest, lists)) }
        }
        let chosen: (position: Int, tier: MatchTier)? = state.withLockedValue { state in
            guard let choice = choose(from: tiers, state: &state) else { return nil }
            state.uses[choice.position] += 1
            state.tally[choice.tier, default: 0] += 1
            return choice
        }
        if let chosen {
            let recorded: RecordedAnswer
            do {
                recorded = try answer(at: chosen.position)
            } catch {
                let session = index.exchanges[chosen.position].session
                return unmatched(probe, description: description(), connection: connection, usedUp: false,
                                 failure: "recorded session \(session) answers it, but its bytes could not be read back: \(error)")
            }
            if state.withLockedValue({ $0.answers.count < MatchReport.listLimit }) {
                let answer = MatchReport.Answer(connection: connection, request: description(), match: chosen.tier, session: recorded.session, exchange: recorded.ordinal)
                state.withLockedValue { state in
                    if state.answers.count < MatchReport.listLimit { state.answers.append(answer) }
                }
            }
            return .recorded(recorded, tier: chosen.tier)
        }
        return unmatched(probe, description: description(), connection: connection, usedUp: !tiers.isEmpty)
    }

    /// Picks from tiers given best first: the first answer not used yet in
    /// the best tier holding one, else a used answer of the best tier's
    /// first list, as the reuse policy says.
    private func choose(from tiers: [(tier: MatchTier, lists: [Int])], state: inout State) -> (position: Int, tier: MatchTier)? {
        for (tier, lists) in tiers {
            for list in lists {
                if let fresh = state.firstUnused(list, in: index.lists[list]) { return (fresh, tier) }
            }
        }
        guard let best = tiers.first, let list = best.lists.first else { return nil }
        let positions = index.lists[list]
        switch matching.reuse {
        case .repeatLast:
            return positions.last.map { ($0, best.tier) }
        case .cycle:
            defer { state.cycled[list] += 1 }
            return (positions[state.cycled[list] % positions.count], best.tier)
        case .once:
            return nil
        }
    }

    private func unmatched(_ probe: ExchangeIndex.Probe, description: String, connection: UInt64, usedUp: Bool, failure: String? = nil) -> Answer {
        let nearest = index.nearest(to: probe, description: description)
        var explanation = "no recorded answer for \(description)"
        if let failure {
            explanation += ": \(failure)"
        } else if usedUp {
            explanation += " (its recorded answers were used, and --once is set)"
        } else if let nearest {
            explanation += "; nearest recorded: \(index.exchanges[nearest.position].description) (\(nearest.difference))"
        } else {
            explanation += "; the recording has no exchanges"
        }
        let entry = UnmatchedRequest(
            connection: connection,
            request: description,
            nearest: nearest.map { index.exchanges[$0.position].description },
            nearestSession: nearest.map { index.exchanges[$0.position].session },
            difference: nearest?.difference
        )
        state.withLockedValue { state in
            state.unmatchedCount += 1
            if state.unmatched.count < Self.reportedUnmatchedLimit { state.unmatched.append(entry) }
        }
        return .unmatched(explanation: explanation)
    }

    /// Marks a recorded exchange used that was answered without matching
    /// (a PostgreSQL login, an encryption request).
    func markUsed(_ position: Int, tier: MatchTier) {
        state.withLockedValue { state in
            state.uses[position] += 1
            state.tally[tier, default: 0] += 1
        }
    }

    /// What has been answered so far.
    var report: MatchReport {
        let snapshot = state.withLockedValue { $0 }
        var report = MatchReport(protocolKind: protocolKind)
        report.exchanges = index.exchanges.count
        report.answered = MatchTier.allCases.reduce(into: [:]) { $0[$1.rawValue] = snapshot.tally[$1, default: 0] }
        report.unmatchedCount = snapshot.unmatchedCount
        report.unmatched = snapshot.unmatched
        report.framingFailures = snapshot.framingFailures
        report.answers = snapshot.answers
        var usedPerSession: [Int: Int] = [:]
        for (position, recorded) in index.exchanges.enumerated() {
            if snapshot.uses[position] > 0 {
                usedPerSession[recorded.session, default: 0] += 1
            } else {
                report.unusedExchangeCount += 1
                if report.unusedExchanges.count < MatchReport.listLimit {
                    report.unusedExchanges.append(.init(session: recorded.session, exchange: recorded.ordinal, request: recorded.description))
                }
            }
        }
        for (session, count) in exchangeCounts.sorted(by: { $0.key < $1.key }) {
            let used = usedPerSession[session, default: 0]
            if used == 0 { report.unusedSessions.append(session) } else if used < count { report.partlyUsedSessions.append(session) }
        }
        return report
    }
}

extension ExchangeBook {
    /// Marks the first unused recorded exchange with `key` used (else the
    /// last), for requests answered in the protocol's terms rather than
    /// with recorded bytes (SSLRequest, Terminate). Nothing when none was recorded.
    func markAnswered(key: ExchangeKey) {
        let positions = index.positions(withKey: key)
        state.withLockedValue { state in
            guard let position = positions.first(where: { state.uses[$0] == 0 }) ?? positions.last else { return }
            state.uses[position] += 1
            state.tally[.key, default: 0] += 1
        }
    }

    /// A connection whose bytes could not be framed in the recording's protocol.
    func recordFramingFailure(connection: UInt64, reason: String) {
        state.withLockedValue { state in
            if state.framingFailures.count < Self.reportedUnmatchedLimit {
                state.framingFailures.append("connection \(connection): \(reason)")
            }
        }
    }
}

