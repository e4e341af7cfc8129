import Foundation

/// Everything a report page shows, as the page's script reads it: encoded
/// once as JSON into the page. Columns rather than objects where there is
/// one row per session or exchange, so 100,000 sessions stay small.
///
/// Times are microseconds since `origin` (the first session's start), so
/// they are integers; `originNanoseconds` is that instant since the epoch.
public struct ReportData: Codable, Sendable {
    public var title: String
    public var generated: String
    public var files: [String]
    public var filter: String?
    public var originNanoseconds: Int64
    /// Microseconds from `origin` to the end of the last session.
    public var spanMicroseconds: Int64
    public var sessions: SessionColumns
    public var throughput: Throughput
    public var exchanges: ExchangeColumns
    /// Per session (by index, as text): its bytes, for the detail view.
    public var details: [String: SessionDetail]
    /// Sessions whose bytes the page does not carry (over its budget).
    public var detailsLeftOut: Int
    public var protocols: [String: Int]
    public var faults: [String: Int]
    public var settings: [String: String]
    public var redact: [String]
    public var replay: ReplayData?
    /// Seconds between refreshes of a live page; nil for a file.
    public var refreshSeconds: Int?
    /// Problems met while reading (a cut file), for the header.
    public var warnings: [String]
    /// The summary header's facts, in order.
    public var facts: [Fact] = []

    enum CodingKeys: String, CodingKey {
        case title, generated, files, filter, facts, sessions, throughput, exchanges, details, protocols, faults, settings, redact, replay, warnings
        case originNanoseconds = "origin_ns"
        case spanMicroseconds = "span_us"
        case detailsLeftOut = "details_left_out"
        case refreshSeconds = "refresh_s"
    }
}

/// How a session's bar is coloured: how it ended, the worst first.
public enum EndKind: String, Codable, Sendable, CaseIterable {
    case rst, gap, open, mid, fin
}

/// One column per field, one row per session, in index order.
public struct SessionColumns: Codable, Sendable {
    public var index: [Int] = []
    public var start: [Int64] = []
    public var duration: [Int64] = []
    public var end: [EndKind] = []
    public var clientToServer: [Int] = []
    public var serverToClient: [Int] = []
    public var gapBytes: [Int] = []
    /// Index into `endpoints` of each session's client and server.
    public var client: [Int] = []
    public var server: [Int] = []
    public var endpoints: [String] = []
    /// Index into `protocolNames`.
    public var protocolIndex: [Int] = []
    public var protocolNames: [String] = []
    /// Row of the timeline each bar is drawn in (packed: no two overlap).
    public var row: [Int] = []
    public var rows = 0
    /// Faults that acted on a session, by session index (as text).
    public var faults: [String: [String]] = [:]

    public var count: Int { index.count }

    enum CodingKeys: String, CodingKey {
        case index, start, duration, end, endpoints, row, rows, faults
        case clientToServer = "c2s"
        case serverToClient = "s2c"
        case gapBytes = "gap"
        case client, server
        case protocolIndex = "proto"
        case protocolNames = "proto_names"
    }
}

/// Bytes each way per time bin.
public struct Throughput: Codable, Sendable {
    public var binMicroseconds: Int64
    public var clientToServer: [Int]
    public var serverToClient: [Int]

    enum CodingKeys: String, CodingKey {
        case binMicroseconds = "bin_us"
        case clientToServer = "c2s"
        case serverToClient = "s2c"
    }
}

/// One row per exchange (or turn, where the protocol is not framed).
public struct ExchangeColumns: Codable, Sendable {
    public var session: [Int] = []
    public var ordinal: [Int] = []
    /// When the request began, since the origin.
    public var at: [Int64] = []
    /// From the request's last byte to the answer's first; -1: no answer.
    public var latency: [Int64] = []
    public var request: [String] = []
    public var requestBytes: [Int] = []
    public var responseBytes: [Int] = []
    /// Where each exchange's bytes lie in each side's stream, four numbers
    /// an exchange: request start, end; answer start, end (-1: no answer).
    public var offsets: [Int] = []
    /// 1 for generic turns rather than protocol exchanges.
    public var turn: [Int] = []
    /// Exchanges not listed (over the page's budget).
    public var leftOut = 0

    public var count: Int { session.count }

    enum CodingKeys: String, CodingKey {
        case session, ordinal, at, latency, request, offsets, turn
        case requestBytes = "req_bytes"
        case responseBytes = "resp_bytes"
        case leftOut = "left_out"
    }
}

/// What one session carried, in order: data (base64), gaps, FIN, RST.
public struct SessionDetail: Codable, Sendable {
    /// Each event: `[side (0 client, 1 server), microseconds since the
    /// session opened, kind ("d" data, "g" gap, "f" FIN, "r" RST), payload]`,
    /// the payload base64 for data and a count for a gap.
    public var events: [[DetailValue]] = []
    /// Bytes each way the page leaves out of this session (over its share).
    public var omitted = [0, 0]
}

/// A value in a detail event: a number or text.
public enum DetailValue: Codable, Sendable, Hashable {
    case number(Int64)
    case text(String)

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }
}

/// One fact of the summary header: `sessions` → `1,204 (3 RST, 2 still open)`.
public struct Fact: Codable, Sendable, Hashable {
    public var key: String
    public var label: String
    public var value: String
}
