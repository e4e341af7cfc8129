import Foundation
import Recording

/// `tapedeck inspect --format json`: the sessions as one JSON array in index
/// order, exactly as `JSONEncoder` prints the array whole, built one session
/// at a time (sessions may come in any order) so a capture of millions of
/// sessions needs no more memory than one.
struct SessionJSONList {
    private let encoder = PrettyJSON.encoder
    private var rows = SessionOrderedRows()

    /// `lowestOpen`: the lowest index of a session still open (see `SessionOrderedRows`).
    mutating func add(_ summary: SessionSummary, lowestOpen: Int?) throws {
        let object = String(decoding: try PrettyJSON.nested(summary, depth: 1, encoder: encoder), as: UTF8.self)
        rows.append(object, index: summary.index, lowestOpen: lowestOpen)
    }

    mutating func write(_ line: (String) throws -> Void) throws {
        defer { rows.close() }
        guard rows.count > 0 else {
            try line(String(decoding: try encoder.encode([SessionSummary]()), as: UTF8.self))
            return
        }
        try line("[")
        var left = rows.count
        try rows.forEachInOrder { object in
            left -= 1
            try line(left > 0 ? object + "," : object)
        }
        try line("]")
    }
}
