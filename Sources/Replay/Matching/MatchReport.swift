import Protocols

/// What `--match request` answered: counts by tier, what went unmatched
/// and what nearest recording it was closest to, what was never asked for.
public struct MatchReport: Sendable, Codable, Hashable {
    /// Lists of unused exchanges hold at most this many entries (all are counted).
    public static let listLimit = 200

    public var protocolName: String
    /// Recorded exchanges in the index.
    public var exchanges = 0
    /// Requests answered from the recording, by how they matched: exact, masked, key, nearest.
    public var answered: [String: Int] = [:]
    /// The first requests answered from the recording (up to 200): how each matched and with which exchange.
    public var answers: [Answer] = []
    public var unmatchedCount = 0
    /// The first unmatched requests (up to 100), with the nearest recording.
    public var unmatched: [UnmatchedRequest] = []
    public var unusedExchangeCount = 0
    /// Recorded exchanges no request was answered with (the first 200).
    public var unusedExchanges: [UnusedExchange] = []
    /// Connections whose bytes could not be framed in the recording's protocol, and why.
    public var framingFailures: [String] = []
    /// Sessions none of whose exchanges answered a request.
    public var unusedSessions: [Int] = []
    /// Sessions some, but not all, of whose exchanges answered a request.
    public var partlyUsedSessions: [Int] = []

    public init(protocolKind: ProtocolKind) {
        protocolName = protocolKind.rawValue
    }

    /// Requests answered from the recording, every tier.
    public var answeredCount: Int { answered.values.reduce(0, +) }

    public struct Answer: Sendable, Codable, Hashable {
        public var connection: UInt64
        public var request: String
        public var match: MatchTier
        /// The recorded exchange that answered: its session and place in it.
        public var session: Int
        public var exchange: Int
    }

    public struct UnusedExchange: Sendable, Codable, Hashable {
        public var session: Int
        public var exchange: Int
        public var request: String
    }

    enum CodingKeys: String, CodingKey {
        case exchanges, answered, answers, unmatched
        case protocolName = "protocol"
        case unmatchedCount = "unmatched_count"
        case unusedExchangeCount = "unused_exchange_count"
        case unusedExchanges = "unused_exchanges"
        case unusedSessions = "unused_sessions"
        case partlyUsedSessions = "partly_used_sessions"
        case framingFailures = "framing_failures"
    }
}

/// A request no recorded exchange answered.
public struct UnmatchedRequest: Sendable, Codable, Hashable {
    public var connection: UInt64
    /// The request in a few words.
    public var request: String
    /// The nearest recorded request, and its session.
    public var nearest: String?
    public var nearestSession: Int?
    /// How the request differs from the nearest one.
    public var difference: String?

    enum CodingKeys: String, CodingKey {
        case connection, request, nearest, difference
        case nearestSession = "nearest_session"
    }
}
