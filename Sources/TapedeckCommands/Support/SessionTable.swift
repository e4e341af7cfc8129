import Recording

/// The human-readable list of sessions `tapedeck inspect` prints. When the
/// recording's manifest says faults acted on some sessions, a last column
/// names them with what they did (`reset_peer_upstream: reset`).
struct SessionTable {
    private static let header = ["#", "client", "server", "start", "duration", "client→server", "server→client", "end", "faults"]
    private static let rightAligned: Set<Int> = [0, 4, 5, 6]
    /// Cells are kept joined by NUL, which no address, Unix socket path or
    /// time holds.
    private static let separator: Character = "\0"

    private var rows = SessionOrderedRows()
    private var widths = header.map(\.count)
    private var faulted = 0
    private var sent = 0
    private var received = 0

    /// Adds a session's row (sessions may come in any order; the table lists them by index).
    /// `lowestOpen`: the lowest index of a session still open (see `SessionOrderedRows`).
    mutating func add(_ summary: SessionSummary, lowestOpen: Int?) {
        let faults = (summary.faults ?? []).map(\.label).joined(separator: ", ")
        let cells = [
            String(summary.index),
            summary.client.description,
            summary.server.description,
            summary.start.rfc3339,
            Self.duration(nanoseconds: summary.durationNanoseconds),
            Self.bytes(summary.clientToServer),
            Self.bytes(summary.serverToClient),
            Self.end(summary),
            faults,
        ]
        for (column, cell) in cells.enumerated() { widths[column] = max(widths[column], cell.count) }
        if !faults.isEmpty { faulted += 1 }
        sent += summary.clientToServer.bytes
        received += summary.serverToClient.bytes
        rows.append(cells.joined(separator: String(Self.separator)), index: summary.index, lowestOpen: lowestOpen)
    }

    /// Writes the table, its rows in index order, and the totals line; the
    /// faults column only when a session has faults.
    mutating func write(_ line: (String) throws -> Void) throws {
        defer { rows.close() }
        let columns = faulted > 0 ? Self.header.count : Self.header.count - 1
        func render(_ cells: [Substring]) -> String {
            var text = ""
            for column in 0..<columns {
                let cell = column < cells.count ? cells[column] : ""
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { text += "  " }
                text += Self.rightAligned.contains(column) ? padding + cell : cell + padding
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        try line(render(Self.header.map { Substring($0) }))
        try rows.forEachInOrder { row in
            try line(render(row.split(separator: Self.separator, omittingEmptySubsequences: false)))
        }
        var totals = "\(sessionCount(rows.count)), \(sent) bytes client→server, \(received) bytes server→client"
        if faulted > 0 { totals += ", \(faulted) touched by faults" }
        try line(totals)
    }

    static func end(_ summary: SessionSummary) -> String {
        var text = summary.end == .open ? "open" : summary.end.description
        if summary.hasGap { text += "+gap" }
        if summary.startedMidFlow { text += " (mid-flow)" }
        return text
    }

    static func bytes(_ direction: DirectionSummary) -> String {
        direction.gapBytes > 0 ? "\(direction.bytes) (-\(direction.gapBytes))" : String(direction.bytes)
    }

    static func duration(nanoseconds: Int64) -> String {
        let value = Double(nanoseconds)
        switch nanoseconds {
        case ..<1_000: return "\(nanoseconds)ns"
        case ..<1_000_000: return format(value / 1_000) + "µs"
        case ..<1_000_000_000: return format(value / 1_000_000) + "ms"
        default: return format(value / 1_000_000_000) + "s"
        }
    }

    private static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// "1 session", "3 sessions".
func sessionCount(_ count: Int) -> String {
    count == 1 ? "1 session" : "\(count) sessions"
}
