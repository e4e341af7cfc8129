import Recording

/// One of N drivers replaying one capture together (`replay drive --shard
/// K/N`): shard K of N plays the sessions whose index leaves K when divided
/// by N, in recorded order. Every session belongs to exactly one shard and
/// is never split, and each shard's sessions spread over the whole
/// recording's time, so N drivers (N processes, or a Kubernetes Indexed
/// Job's completions numbered 0…N-1) share the load evenly.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0…count-1.
    public var index: Int
    public var count: Int

    /// `K/N`, with N from 1 to 100,000 and K from 0 to N-1.
    public init(parsing text: String) throws(ReplayError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ReplayError(.invalidOption, "--shard takes K/N (shard K of N, K counted from 0), not '\(text)'")
        }
        guard (1...100_000).contains(count) else {
            throw ReplayError(.invalidOption, "--shard \(text): N must be from 1 to 100000")
        }
        guard (0..<count).contains(index) else {
            throw ReplayError(.invalidOption, "--shard \(text): K counts from 0, so it must be from 0 to \(count - 1)")
        }
        self.index = index
        self.count = count
    }

    public func contains(session: Int) -> Bool {
        session % count == index
    }

    public var description: String { "\(index)/\(count)" }
}

extension DriveReport {
    /// The reports of drivers that shared one capture, as one: sums,
    /// every difference and failure, and the send-time percentiles of all
    /// their sends together (from their histograms). Elapsed time is the
    /// longest driver's.
    public static func merged(_ reports: [DriveReport]) throws(ReplayError) -> DriveReport {
        var merged = DriveReport()
        var buckets: [Int64: Int64] = [:]
        var maxMicroseconds = 0.0
        var endMicroseconds = 0.0
        for (number, report) in reports.enumerated() {
            guard let histogram = report.timing.histogram else {
                throw ReplayError(.invalidOption, "report \(number + 1) has no send-time histogram (written by an earlier tapedeck): its percentiles cannot be merged")
            }
            for bucket in histogram {
                guard bucket.count == 2, bucket[0] >= 0, bucket[1] >= 0 else {
                    throw ReplayError(.invalidOption, "report \(number + 1) has a histogram_us entry that is not [µs, count]: \(bucket)")
                }
                buckets[bucket[0], default: 0] += bucket[1]
            }
            maxMicroseconds = max(maxMicroseconds, report.timing.maxMicroseconds)
            endMicroseconds = max(endMicroseconds, report.timing.endMicroseconds)
            merged.sessions += report.sessions
            merged.connectFailures += report.connectFailures
            merged.bytesSent += report.bytesSent
            merged.bytesReceived += report.bytesReceived
            merged.mismatches += report.mismatches
            merged.differences += report.differences
            merged.failures += report.failures
            merged.midFlowSessions += report.midFlowSessions
            merged.elapsedSeconds = max(merged.elapsedSeconds, report.elapsedSeconds)
        }
        merged.mismatches.sort { $0.session < $1.session }
        merged.differences.sort { ($0.session, $0.exchange) < ($1.session, $1.exchange) }
        merged.failures.sort { $0.session < $1.session }
        merged.midFlowSessions.sort()
        merged.timing = TimingSummary(
            histogram: buckets.sorted { $0.key < $1.key }.map { [$0.key, $0.value] },
            maxMicroseconds: maxMicroseconds,
            endMicroseconds: endMicroseconds
        )
        return merged
    }
}
