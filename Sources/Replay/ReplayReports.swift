import Recording

/// What `replay serve` did: written at exit, and by `--report FILE.json`.
public struct ServeReport: Sendable, Codable, Hashable {
    /// Connections accepted.
    public var connections = 0
    /// Connections turned away because no recorded session was left.
    public var refused = 0
    /// Distinct recorded sessions that answered a connection.
    public var sessionsUsed = 0
    /// Recorded sessions (their indexes) no connection used.
    public var unusedSessions: [Int] = []
    /// First differences found (`--strict`), one per connection at most.
    public var mismatches: [Mismatch] = []
    /// Sessions that could not be played to their end (a gap in the capture).
    public var failures: [ReplayFailure] = []
    /// Sessions served that the capture joined mid-flow: replayed from
    /// their first captured byte.
    public var midFlowSessions: [Int] = []
    /// With `--match request`: how requests were answered.
    public var match: MatchReport?

    public init() {}

    /// Whether anything went unanswered from the recording: a request
    /// unmatched, a connection that could not be framed, refused or failed
    /// — and, under `strict`, a byte difference or an answer from the
    /// nearest recording.
    public func hasProblems(strict: Bool) -> Bool {
        if refused > 0 || !failures.isEmpty { return true }
        if let match, match.unmatchedCount > 0 || !match.framingFailures.isEmpty { return true }
        guard strict else { return false }
        return !mismatches.isEmpty || (match?.answered[MatchTier.nearest.rawValue] ?? 0) > 0
    }

    enum CodingKeys: String, CodingKey {
        case connections, refused, mismatches, failures, match
        case sessionsUsed = "sessions_used"
        case unusedSessions = "unused_sessions"
        case midFlowSessions = "mid_flow_sessions"
    }
}

/// A session a replay could not play as recorded, and why.
public struct ReplayFailure: Sendable, Codable, Hashable {
    public var session: Int
    public var reason: String

    public init(session: Int, reason: String) {
        self.session = session
        self.reason = reason
    }
}

/// Send-time error statistics: how far from the scheduled instant each send
/// went out, in microseconds.
public struct TimingSummary: Sendable, Codable, Hashable {
    public var samples: Int
    public var p50Microseconds: Double
    public var p99Microseconds: Double
    public var maxMicroseconds: Double
    /// The last send's error: how far the replay's end drifted from the
    /// recorded total.
    public var endMicroseconds: Double

    public init(errorsNanoseconds: [Int64], last: Int64?) {
        let sorted = errorsNanoseconds.map { abs($0) }.sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
            return Double(sorted[max(0, index)]) / 1000
        }
        samples = sorted.count
        p50Microseconds = percentile(0.50)
        p99Microseconds = percentile(0.99)
        maxMicroseconds = Double(sorted.last ?? 0) / 1000
        endMicroseconds = Double(abs(last ?? 0)) / 1000
    }

    enum CodingKeys: String, CodingKey {
        case samples
        case p50Microseconds = "p50_us"
        case p99Microseconds = "p99_us"
        case maxMicroseconds = "max_us"
        case endMicroseconds = "end_us"
    }
}

/// What `replay drive` did.
public struct DriveReport: Sendable, Codable, Hashable {
    public var sessions = 0
    /// Sessions whose connection to the target failed.
    public var connectFailures = 0
    public var bytesSent: Int64 = 0
    public var bytesReceived: Int64 = 0
    public var mismatches: [Mismatch] = []
    public var failures: [ReplayFailure] = []
    public var timing = TimingSummary(errorsNanoseconds: [], last: nil)
    /// Wall time of the whole replay, in seconds.
    public var elapsedSeconds: Double = 0
    /// Sessions the capture joined mid-flow: replayed from their first
    /// captured byte.
    public var midFlowSessions: [Int] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sessions, mismatches, failures, timing
        case midFlowSessions = "mid_flow_sessions"
        case connectFailures = "connect_failures"
        case bytesSent = "bytes_sent"
        case bytesReceived = "bytes_received"
        case elapsedSeconds = "elapsed_seconds"
    }
}
