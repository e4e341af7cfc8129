import CLibPCAP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one classic pcap file: libpcap creates the dump and writes its
/// file header (`pcap_dump_fopen`), and every record after it is written
/// whole by this writer.
///
/// Threading: a writer is owned by one thread or task at a time; it is
/// `Sendable` only so that its owner may hand it over.
///
/// Durability: records are gathered — small pieces copied into a staging
/// buffer, large payloads referenced where the caller keeps them — and handed
/// to the kernel with `writev(2)`, so every write ends on a record boundary (libpcap's own `pcap_dump` makes two `fwrite`s per record, and
/// stdio's buffer flushes fall anywhere). A process killed between writes
/// leaves a file every reader opens, missing at most what was written since
/// the last `flush()`; a kill that lands inside a large write can still cut
/// it short, which readers take as a torn last record.
///
/// Failure: when a write fails (disk full, I/O error, file size limit), the
/// file is cut back to its last whole record, the writer stops, and every
/// later call throws that same error (`failure`).
public final class PcapWriter: @unchecked Sendable {
    /// The largest snapshot length libpcap's readers accept.
    public static let maximumSnapshotLength = 262_144
    /// The most record bytes gathered before they are written out.
    public static let defaultStagingCapacity = 1 << 20
    /// Frames (and payloads) this large are not copied: they go to the
    /// kernel from the caller's buffer, in the same `writev` as the records
    /// gathered before them.
    public static let directFrameSize = 16 << 10
    /// Referenced bytes gathered before they are written out, and pieces:
    /// writes stay large without holding the caller's buffers for long.
    static let referencedLimit = 1 << 20
    /// (1,024 is also IOV_MAX, the most one `writev` takes.)
    static let pieceLimit = 1024
    static let recordHeaderSize = 16
    static let fileHeaderSize: Int64 = 24
    /// The record header a recycled file ends in, right after its last
    /// whole record, until its records reach past what it held before:
    /// captured and original length all ones, which libpcap, Wireshark and
    /// `PcapReader` refuse (`PcapReader` says the recording was
    /// interrupted there).
    static let interruptionMarker: (UInt32, UInt32, UInt32, UInt32) = (0, 0, .max, .max)
    /// The bytes of a record header that a write over old storage puts last:
    /// its time and captured length.
    static let committingBytes = 12

    /// The path as given (`-`: standard output).
    public let path: String
    /// True for `-`: the records go to standard output.
    public let writesStandardOutput: Bool
    /// False when the records go to something other than a regular file: a
    /// pipe, a FIFO (`mkfifo`, read by `wireshark -k -i`), a terminal or a
    /// device such as `/dev/null`. Such an output is never removed,
    /// renamed, re-permissioned or read back.
    public let writesRegularFile: Bool
    /// The path as errors name it.
    private let name: String
    public let linkType: LinkType
    public let snapshotLength: Int

    private var pcap: OpaquePointer?
    private var dumper: OpaquePointer?
    private var descriptor: Int32 = -1
    private var staging: Staging
    /// What the next write hands the kernel, in file order: ranges of
    /// `staging` and bytes the caller keeps alive until then.
    private var pieces: [Piece] = []
    private var referencedBytes = 0
    /// Where each gathered record ends, counted from the first gathered byte.
    private var recordEnds: [Int] = []
    /// Bytes in the file: its header and the whole records written so far.
    private var fileSize: Int64 = 0
    /// Where the file header starts in the output (0 but for standard
    /// output redirected to a file that held something before).
    private var startOffset: Int64 = 0
    /// False for a pipe or terminal: a failed write cannot be taken back.
    private var truncatable = true
    /// Where what a recycled file held before ends, while the records have
    /// not yet reached it: until then every write commits itself last and
    /// leaves `interruptionMarker` after it (`init(path:recycling:)`).
    private var staleEnd: Int64?
    private var frameCount = 0
    public private(set) var failure: PcapError?

