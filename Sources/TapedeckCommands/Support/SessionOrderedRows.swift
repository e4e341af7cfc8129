import Recording

/// Lines of `inspect`'s output, one per session, gathered as sessions close
/// (in whatever order they close) and given back in session order, in
/// memory that does not grow with the capture.
///
/// A line waits in memory only while a session with a lower index is still
/// open; once every session below it has closed, it goes to the listing in
/// order (`ordered`: memory up to `memoryLimit`, then an unlinked temporary
/// file, gone with the process even after a SIGKILL). Lines kept waiting
/// past `memoryLimit` (behind a session open for a long time) go, sorted,
/// as one run to a second file; at the end the runs and the ordered lines
/// are merged. Without a writable temporary folder, lines stay in memory.
struct SessionOrderedRows {
    static let memoryLimit = 1 << 20

    private var waiting = MinimumHeap<Int, [UInt8]>()
    private var waitingBytes = 0
    /// Lines in index order, each `[index: 8 bytes][length: 4 bytes][line]`.
    private var ordered = SpillStream(folder: SpillStream.temporaryFolder, memoryLimit: memoryLimit)
    /// Runs of lines that waited too long, each in index order, laid out as `ordered`.
    private var overflow = SpillStream(folder: SpillStream.temporaryFolder, memoryLimit: memoryLimit)
    private var overflowRuns: [Range<Int>] = []

    private(set) var count = 0

    /// Adds session `index`'s line; `lowestOpen` is the lowest index of a
    /// session still open (nil: none), below which every line can go out.
    mutating func append(_ line: String, index: Int, lowestOpen: Int?) {
        count += 1
        let bytes = Array(line.utf8)
        waiting.push(bytes, key: index)
        waitingBytes += bytes.count
        release(below: lowestOpen)
        if waitingBytes > Self.memoryLimit {
            // Behind a long-lived session: set them aside as one sorted run.
            let start = overflow.length
            while let (index, line) = waiting.pop() { overflow.appendRecord(line, index: index) }
            overflowRuns.append(start..<overflow.length)
            waitingBytes = 0
        }
    }

    /// Each line, in session order.
    mutating func forEachInOrder(_ body: (String) throws -> Void) throws {
        release(below: nil)
        // The ordered lines read in large chunks; the runs (there may be many) in small ones.
        var runs = [SpillStream.Reader(stream: ordered, range: 0..<ordered.length, chunk: 256 << 10)]
        for range in overflowRuns { runs.append(SpillStream.Reader(stream: overflow, range: range, chunk: 16 << 10)) }
        try mergeInIndexOrder(sources: runs.count) { number in
            try runs[number].peekIndex()
        } take: { number in
            try body(String(decoding: try runs[number].nextRecord(), as: UTF8.self))
        }
    }

    /// Closes the temporary files (their space goes back to the disk).
    mutating func close() {
        ordered.close()
        overflow.close()
    }

    private mutating func release(below lowestOpen: Int?) {
        while let top = waiting.first?.key, lowestOpen.map({ top < $0 }) ?? true, let (index, line) = waiting.pop() {
            waitingBytes -= line.count
            ordered.appendRecord(line, index: index)
        }
    }
}
