import Foundation
import Replay

/// A `replay serve` or `replay drive` report (`--report FILE.json`), as the
/// page's comparison section shows it.
public struct ReplayData: Codable, Sendable {
    /// `serve` or `drive`.
    public var kind: String
    public var file: String
    /// The counts a reader looks at first, in order: label and value.
    public var counts: [[String]]
    /// Requests answered from the recording, by how they matched.
    public var matched: [String: Int]
    public var unmatched: [UnmatchedRequest]
    public var unmatchedCount: Int
    public var unused: [MatchReport.UnusedExchange]
    public var unusedCount: Int
    public var differences: [ExchangeDifference]
    public var mismatches: [Mismatch]
    public var failures: [ReplayFailure]
    /// Send-time error (drive): p50, p99, max and the end's drift, microseconds.
    public var timing: TimingSummary?
    /// Sessions the replay did not use (serve), or whose answers differed (drive).
    public var sessionsMarked: [Int]

    enum CodingKeys: String, CodingKey {
        case kind, file, counts, matched, unmatched, unused, differences, mismatches, failures, timing
        case unmatchedCount = "unmatched_count"
        case unusedCount = "unused_count"
        case sessionsMarked = "sessions_marked"
    }

    /// Reads a report file: a drive report has `timing`, a serve report `connections`.
    public static func load(path: String) throws -> ReplayData {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReportError("cannot read the replay report \(path): \(error.localizedDescription)")
        }
        let keys = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]).map { Set($0.keys) } ?? []
        let decoder = JSONDecoder()
        do {
            if keys.contains("timing") {
                return ReplayData(drive: try decoder.decode(DriveReport.self, from: data), file: path)
            }
            if keys.contains("connections") {
                return ReplayData(serve: try decoder.decode(ServeReport.self, from: data), file: path)
            }
        } catch {
            throw ReportError("\(path) is not a report of replay serve or drive: \(error)")
        }
        throw ReportError("\(path) is not a report of replay serve or drive (written by --report FILE.json)")
    }

    init(drive report: DriveReport, file: String) {
        kind = "drive"
        self.file = file
        counts = [
            ["sessions", "\(report.sessions)"],
            ["connect failures", "\(report.connectFailures)"],
            ["bytes sent", "\(report.bytesSent)"],
            ["bytes received", "\(report.bytesReceived)"],
            ["exchanges that differ", "\(report.differences.count)"],
            ["byte mismatches", "\(report.mismatches.count)"],
            ["failed sessions", "\(report.failures.count)"],
            ["elapsed", String(format: "%.3f s", report.elapsedSeconds)],
        ]
        matched = [:]
        unmatched = []
        unmatchedCount = 0
        unused = []
        unusedCount = 0
        differences = report.differences
        mismatches = report.mismatches
        failures = report.failures
        timing = report.timing
        sessionsMarked = Array(Set(report.differences.map(\.session) + report.mismatches.map(\.session) + report.failures.map(\.session))).sorted()
    }

    init(serve report: ServeReport, file: String) {
        kind = "serve"
        self.file = file
        counts = [
            ["connections", "\(report.connections)"],
            ["sessions used", "\(report.sessionsUsed)"],
            ["sessions unused", "\(report.unusedSessions.count)"],
            ["refused", "\(report.refused)"],
            ["byte mismatches", "\(report.mismatches.count)"],
            ["failed sessions", "\(report.failures.count)"],
        ]
        if let match = report.match {
            counts += [
                ["protocol", match.protocolName],
                ["recorded exchanges", "\(match.exchanges)"],
                ["requests matched", "\(match.answeredCount)"],
                ["requests unmatched", "\(match.unmatchedCount)"],
                ["exchanges unused", "\(match.unusedExchangeCount)"],
            ]
        }
        matched = report.match?.answered ?? [:]
        unmatched = report.match?.unmatched ?? []
        unmatchedCount = report.match?.unmatchedCount ?? 0
        unused = report.match?.unusedExchanges ?? []
        unusedCount = report.match?.unusedExchangeCount ?? 0
        differences = []
        mismatches = report.mismatches
        failures = report.failures
        timing = nil
        sessionsMarked = (report.match?.unusedSessions ?? report.unusedSessions).sorted()
    }
}

/// A report that cannot be made, in one line for the user.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
