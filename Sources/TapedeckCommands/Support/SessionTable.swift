import Recording

/// The human-readable list of sessions `tapedeck inspect` prints. When the
/// recording's manifest says faults acted on some sessions, a last column
/// names them with what they did (`reset_peer_upstream: reset`).
struct SessionTable {
    let summaries: [SessionSummary]

    init(_ summaries: [SessionSummary]) {
        self.summaries = summaries
    }

    var rendered: String {
        let faulted = summaries.filter { !($0.faults ?? []).isEmpty }.count
        var header = ["#", "client", "server", "start", "duration", "client→server", "server→client", "end"]
        if faulted > 0 { header.append("faults") }
        var rows = summaries.map { summary in
            var row = [
                String(summary.index),
                summary.client.description,
                summary.server.description,
                summary.start.rfc3339,
                Self.duration(nanoseconds: summary.durationNanoseconds),
                Self.bytes(summary.clientToServer),
                Self.bytes(summary.serverToClient),
                Self.end(summary),
            ]
            if faulted > 0 { row.append((summary.faults ?? []).map(\.label).joined(separator: ", ")) }
            return row
        }
        rows.insert(header, at: 0)
        let rightAligned: Set<Int> = [0, 4, 5, 6]
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in rows {
            let cells = row.indices.map { column -> String in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned.contains(column) ? padding + row[column] : row[column] + padding
            }
            text += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        let sent = summaries.reduce(0) { $0 + $1.clientToServer.bytes }
        let received = summaries.reduce(0) { $0 + $1.serverToClient.bytes }
        text += "\(sessionCount(summaries.count)), \(sent) bytes client→server, \(received) bytes server→client"
        if faulted > 0 { text += ", \(faulted) touched by faults" }
        text += "\n"
        return text
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

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// "1 session", "3 sessions".
func sessionCount(_ count: Int) -> String {
    count == 1 ? "1 session" : "\(count) sessions"
}
