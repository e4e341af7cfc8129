import Replay
import TapedeckTestSupport
import Testing

/// `replay drive --shard K/N` and `replay merge-reports`: the sessions a
/// shard takes, and reports merged as one driver's.
@Suite struct ShardTests {
    @Test func everySessionBelongsToExactlyOneShardInRecordedOrder() throws {
        let shards = try (0..<4).map { try Shard(parsing: "\($0)/4") }
        let sessions = Array(0..<103)
        let taken = shards.map { shard in sessions.filter { shard.contains(session: $0) } }
        #expect(taken.flatMap { $0 }.sorted() == sessions)
        #expect(taken.allSatisfy { $0 == $0.sorted() })
        #expect(taken.map(\.count) == [26, 26, 26, 25])
        #expect(try Shard(parsing: "0/1").contains(session: 7))
    }

    @Test(arguments: ["", "1", "1/", "/4", "a/4", "4/4", "-1/4", "0/0", "1/200000", "1/4/2"])
    func aShardThatCannotBeIsOneLine(_ text: String) {
        #expect(throws: ReplayError.self) { try Shard(parsing: text) }
        do {
            _ = try Shard(parsing: text)
        } catch {
            #expect(error.description.hasPrefix("--shard"), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    /// Four drivers' reports merge into what one driver of all their sends gives.
    @Test func mergedReportsHaveTheTotalsAndPercentilesOfOneDriver() throws {
        var generator = SeededGenerator(seed: 11)
        let errors = (0..<4_000).map { _ in Int64.random(in: -3_000_000...3_000_000, using: &generator) / Int64.random(in: 1...1_000, using: &generator) }
        let lasts: [Int64] = [12_000, -45_000, 7_000, 30_000]
        var parts: [DriveReport] = []
        for shard in 0..<4 {
            var report = DriveReport()
            report.sessions = 10 + shard
            report.connectFailures = shard == 2 ? 1 : 0
            report.bytesSent = Int64(1_000 * (shard + 1))
            report.bytesReceived = Int64(500 * (shard + 1))
            report.failures = [ReplayFailure(session: 40 - shard, reason: "gap")]
            report.midFlowSessions = [shard * 4 + 1]
            report.elapsedSeconds = 2.0 + Double(shard) / 10
            let mine = errors.enumerated().filter { $0.offset % 4 == shard }.map(\.element)
            report.timing = TimingSummary(errorsNanoseconds: mine, last: lasts[shard])
            parts.append(report)
        }
        let merged = try DriveReport.merged(parts.reversed())
        let whole = TimingSummary(errorsNanoseconds: errors, last: lasts.max { abs($0) < abs($1) })

        #expect(merged.timing == whole)
        #expect(merged.timing.samples == 4_000)
        #expect(merged.timing.p99Microseconds >= merged.timing.p50Microseconds)
        #expect(merged.sessions == 46)
        #expect(merged.connectFailures == 1)
        #expect(merged.bytesSent == 10_000)
        #expect(merged.bytesReceived == 5_000)
        #expect(merged.failures.map(\.session) == [37, 38, 39, 40])
        #expect(merged.midFlowSessions == [1, 5, 9, 13])
        #expect(merged.elapsedSeconds == 2.3)
    }

    @Test func aReportWithoutAHistogramCannotBeMerged() throws {
        var old = DriveReport()
        old.timing.histogram = nil
        #expect(throws: ReplayError.self) { try DriveReport.merged([DriveReport(), old]) }
    }

    @Test func aHistogramEntryThatIsNotAPairIsRefused() throws {
        var damaged = DriveReport()
        damaged.timing.histogram = [[12, 3], [40]]
        #expect {
            try DriveReport.merged([DriveReport(), damaged])
        } throws: { error in
            "\(error)" == "report 2 has a histogram_us entry that is not [µs, count]: [40]"
        }
    }
}
