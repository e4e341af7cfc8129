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
///
/// The percentiles come from a histogram of the errors in whole
/// microseconds, which the report carries (`histogram_us`), so that the
/// reports of several drivers sharing one capture (`--shard`) merge into the
/// percentiles one driver would have given (`replay merge-reports`).
public struct TimingSummary: Sendable, Codable, Hashable {
    public var samples: Int
    public var p50Microseconds: Double
    public var p99Microseconds: Double
    public var maxMicroseconds: Double
    /// The largest of the sessions' last-send errors: how far the replay's
    /// end drifted from the recorded one.
    public var endMicroseconds: Double
    /// How many sends were off by each whole number of microseconds
    /// (`[µs, count]`, ascending); nil in reports written before it.
    public var histogram: [[Int64]]?

    public init(errorsNanoseconds: [Int64], last: Int64?) {
        var counts: [Int64: Int64] = [:]
        for error in errorsNanoseconds { counts[abs(error) / 1000, default: 0] += 1 }
        self.init(
            histogram: counts.sorted { $0.key < $1.key }.map { [$0.key, $0.value] },
            maxMicroseconds: Double(errorsNanoseconds.map { abs($0) }.max() ?? 0) / 1000,
            endMicroseconds: Double(abs(last ?? 0)) / 1000
        )
    }

    /// The summary of a histogram of `[µs, count]` pairs in ascending order.
    init(histogram: [[Int64]], maxMicroseconds: Double, endMicroseconds: Double) {
        let total = histogram.reduce(0) { $0 + Int($1[1]) }
        func percentile(_ fraction: Double) -> Double {
            guard total > 0 else { return 0 }
            let rank = max(1, Int((Double(total) * fraction).rounded(.up)))
            var seen = 0
            for bucket in histogram {
                seen += Int(bucket[1])
                if seen >= rank { return Double(bucket[0]) }
            }
            return Double(histogram.last?[0] ?? 0)
        }
        self.samples = total
        self.p50Microseconds = percentile(0.50)
        self.p99Microseconds = percentile(0.99)
        self.maxMicroseconds = maxMicroseconds
        self.endMicroseconds = endMicroseconds
        self.histogram = histogram
    }

    enum CodingKeys: String, CodingKey {
        case samples
        case p50Microseconds = "p50_us"
        case p99Microseconds = "p99_us"
        case maxMicroseconds = "max_us"
        case endMicroseconds = "end_us"
        case histogram = "histogram_us"
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
    /// Answers that differ from the recorded ones, exchange by exchange
    /// (HTTP, Redis and PostgreSQL recordings; `mismatches` otherwise).
    public var differences: [ExchangeDifference] = []
    public var failures: [ReplayFailure] = []
    public var timing = TimingSummary(errorsNanoseconds: [], last: nil)
    /// Wall time of the whole replay, in seconds.
    public var elapsedSeconds: Double = 0
    /// Sessions the capture joined mid-flow: replayed from their first
    /// captured byte.
    public var midFlowSessions: [Int] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sessions, mismatches, differences, failures, timing
        case midFlowSessions = "mid_flow_sessions"
        case connectFailures = "connect_failures"
        case bytesSent = "bytes_sent"
        case bytesReceived = "bytes_received"
        case elapsedSeconds = "elapsed_seconds"
    }
}
