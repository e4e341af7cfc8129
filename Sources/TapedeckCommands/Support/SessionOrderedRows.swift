import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lines of `inspect`'s output, one per session, gathered as sessions close
/// (in whatever order they close) and given back in session order, without
/// holding a capture's worth of them on the heap: past `memoryLimit` bytes
/// they go to an unlinked temporary file (gone when the process ends, even
/// by SIGKILL), and only each line's place stays in memory — 16 bytes a
/// session. Without a writable temporary folder they stay in memory.
struct SessionOrderedRows {
    static let memoryLimit = 4 << 20

    private struct Place {
        var offset: Int
        var index: UInt32
        var length: UInt32
    }

    private var places: [Place] = []
    /// Lines not yet in the file (all of them while there is no file).
    private var pending: [UInt8] = []
    /// Where `pending` starts: the file's length so far.
    private var pendingOffset = 0
    private var file: Int32 = -1
    private var spillRefused = false

    var count: Int { places.count }

    mutating func append(_ line: String, index: Int) {
        let bytes = Array(line.utf8)
        places.append(Place(offset: pendingOffset + pending.count, index: UInt32(truncatingIfNeeded: index), length: UInt32(bytes.count)))
        pending += bytes
        if pending.count >= Self.memoryLimit { spill() }
    }

    /// Each line, in session order (sessions closed in order are the usual
    /// case, so most lines are read from the file one after another).
    mutating func forEachInOrder(_ body: (String) throws -> Void) throws {
        places.sort { $0.index < $1.index }
        var buffer = [UInt8]()
        for place in places {
            let length = Int(place.length)
            if place.offset >= pendingOffset {
                let start = place.offset - pendingOffset
                try body(String(decoding: pending[start..<start + length], as: UTF8.self))
                continue
            }
            if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
            try readFile(into: &buffer, offset: place.offset, length: length)
            try body(String(decoding: buffer[0..<length], as: UTF8.self))
        }
    }

    /// Closes the temporary file (its space goes back to the disk).
    mutating func close() {
        if file >= 0 { Glibc.close(file) }
        file = -1
    }

    /// Moves `pending` to the file. A disk that refuses (full, or no
    /// temporary folder) leaves the lines in memory from then on.
    private mutating func spill() {
        guard !spillRefused else { return }
        if file < 0 {
            guard let opened = Self.openTemporaryFile() else {
                spillRefused = true
                return
            }
            file = opened
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
            spillRefused = true
            return
        }
        pendingOffset += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    private func readFile(into buffer: inout [UInt8], offset: Int, length: Int) throws {
        var done = 0
        try buffer.withUnsafeMutableBytes { bytes in
            while done < length {
                let count = pread(file, bytes.baseAddress! + done, length - done, off_t(offset + done))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw InspectError.listingUnreadable(count == 0 ? EIO : errno) }
                done += count
            }
        }
    }

    private static func openTemporaryFile() -> Int32? {
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((folder + "/tapedeck-inspect.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        unlink(String(cString: template))
        return fd
    }
}
