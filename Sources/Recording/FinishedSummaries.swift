import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The finished sessions of one recording file, kept for its manifest
/// without a recording's worth of them on the heap: every `runLength`
/// sessions go, sorted by index and already in the manifest's text, to an
/// unlinked file beside the recording (gone with the process, even after a
/// SIGKILL), and the manifest is written by merging those runs. A disk that
/// refuses the spill (full, read-only) leaves them in memory from then on.
struct FinishedSummaries {
    static let runLength = 4096
    /// index, id, text length.
    private static let headerSize = 24

    struct Entry {
        var id: UInt64
        var summary: SessionSummary
    }

    private(set) var count = 0
    private var recent: [Entry] = []
    private let folder: String
    private var file: Int32 = -1
    private var fileLength = 0
    /// Byte ranges of the runs in the file, each sorted by index.
    private var runs: [Range<Int>] = []
    private var spillRefused = false

    /// `folder`: where the spill file goes (the recording's).
    init(folder: String) {
        self.folder = folder
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
        let sources = runs.map { RunCursor(file: file, range: $0) }
        let inMemory = recent.sorted { $0.summary.index < $1.summary.index }
        var memoryPosition = 0
        var heap = IndexHeap<Int>()
        for (number, source) in sources.enumerated() {
            if let index = try source.peekIndex() { heap.push(number, key: index) }
        }
        if let first = inMemory.first { heap.push(sources.count, key: first.summary.index) }
        while let (_, source) = heap.pop() {
            if source == sources.count {
                let entry = inMemory[memoryPosition]
                let summary = unrecorded[entry.id].map { withLost(entry.summary, $0) } ?? entry.summary
                try body(try Manifest.sessionText(summary))
                memoryPosition += 1
                if memoryPosition < inMemory.count { heap.push(source, key: inMemory[memoryPosition].summary.index) }
                continue
            }
            let (id, text) = try sources[source].next()
            if let lost = unrecorded[id] {
                // Rare (a failed write, or bytes sent after recording stopped): read the session back to count them.
                let summary = try JSONDecoder().decode(SessionSummary.self, from: Data(text))
                try body(try Manifest.sessionText(withLost(summary, lost)))
            } else {
                try body(text)
            }
            if let index = try sources[source].peekIndex() { heap.push(source, key: index) }
        }
    }

    /// Every session back in memory, in no particular order, and the spill
    /// file dropped (after a failed write, where each must be checked
    /// against what the file holds).
    mutating func takeAll() throws -> [Entry] {
        var all = recent
        for run in runs {
            let cursor = RunCursor(file: file, range: run)
            while try cursor.peekIndex() != nil {
                let (id, text) = try cursor.next()
                all.append(Entry(id: id, summary: try JSONDecoder().decode(SessionSummary.self, from: Data(text))))
            }
        }
        close()
        recent = []
        runs = []
        count = 0
        return all
    }

    mutating func close() {
        if file >= 0 { Glibc.close(file) }
        file = -1
        fileLength = 0
    }

    private mutating func spill() {
        guard !spillRefused else { return }
        if file < 0 {
            var template = Array((folder + "/.tapedeck-sessions.XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else {
                spillRefused = true
                return
            }
            unlink(String(cString: template))
            file = fd
        }
        var bytes: [UInt8] = []
        for entry in recent.sorted(by: { $0.summary.index < $1.summary.index }) {
            guard let text = try? Manifest.sessionText(entry.summary) else {
                spillRefused = true
                return
            }
            Self.appendHeader(index: entry.summary.index, id: entry.id, length: text.count, to: &bytes)
            bytes += text
        }
        var written = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = pwrite(file, buffer.baseAddress! + written, buffer.count - written, off_t(fileLength + written))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                written += count
            }
        }
        guard written == bytes.count else {
            spillRefused = true
            return
        }
        runs.append(fileLength..<fileLength + bytes.count)
        fileLength += bytes.count
        recent.removeAll(keepingCapacity: true)
    }

    private static func appendHeader(index: Int, id: UInt64, length: Int, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: Int64(index).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(length).littleEndian) { bytes += $0 }
    }

    /// Reads one run of the spill file, record by record, through a small buffer.
    private final class RunCursor {
        private let file: Int32
        private var position: Int
        private let end: Int
        private var buffer: [UInt8] = []
        private var bufferStart = 0

        init(file: Int32, range: Range<Int>) {
            self.file = file
            self.position = range.lowerBound
            self.end = range.upperBound
        }

        func peekIndex() throws -> Int? {
            guard position < end else { return nil }
            return Int(Int64(littleEndian: try integer(at: position)))
        }

        func next() throws -> (id: UInt64, text: [UInt8]) {
            let id = UInt64(littleEndian: try integer(at: position + 8))
            let length = Int(UInt64(littleEndian: try integer(at: position + 16)))
            let start = position + FinishedSummaries.headerSize
            try load(start..<start + length)
            position = start + length
            return (id, Array(buffer[(start - bufferStart)..<(start - bufferStart + length)]))
        }

        private func integer<Value: FixedWidthInteger>(at offset: Int) throws -> Value {
            try load(offset..<offset + MemoryLayout<Value>.size)
            return buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset - bufferStart, as: Value.self) }
        }

        /// Makes `range` of the file present in `buffer`, reading 16 KiB (or the record) at a time.
        private func load(_ range: Range<Int>) throws {
            if range.lowerBound >= bufferStart && range.upperBound <= bufferStart + buffer.count { return }
            let length = min(max(16 << 10, range.count), end - range.lowerBound)
            guard length >= range.count else { throw RecordingError(.output, "the sessions kept for the manifest were cut short") }
            buffer = [UInt8](repeating: 0, count: length)
            bufferStart = range.lowerBound
            var done = 0
            var failure: Int32 = 0
            buffer.withUnsafeMutableBytes { bytes in
                while done < length {
                    let count = pread(file, bytes.baseAddress! + done, length - done, off_t(bufferStart + done))
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        failure = count == 0 ? EIO : errno
                        return
                    }
                    done += count
                }
            }
            if failure != 0 { throw RecordingError(.output, "cannot read back the sessions kept for the manifest: \(PlainReason.errno(failure))") }
        }
    }
}
