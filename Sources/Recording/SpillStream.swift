import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Records keyed by session index (`[index: 8 bytes][length: 4][bytes]`),
/// appended in memory up to `memoryLimit` and then in an unlinked file in
/// `folder` (gone with the process, even after a SIGKILL), read back run by
/// run: what keeps a recording's worth of per-session results (inspect's
/// listing, a manifest's sessions) off the heap. A disk that refuses the
/// file (full, read-only, no such folder) leaves them in memory from then on.
package struct SpillStream {
    /// `$TMPDIR`, else /tmp.
    package static var temporaryFolder: String {
        ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    private let folder: String
    private let memoryLimit: Int
    private var pending: [UInt8] = []
    /// Where `pending` starts: the bytes in the file so far.
    private var pendingOffset = 0
    private var file: Int32 = -1
    private var refused = false

    package init(folder: String, memoryLimit: Int) {
        self.folder = folder
        self.memoryLimit = memoryLimit
    }

    package var length: Int { pendingOffset + pending.count }

    package mutating func appendRecord(_ bytes: [UInt8], index: Int) {
        withUnsafeBytes(of: Int64(index).littleEndian) { pending += $0 }
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { pending += $0 }
        pending += bytes
        if pending.count >= memoryLimit { spill() }
    }

    /// `length` bytes from `offset`, from the file, memory or both.
    func read(at offset: Int, length: Int, into buffer: inout [UInt8]) throws {
        let fromFile = max(0, min(length, pendingOffset - offset))
        buffer = [UInt8](repeating: 0, count: fromFile)
        let failure = buffer.withUnsafeMutableBytes { bytes in
            transferWhole(fromFile) { done in pread(file, bytes.baseAddress! + done, fromFile - done, off_t(offset + done)) }
        }
        if failure != 0 { throw SpillError(code: failure) }
        if fromFile < length {
            let start = offset + fromFile - pendingOffset
            buffer += pending[start..<start + (length - fromFile)]
        }
    }

    /// Reads the records of one run (a range of the stream), one after
    /// another, `chunk` bytes of the file at a time.
    package struct Reader {
        let stream: SpillStream
        private var position: Int
        private let end: Int
        private let chunkSize: Int
        private var chunk: [UInt8] = []
        private var chunkStart = 0

        package init(stream: SpillStream, range: Range<Int>, chunk: Int) {
            self.stream = stream
            self.position = range.lowerBound
            self.end = range.upperBound
            self.chunkSize = chunk
        }

        /// The index of the next record, or nil after the last.
        package mutating func peekIndex() throws -> Int? {
            guard position < end else { return nil }
            let header = try bytes(at: position, count: 12)
            return header.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }
        }

        package mutating func nextRecord() throws -> ArraySlice<UInt8> {
            let header = try bytes(at: position, count: 12)
            let length = header.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
            let line = try bytes(at: position + 12, count: length)
            position += 12 + length
            return line
        }

        private mutating func bytes(at offset: Int, count: Int) throws -> ArraySlice<UInt8> {
            guard offset + count <= end else { throw SpillError(code: EIO) }
            if offset < chunkStart || offset + count > chunkStart + chunk.count {
                try stream.read(at: offset, length: min(max(chunkSize, count), end - offset), into: &chunk)
                chunkStart = offset
            }
            return chunk[(offset - chunkStart)..<(offset - chunkStart + count)]
        }
    }

    package mutating func close() {
        if file >= 0 { Glibc.close(file) }
        file = -1
    }

    /// Moves `pending` to the file. A disk that refuses (full, or no
    /// temporary folder) leaves the bytes in memory from then on.
    private mutating func spill() {
        guard !refused else { return }
        if file < 0 {
            let fd = openUnlinkedFile(in: folder)
            guard fd >= 0 else {
                refused = true
                return
            }
            file = fd
        }
        let failure = pending.withUnsafeBytes { bytes in
            transferWhole(bytes.count) { done in pwrite(file, bytes.baseAddress! + done, bytes.count - done, off_t(pendingOffset + done)) }
        }
        guard failure == 0 else {
            refused = true
            return
        }
        pendingOffset += pending.count
        pending.removeAll(keepingCapacity: true)
    }
}

/// Reading back a spill file failed (a disk error).
package struct SpillError: Error, CustomStringConvertible {
    package var code: Int32
    package var description: String { "cannot read back what was set aside in a temporary file: \(PlainReason.errno(code))" }
}
