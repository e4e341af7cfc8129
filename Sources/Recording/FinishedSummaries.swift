import Foundation

/// The finished sessions of one recording file, kept for its manifest
/// without a recording's worth of them on the heap: every `runLength`
/// sessions go, sorted by index and already in the manifest's text, as one
/// run to a `SpillStream` beside the recording, and the manifest is written
/// by merging the runs.
struct FinishedSummaries {
    static let runLength = 4096

    struct Entry {
        var id: UInt64
        var summary: SessionSummary
    }

    private(set) var count = 0
    private var recent: [Entry] = []
    /// Each record: the session's id (8 bytes), then its manifest text.
    private var spilled: SpillStream
    private var runs: [Range<Int>] = []
    private let folder: String

    /// `folder`: where the spill file goes (the recording's).
    init(folder: String) {
        self.folder = folder
        spilled = SpillStream(folder: folder, memoryLimit: 1 << 20)
    }

    mutating func append(_ entry: Entry) {
        recent.append(entry)
        count += 1
        if recent.count >= Self.runLength { spill() }
    }

    /// Every session in index order, as the manifest's text, with the bytes
    /// `unrecorded` says it lost (by session id: client→server,
    /// server→client) counted in.
    func forEachText(unrecorded: [UInt64: [Int]], _ body: ([UInt8]) throws -> Void) throws {
        func withLost(_ summary: SessionSummary, _ lost: [Int]) -> SessionSummary {
            var summary = summary
            summary.clientToServer.unrecordedBytes = lost[0]
            summary.serverToClient.unrecordedBytes = lost[1]
            return summary
        }
        var sources = runs.map { SpillStream.Reader(stream: spilled, range: $0, chunk: 16 << 10) }
        let inMemory = recent.sorted { $0.summary.index < $1.summary.index }
        var memoryPosition = 0
        // The runs, then the sessions still in memory as one more source.
        let memory = sources.count
        try mergeInIndexOrder(sources: sources.count + 1) { source in
            if source == memory { return memoryPosition < inMemory.count ? inMemory[memoryPosition].summary.index : nil }
            return try sources[source].peekIndex()
        } take: { source in
            if source == memory {
                let entry = inMemory[memoryPosition]
                let summary = unrecorded[entry.id].map { withLost(entry.summary, $0) } ?? entry.summary
                try body(try Manifest.sessionText(summary))
                memoryPosition += 1
                return
            }
            let (id, text) = Self.split(try sources[source].nextRecord())
            if let lost = unrecorded[id] {
                // Rare (a failed write, or bytes sent after recording stopped): read the session back to count them.
                let summary = try JSONDecoder().decode(SessionSummary.self, from: Data(text))
                try body(try Manifest.sessionText(withLost(summary, lost)))
            } else {
                try body(Array(text))
            }
        }
    }

    /// Every session back in memory, in no particular order, and the spill
    /// file dropped (after a failed write, where each must be checked
    /// against what the file holds).
    mutating func takeAll() throws -> [Entry] {
        var all = recent
        for run in runs {
            var reader = SpillStream.Reader(stream: spilled, range: run, chunk: 64 << 10)
            while try reader.peekIndex() != nil {
                let (id, text) = Self.split(try reader.nextRecord())
                all.append(Entry(id: id, summary: try JSONDecoder().decode(SessionSummary.self, from: Data(text))))
            }
        }
        close()
        spilled = SpillStream(folder: folder, memoryLimit: 1 << 20)
        recent = []
        runs = []
        count = 0
        return all
    }

    mutating func close() {
        spilled.close()
    }

    /// Sorts the sessions in memory into a run of the spill stream (kept in
    /// memory instead when they cannot be encoded).
    private mutating func spill() {
        let start = spilled.length
        var texts: [(Int, [UInt8])] = []
        for entry in recent.sorted(by: { $0.summary.index < $1.summary.index }) {
            guard let text = try? Manifest.sessionText(entry.summary) else { return }
            var record = withUnsafeBytes(of: entry.id.littleEndian) { Array($0) }
            record += text
            texts.append((entry.summary.index, record))
        }
        for (index, record) in texts { spilled.appendRecord(record, index: index) }
        runs.append(start..<spilled.length)
        recent.removeAll(keepingCapacity: true)
    }

    private static func split(_ record: ArraySlice<UInt8>) -> (id: UInt64, text: ArraySlice<UInt8>) {
        let id = record.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        return (id, record.dropFirst(8))
    }
}