    /// Creates `path` with `mode` (0600 by default: recordings of production
    /// traffic carry secrets) and writes the file header. An existing file is
    /// replaced, unless `overwrite` is false: then it is left alone and
    /// `PcapError.Code.exists` thrown. When the header cannot be written
    /// (disk full), the file is removed again.
    ///
    /// `-` writes to standard output (as `pcap_dump_open` does), through a
    /// descriptor of its own: records reach it whole too, and a reader that
    /// goes away fails the next write with `EPIPE` (SIGPIPE must be ignored).
    /// What a pipe already took cannot be taken back; standard output
    /// redirected to a file is cut back like any file.
    public convenience init(
        path: String,
        linkType: LinkType = .ethernet,
        snapshotLength: Int = PcapWriter.maximumSnapshotLength,
        mode: mode_t = 0o600,
        overwrite: Bool = true,
        stagingCapacity: Int = PcapWriter.defaultStagingCapacity
    ) throws {
        let writesStandardOutput = path == "-"
        let name = writesStandardOutput ? "standard output" : path
        // Something other than a regular file already at the path (a FIFO,
        // /dev/null) is written as it is: never created, truncated or
        // replaced. Opening a FIFO waits for its reader, as tcpdump's does.
        let existingStream = !writesStandardOutput && Self.isStream(path)
        let fd: Int32
        if writesStandardOutput {
            fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
        } else if existingStream {
            fd = open(path, O_WRONLY | O_CLOEXEC)
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), mode)
        }
        guard fd >= 0 else {
            let number = errno
            if number == EEXIST {
                throw PcapError(code: .exists, path: name, message: "already exists; it was left as it is")
            }
            throw PcapError(code: .open, path: name, message: "cannot \(existingStream ? "open" : "create"): \(Self.reason(number))", errorNumber: number)
        }
        try self.init(
            descriptor: fd, path: path, creating: !writesStandardOutput && !existingStream, staleEnd: nil,
            linkType: linkType, snapshotLength: snapshotLength, mode: mode, stagingCapacity: stagingCapacity
        )
    }

    #if os(Linux)
    /// Writes `path` in the storage of `old`, a capture this process wrote
    /// and no longer needs (the oldest file of a ring): `old` is renamed to
    /// `path` and written over from its start, so the file system's pages
    /// (tmpfs memory, page cache, disk blocks) are used again rather than
    /// freed and allocated anew. Nil, with `old` left as it was, when `old`
    /// is anything but a regular file of one link owned by this user that
    /// no other descriptor has open — a reader, a copy, a command still at
    /// work on it — (a write lease is granted only then) or opens while it
    /// is taken over (the lease is then being broken; an open that comes
    /// as it is given back finds a capture of no records yet), or when `path`
    /// exists and `overwrite` is false. Throws as `init(path:)` does when
    /// the header cannot be written; the file is then removed.
    ///
    /// What `old` held past the records written so far must never read as
    /// theirs, even after a kill. So until the records reach past its old
    /// end, the file ends in `interruptionMarker` (a record header no reader
    /// accepts) just after the last whole record, and every write commits
    /// itself last: all of its bytes and a new marker after them first,
    /// then the first record's time and captured length over the old
    /// marker. A write cut short by a kill leaves the old marker whole, or
    /// its length field part old (all ones) and so still refused. Closing
    /// cuts the file to its records.
    public convenience init?(
        path: String,
        recycling old: String,
        linkType: LinkType = .ethernet,
        snapshotLength: Int = PcapWriter.maximumSnapshotLength,
        mode: mode_t = 0o600,
        overwrite: Bool = true,
        stagingCapacity: Int = PcapWriter.defaultStagingCapacity
    ) throws {
        // A write cut short keeps a record's length refused only where its
        // top byte is written last: on a little-endian host.
        guard 1.littleEndian == 1, path != "-", old != path, overwrite || access(path, F_OK) != 0 else { return nil }
        let fd = open(old, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_nlink == 1,
              status.st_uid == geteuid(), status.st_size >= Self.fileHeaderSize + Int64(Self.recordHeaderSize),
              // Should another open it while the lease is held, the kernel
              // says so with SIGURG, which is ignored by default.
              fcntl(fd, Self.setSignal, SIGURG) == 0, fcntl(fd, Self.setLease, Int32(F_WRLCK)) == 0
        else {
            Glibc.close(fd)
            return nil
        }
        var firstRecord = Self.interruptionMarker
        let saved = withUnsafeMutableBytes(of: &firstRecord) { pread(fd, $0.baseAddress, $0.count, off_t(Self.fileHeaderSize)) } == Self.recordHeaderSize
        var marker = Self.interruptionMarker
        let marked = saved && withUnsafeBytes(of: &marker) { pwrite(fd, $0.baseAddress, $0.count, off_t(Self.fileHeaderSize)) } == Self.recordHeaderSize
        var recycled = marked && rename(old, path) == 0
        // One that opened the file since the lease was granted (a reader, a
        // copy) waits until it is given back, and the lease says it is being
        // broken: that one gets the file as it was, and it is removed as usual.
        if recycled, fcntl(fd, Self.getLease) != Int32(F_WRLCK), rename(path, old) == 0 {
            recycled = false
        }
        if marked, !recycled {
            _ = withUnsafeBytes(of: &firstRecord) { pwrite(fd, $0.baseAddress, $0.count, off_t(Self.fileHeaderSize)) }
        }
        _ = fcntl(fd, Self.setLease, Int32(F_UNLCK))
        guard recycled else {
            Glibc.close(fd)
            return nil
        }
        try self.init(
            descriptor: fd, path: path, creating: true, staleEnd: Int64(status.st_size),
            linkType: linkType, snapshotLength: snapshotLength, mode: mode, stagingCapacity: stagingCapacity
        )
    }

    /// fcntl's F_SETSIG, F_SETLEASE and F_GETLEASE (Linux), which Swift's Glibc leaves out.
    private static let setSignal: Int32 = 10
    private static let setLease: Int32 = 1024
    private static let getLease: Int32 = 1025
    #endif

    /// Writes the file header to `fd`, open on `path`. `creating`: the file
    /// is this writer's (permissioned with `mode`, removed again when its
    /// header cannot be written). `staleEnd`: where what the file held
    /// before ends, when it is written over (`init(path:recycling:)`).
    private init(
        descriptor fd: Int32, path: String, creating: Bool, staleEnd: Int64?,
        linkType: LinkType, snapshotLength: Int, mode: mode_t, stagingCapacity: Int
    ) throws {
        self.path = path
        let writesStandardOutput = path == "-"
        self.writesStandardOutput = writesStandardOutput
        let name = writesStandardOutput ? "standard output" : path
        self.name = name
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.staging = Staging(limit: max(stagingCapacity, Self.recordHeaderSize + Self.directFrameSize))

        guard let pcap = pcap_open_dead_with_tstamp_precision(linkType.rawValue, Int32(snapshotLength), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            Glibc.close(fd)
            if creating { unlink(path) }
            throw PcapError(code: .open, path: name, message: "libpcap could not create a \(linkType) writer")
        }
        var opened = stat()
        let regular = fstat(fd, &opened) == 0 && (opened.st_mode & S_IFMT) == S_IFREG
        self.writesRegularFile = regular
        // Only a file this writer created is permissioned, or removed again
        // when its header cannot be written.
        let created = regular && creating
        if created { _ = fchmod(fd, mode) }
        guard let file = fdopen(fd, "wb") else {
            let number = errno
            Glibc.close(fd)
            if created { unlink(path) }
            pcap_close(pcap)
            throw PcapError(code: .open, path: name, message: "cannot open stream: \(Self.reason(number))")
        }
        guard let dumper = pcap_dump_fopen(pcap, file) else {
            let reason = String(cString: pcap_geterr(pcap))
            fclose(file)
            if created { unlink(path) }
            pcap_close(pcap)
            throw PcapError(code: .open, path: name, message: reason)
        }
        // The header is libpcap's; it reaches the file now, and records are
        // written after it on the same descriptor, never through stdio.
        guard fflush(file) == 0, ferror(file) == 0 else {
            let number = errno
            pcap_dump_close(dumper)
            if created { unlink(path) }
            pcap_close(pcap)
            throw Self.writeFailure(name, "cannot write the file header", number)
        }
        self.pcap = pcap
        self.dumper = dumper
        self.descriptor = fileno(file)
        self.fileSize = Self.fileHeaderSize
        self.staleEnd = staleEnd
        // Standard output may be a pipe, which cannot be cut back, or a file
        // that held something before the header.
        if !regular {
            self.truncatable = false
        } else if writesStandardOutput {
            let position = lseek(descriptor, 0, SEEK_CUR)
            if position >= Self.fileHeaderSize {
                self.startOffset = Int64(position) - Self.fileHeaderSize
            } else {
                self.truncatable = false
            }
        }
    }

    /// True when something other than a regular file or a directory is at
    /// `path` (following symbolic links): a FIFO, a device, a socket.
    public static func isStream(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let type = status.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }

    deinit {
        try? close()
        staging.deallocate()
    }

    /// The number of frames written so far (staged ones included; those a
    /// failed write cut off are not).
    public var framesWritten: Int { frameCount }

    /// The file's size including the records still gathered in memory;
    /// after `close()`, its final size.
    public var byteOffset: Int64 { fileSize + Int64(gatheredBytes) }

    private var gatheredBytes: Int { recordEnds.last ?? 0 }

    /// True while gathered records point into buffers of the caller's
    /// (`appendRecord`'s `tail`): they must stay alive until `flush()`.
    public var holdsReferences: Bool { referencedBytes > 0 }

    /// Appends one record. `frame` longer than the snapshot length is rejected:
    /// readers refuse such records. `frame` is copied, or written before
    /// this returns.
    public func write(timestamp: Timestamp, frame: UnsafeRawBufferPointer) throws {
        try appendRecord(timestamp: timestamp, head: UnsafeRawBufferPointer(start: nil, count: 0), tail: frame)
        if holdsReferences { try writeGathered() }
    }

    public func write(timestamp: Timestamp, frame: [UInt8]) throws {
        try frame.withUnsafeBytes { try write(timestamp: timestamp, frame: $0) }
    }

    /// Appends one record whose frame is `head` then `tail`. `head` is
    /// copied; a `tail` of `directFrameSize` bytes or more is not: it is
    /// written from where it lies, so it must stay alive and unchanged
    /// until `flush()` (or `close()`) returns. Records are written out on
    /// their own once enough has gathered.
    public func appendRecord(timestamp: Timestamp, head: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer) throws {
        try checkWritable()
        let length = head.count + tail.count
        guard length <= snapshotLength else {
            throw PcapError(code: .write, path: name, message: "frame of \(length) bytes exceeds the snapshot length \(snapshotLength)")
        }
        let referenced = tail.count >= Self.directFrameSize
        let copied = Self.recordHeaderSize + head.count + (referenced ? 0 : tail.count)
        if !staging.fits(copied) || pieces.count + 2 > Self.pieceLimit {
            try writeGathered()
        }
        let start = staging.count
        RecordHeader(timestamp: timestamp, length: length).withBytes { staging.append($0) }
        staging.append(head)
        if !referenced { staging.append(tail) }
        addStaged(start..<staging.count)
        if referenced {
            pieces.append(.referenced(tail))
            referencedBytes += tail.count
        }
        recordEnds.append(gatheredBytes + Self.recordHeaderSize + length)
        frameCount += 1
        if referencedBytes >= Self.referencedLimit {
            try writeGathered()
        }
    }

    /// A staged range, joined to the piece before it when that one ends where it starts.
    private func addStaged(_ range: Range<Int>) {
        if case .staged(let previous) = pieces.last, previous.upperBound == range.lowerBound {
            pieces[pieces.count - 1] = .staged(previous.lowerBound..<range.upperBound)
        } else {
            pieces.append(.staged(range))
        }
    }

    /// Hands every gathered record to the kernel; after it, no buffer of
    /// the caller's is referenced.
    public func flush() throws {
        try checkWritable()
        if !recordEnds.isEmpty {
            try writeGathered()
        }
    }

    /// Flushes, syncs and closes the file. Safe to call more than once; only
    /// the first call does anything. A writer that failed is closed all the
    /// same, and its failure thrown.
    public func close() throws {
        guard let dumper else { return }
        var closing: PcapError? = failure
        if closing == nil {
            do {
                try flush()
            } catch let error as PcapError {
                closing = error
            }
        }
        if closing == nil, staleEnd != nil {
            // What the file held before, and the marker, go.
            let end = startOffset + fileSize
            if ftruncate(descriptor, off_t(end)) == 0 {
                staleEnd = nil
            } else {
                closing = Self.writeFailure(name, "cannot cut the file to its records", errno, then: "; readers stop where they end, at byte \(end), and call it interrupted")
            }
        }
        _ = fsync(descriptor)
        // The stdio stream holds nothing: this only closes the descriptor.
        pcap_dump_close(dumper)
        if let pcap { pcap_close(pcap) }
        self.dumper = nil
        self.pcap = nil
        descriptor = -1
        if let closing { throw closing }
    }

    private func checkWritable() throws {
        if let failure { throw failure }
        guard dumper != nil else {
            throw PcapError(code: .write, path: name, message: "write after close")
        }
    }

    /// Writes every gathered record with `writev` (as many calls as the
    /// pieces need), going on after short writes. On failure the file is cut
    /// back to its last whole record.
    private func writeGathered() throws {
        let total = gatheredBytes
        defer {
            pieces.removeAll(keepingCapacity: true)
            recordEnds.removeAll(keepingCapacity: true)
            referencedBytes = 0
            staging.removeAll()
        }
        guard total > 0 else { return }
        let staged = staging.bytes
        var marker = Self.interruptionMarker
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: pieces.count + 1) { vectors in
            for (index, piece) in pieces.enumerated() {
                switch piece {
                case .staged(let range):
                    vectors[index] = iovec(iov_base: staged.baseAddress! + range.lowerBound, iov_len: range.count)
                case .referenced(let bytes):
                    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), iov_len: bytes.count)
                }
            }
            guard staleEnd != nil else {
                if let failure = writeAll(vectors.baseAddress!, count: pieces.count, bytes: total, with: { vectors, count, _ in writev(descriptor, vectors, count) }) {
                    throw cutBack(written: failure.written, errorNumber: failure.errorNumber)
                }
                return
            }
            // Over old storage: everything but what commits the write (the
            // first record's time and captured length, first in `staging`),
            // and a new marker after it; then those bytes, over the old marker.
            let end = off_t(startOffset + fileSize)
            let committing = Self.committingBytes
            vectors[0].iov_base += committing
            vectors[0].iov_len -= committing
            try withUnsafeMutableBytes(of: &marker) { marker in
                vectors[pieces.count] = iovec(iov_base: marker.baseAddress, iov_len: marker.count)
                let rest = total - committing + marker.count
                if let failure = writeAll(vectors.baseAddress!, count: pieces.count + 1, bytes: rest, with: { pwritev(descriptor, $0, $1, end + off_t(committing + $2)) }) {
                    throw cutBack(written: 0, errorNumber: failure.errorNumber)
                }
            }
            var commit = iovec(iov_base: UnsafeMutableRawPointer(mutating: staged.baseAddress!), iov_len: committing)
            if let failure = writeAll(&commit, count: 1, bytes: committing, with: { pwritev(descriptor, $0, $1, end + off_t($2)) }) {
                throw cutBack(written: 0, errorNumber: failure.errorNumber)
            }
        }
        fileSize += Int64(total)
        // Once the marker covers what is left of the old storage, the file
        // is cut to its records and simply appended to.
        if let stale = staleEnd, startOffset + fileSize + Int64(Self.recordHeaderSize) >= stale {
            let end = off_t(startOffset + fileSize)
            if ftruncate(descriptor, end) == 0 {
                // The marker is gone with the rest: from here on the file
                // is appended to at its end.
                staleEnd = nil
                if lseek(descriptor, end, SEEK_SET) != end {
                    let error = Self.writeFailure(name, "cannot write", errno, then: " (moving to the end of its records)")
                    failure = error
                    throw error
                }
            }
        }
    }

    /// Hands `bytes` bytes in `count` vectors to `write` (called with the
    /// vectors left, their count and the bytes written so far) until all
    /// are written, going on after short writes. Nil when all were, or
    /// how many were and why the rest were not.
    private func writeAll(
        _ vectors: UnsafeMutablePointer<iovec>, count: Int, bytes total: Int,
        with write: (UnsafePointer<iovec>, Int32, Int) -> Int
    ) -> (written: Int, errorNumber: Int32)? {
        var done = 0
        var first = 0
        while done < total {
            let written = write(vectors + first, Int32(min(count - first, Self.pieceLimit)), done)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return (done, written == 0 ? EIO : errno) }
            done += written
            var left = written
            while left > 0 {
                let taken = min(left, vectors[first].iov_len)
                vectors[first].iov_base += taken
                vectors[first].iov_len -= taken
                left -= taken
                if vectors[first].iov_len == 0 { first += 1 }
            }
        }
        return nil
    }

    /// After a failed write of which `written` bytes of the gathered
    /// records reached the file: truncates the file to the end of the last
    /// whole record, forgets the records after it, and keeps the failure.
    private func cutBack(written: Int, errorNumber: Int32) -> PcapError {
        let whole = recordEnds.prefix { $0 <= written }
        let kept = whole.last ?? 0
        frameCount -= recordEnds.count - whole.count
        var reason = Self.reason(errorNumber)
        let message: String
        if truncatable {
            let end = off_t(startOffset + fileSize) + off_t(kept)
            if ftruncate(descriptor, end) != 0 {
                reason += "; cutting the file back failed too: \(Self.reason(errno))"
            }
            _ = lseek(descriptor, end, SEEK_SET)
            staleEnd = nil
            fileSize += Int64(kept)
            message = "cannot write: \(reason); the file was cut back to its last whole record (\(fileSize) bytes)"
        } else {
            // A pipe keeps what it took: its reader sees at most one torn record.
            fileSize += Int64(kept)
            message = "cannot write: \(reason) (after \(fileSize) bytes of whole records)"
        }
        let error = PcapError(code: .write, path: name, message: message, errorNumber: errorNumber)
        failure = error
        return error
    }

    /// A failed write's error: "`what`: the system's reason`then`".
    private static func writeFailure(_ name: String, _ what: String, _ number: Int32, then: String = "") -> PcapError {
        PcapError(code: .write, path: name, message: "\(what): \(reason(number))\(then)", errorNumber: number)
    }

    static func reason(_ number: Int32) -> String {
        String(cString: strerror(number))
    }
}

