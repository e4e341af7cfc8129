import Foundation
import Recording
#if canImport(Glibc)
import Glibc
#endif

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

    private var waiting = IndexHeap<[UInt8]>()
    private var waitingBytes = 0
    /// Lines in index order, each `[index: 8 bytes][length: 4 bytes][line]`.
    private var ordered = SpillStream()
    /// Runs of lines that waited too long, each in index order, laid out as `ordered`.
    private var overflow = SpillStream()
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
            while let (index, line) = waiting.pop() { Self.write(line, index: index, to: &overflow) }
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
        var heap = IndexHeap<Int>()
        for number in runs.indices {
            if let index = try runs[number].peekIndex() { heap.push(number, key: index) }
        }
        while let (_, number) = heap.pop() {
            try body(String(decoding: try runs[number].nextLine(), as: UTF8.self))
            if let index = try runs[number].peekIndex() { heap.push(number, key: index) }
        }
    }

    /// Closes the temporary files (their space goes back to the disk).
    mutating func close() {
        ordered.close()
        overflow.close()
    }

    private mutating func release(below lowestOpen: Int?) {
        while let top = waiting.lowestKey, lowestOpen.map({ top < $0 }) ?? true, let (index, line) = waiting.pop() {
            waitingBytes -= line.count
            Self.write(line, index: index, to: &ordered)
        }
    }

    private static func write(_ line: [UInt8], index: Int, to stream: inout SpillStream) {
        var header = [UInt8]()
        header.reserveCapacity(12)
        withUnsafeBytes(of: Int64(index).littleEndian) { header += $0 }
        withUnsafeBytes(of: UInt32(line.count).littleEndian) { header += $0 }
        stream.append(header)
        stream.append(line)
    }
}

/// Bytes appended in memory up to `SessionOrderedRows.memoryLimit`, then in
/// an unlinked temporary file; read back in order or at an offset.
private struct SpillStream {
    private var pending: [UInt8] = []
    /// Where `pending` starts: the bytes in the file so far.
    private var pendingOffset = 0
    private var file: Int32 = -1
    private var refused = false

    var length: Int { pendingOffset + pending.count }

    mutating func append(_ bytes: [UInt8]) {
        pending += bytes
        if pending.count >= SessionOrderedRows.memoryLimit { spill() }
    }

    /// `length` bytes from `offset`, from the file, memory or both.
    func read(at offset: Int, length: Int, into buffer: inout [UInt8]) throws {
        let fromFile = max(0, min(length, pendingOffset - offset))
        buffer = [UInt8](repeating: 0, count: fromFile)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { bytes in
            while done < fromFile {
                let count = pread(file, bytes.baseAddress! + done, fromFile - done, off_t(offset + done))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    failure = count == 0 ? EIO : errno
                    return
                }
                done += count
            }
        }
        if failure != 0 { throw InspectError.listingUnreadable(failure) }
        if fromFile < length {
            let start = offset + fromFile - pendingOffset
            buffer += pending[start..<start + (length - fromFile)]
        }
    }

    /// Reads the lines of one run, `[index][length][line]` after another,
    /// `chunk` bytes of the file at a time.
    struct Reader {
        let stream: SpillStream
        private var position: Int
        private let end: Int
        private let chunkSize: Int
        private var chunk: [UInt8] = []
        private var chunkStart = 0

        init(stream: SpillStream, range: Range<Int>, chunk: Int) {
            self.stream = stream
            self.position = range.lowerBound
            self.end = range.upperBound
            self.chunkSize = chunk
        }

        /// The index of the next line, or nil after the last.
        mutating func peekIndex() throws -> Int? {
            guard position < end else { return nil }
            let header = try bytes(at: position, count: 12)
            return header.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }
        }

        mutating func nextLine() throws -> ArraySlice<UInt8> {
            let header = try bytes(at: position, count: 12)
            let length = header.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
            let line = try bytes(at: position + 12, count: length)
            position += 12 + length
            return line
        }

        private mutating func bytes(at offset: Int, count: Int) throws -> ArraySlice<UInt8> {
            guard offset + count <= end else { throw InspectError.listingUnreadable(EIO) }
            if offset < chunkStart || offset + count > chunkStart + chunk.count {
                try stream.read(at: offset, length: min(max(chunkSize, count), end - offset), into: &chunk)
                chunkStart = offset
            }
            return chunk[(offset - chunkStart)..<(offset - chunkStart + count)]
        }
    }

    mutating func close() {
        if file >= 0 { Glibc.close(file) }
        file = -1
    }

    /// Moves `pending` to the file. A disk that refuses (full, or no
    /// temporary folder) leaves the bytes in memory from then on.
    private mutating func spill() {
        guard !refused else { return }
        if file < 0 {
            let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            var template = Array((folder + "/tapedeck-inspect.XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else {
                refused = true
                return
            }
            unlink(String(cString: template))
            file = fd
        }
        var written = 0
        pending.withUnsafeBytes { bytes in
            while written < bytes.count {
                let count = pwrite(file, bytes.baseAddress! + written, bytes.count - written, off_t(pendingOffset + written))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                written += count
            }
        }
        guard written == pending.count else {
            refused = true
            return
        }
        pendingOffset += pending.count
        pending.removeAll(keepingCapacity: true)
    }
}