/// A record's 16-byte header as libpcap writes it: seconds, nanoseconds
/// (the file is a nanosecond one), captured and original length, in the
/// host's byte order like the file header libpcap wrote.
struct RecordHeader {
    var fields: (UInt32, UInt32, UInt32, UInt32)

    init(timestamp: Timestamp, length: Int) {
        // pcap holds 32-bit seconds, as `pcap_dump` does.
        fields = (UInt32(truncatingIfNeeded: timestamp.seconds), UInt32(timestamp.nanosecondsOfSecond), UInt32(length), UInt32(length))
    }

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var copy = fields
        return try withUnsafeBytes(of: &copy, body)
    }
}

/// A piece of what the next `writev` hands the kernel.
private enum Piece {
    /// Bytes of the staging buffer (resolved when written: it may grow).
    case staged(Range<Int>)
    /// Bytes the caller keeps alive until the write.
    case referenced(UnsafeRawBufferPointer)
}

/// Records' copied bytes waiting to be written, back to back, in a buffer that
/// grows (doubling) up to `limit` bytes, so a writer of a small file (one
/// session's, in per-session mode) holds little memory.
struct Staging {
    let limit: Int
    private(set) var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private(set) var count = 0

    init(limit: Int) {
        self.limit = limit
    }

    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]) }

    func fits(_ size: Int) -> Bool {
        count + size <= limit
    }

    mutating func append(_ source: UnsafeRawBufferPointer) {
        guard !source.isEmpty else { return }
        if count + source.count > storage.count {
            var capacity = max(storage.count, 64 << 10)
            while capacity < count + source.count { capacity *= 2 }
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
            if count > 0 { grown.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
            storage.deallocate()
            storage = grown
        }
        UnsafeMutableRawBufferPointer(rebasing: storage[count..<(count + source.count)]).copyMemory(from: source)
        count += source.count
    }

    mutating func removeAll() {
        count = 0
    }

    func deallocate() {
        storage.deallocate()
    }
}
