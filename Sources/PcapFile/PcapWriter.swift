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
/// Durability: records are gathered in a staging buffer and handed to the
/// kernel with one `writev(2)` per batch, so every write ends on a record
/// boundary (libpcap's own `pcap_dump` makes two `fwrite`s per record, and
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
    /// Frames this large are not copied: they go to the kernel from the
    /// caller's buffer, in the same `writev` as the records staged before them.
    static let directFrameSize = 16 << 10
    static let recordHeaderSize = 16
    static let fileHeaderSize: Int64 = 24

    /// The path as given (`-`: standard output).
    public let path: String
    /// True for `-`: the records go to standard output.
    public let writesStandardOutput: Bool
    /// The path as errors name it.
    private let name: String
    public let linkType: LinkType
    public let snapshotLength: Int

    private var pcap: OpaquePointer?
    private var dumper: OpaquePointer?
    private var descriptor: Int32 = -1
    private var staging: Staging
    /// Bytes in the file: its header and the whole records written so far.
    private var fileSize: Int64 = 0
    /// Where the file header starts in the output (0 but for standard
    /// output redirected to a file that held something before).
    private var startOffset: Int64 = 0
    /// False for a pipe or terminal: a failed write cannot be taken back.
    private var truncatable = true
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
    public init(
        path: String,
        linkType: LinkType = .ethernet,
        snapshotLength: Int = PcapWriter.maximumSnapshotLength,
        mode: mode_t = 0o600,
        overwrite: Bool = true,
        stagingCapacity: Int = PcapWriter.defaultStagingCapacity
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
            throw PcapError(code: .open, path: name, message: "libpcap could not create a \(linkType) writer")
        }
        let fd = writesStandardOutput
            ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
            : open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), mode)
        guard fd >= 0 else {
            let number = errno
            pcap_close(pcap)
            if number == EEXIST {
                throw PcapError(code: .exists, path: name, message: "already exists; it was left as it is")
            }
            throw PcapError(code: .open, path: name, message: "cannot create: \(Self.reason(number))", errorNumber: number)
        }
        if !writesStandardOutput { _ = fchmod(fd, mode) }
        guard let file = fdopen(fd, "wb") else {
            let number = errno
            Glibc.close(fd)
            if !writesStandardOutput { unlink(path) }
            pcap_close(pcap)
            throw PcapError(code: .open, path: name, message: "cannot open stream: \(Self.reason(number))")
        }
        guard let dumper = pcap_dump_fopen(pcap, file) else {
            let reason = String(cString: pcap_geterr(pcap))
            fclose(file)
            if !writesStandardOutput { unlink(path) }
            pcap_close(pcap)
            throw PcapError(code: .open, path: name, message: reason)
        }
        // The header is libpcap's; it reaches the file now, and records are
        // written after it on the same descriptor, never through stdio.
        guard fflush(file) == 0, ferror(file) == 0 else {
            let number = errno
            pcap_dump_close(dumper)
            if !writesStandardOutput { unlink(path) }
            pcap_close(pcap)
            throw PcapError(code: .write, path: name, message: "cannot write the file header: \(Self.reason(number))", errorNumber: number)
        }
        self.pcap = pcap
        self.dumper = dumper
        self.descriptor = fileno(file)
        self.fileSize = Self.fileHeaderSize
        // Standard output may be a pipe, which cannot be cut back, or a file
        // that held something before the header.
        if writesStandardOutput {
            var status = stat()
            let position = lseek(descriptor, 0, SEEK_CUR)
            if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, position >= Self.fileHeaderSize {
                self.startOffset = Int64(position) - Self.fileHeaderSize
            } else {
                self.truncatable = false
            }
        }
    }

    deinit {
        try? close()
        staging.deallocate()
    }

    /// The number of frames written so far (staged ones included; those a
    /// failed write cut off are not).
    public var framesWritten: Int { frameCount }

    /// The file's size including the records still staged in memory; after
    /// `close()`, its final size.
    public var byteOffset: Int64 { fileSize + Int64(staging.count) }

    /// Appends one record. `frame` longer than the snapshot length is rejected:
    /// readers refuse such records.
    public func write(timestamp: Timestamp, frame: UnsafeRawBufferPointer) throws {
        try checkWritable()
        guard frame.count <= snapshotLength else {
            throw PcapError(code: .write, path: name, message: "frame of \(frame.count) bytes exceeds the snapshot length \(snapshotLength)")
        }
        let header = RecordHeader(timestamp: timestamp, length: frame.count)
        if frame.count >= Self.directFrameSize {
            try header.withBytes { try writeStaged(then: ($0, frame)) }
        } else {
            if !staging.fits(Self.recordHeaderSize + frame.count) {
                try writeStaged()
            }
            header.withBytes { staging.append($0) }
            staging.append(frame)
        }
        frameCount += 1
    }

    public func write(timestamp: Timestamp, frame: [UInt8]) throws {
        try frame.withUnsafeBytes { try write(timestamp: timestamp, frame: $0) }
    }

    /// Hands every staged record to the kernel, in one `writev`.
    public func flush() throws {
        try checkWritable()
        if staging.count > 0 {
            try writeStaged()
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

    /// Writes the staged records, then `direct` (one more record: its header
    /// and its frame, from the caller's buffer) when given, with `writev`,
    /// going on after short writes. On failure the file is cut back to its
    /// last whole record.
    private func writeStaged(then direct: (header: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer)? = nil) throws {
        let directRecord = direct.map { $0.header.count + $0.frame.count } ?? 0
        let total = staging.count + directRecord
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { vectors in
            var count = 0
            func add(_ piece: UnsafeRawBufferPointer?) {
                guard let piece, let base = piece.baseAddress, !piece.isEmpty else { return }
                vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: piece.count)
                count += 1
            }
            add(UnsafeRawBufferPointer(staging.bytes))
            add(direct?.header)
            add(direct?.frame)
            var done = 0
            var first = 0
            while done < total {
                let written = writev(descriptor, vectors.baseAddress! + first, Int32(count - first))
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw cutBack(written: done, directRecord: directRecord, errorNumber: written == 0 ? EIO : errno)
                }
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
        }
        fileSize += Int64(total)
        staging.removeAll()
    }

    /// After a failed write of which `written` bytes reached the file (the
    /// staged records, then a direct record of `directRecord` bytes):
    /// truncates the file to the end of the last whole record, forgets the
    /// records after it, and keeps the failure.
    private func cutBack(written: Int, directRecord: Int, errorNumber: Int32) -> PcapError {
        var ends = staging.recordEnds()
        let stagedRecords = ends.count
        if directRecord > 0 { ends.append(staging.count + directRecord) }
        let whole = ends.prefix { $0 <= written }
        let kept = whole.last ?? 0
        // A direct record is counted only once written, so only staged ones are taken back.
        frameCount -= stagedRecords - min(whole.count, stagedRecords)
        var reason = Self.reason(errorNumber)
        let message: String
        if truncatable {
            let end = off_t(startOffset + fileSize) + off_t(kept)
            if ftruncate(descriptor, end) != 0 {
                reason += "; cutting the file back failed too: \(Self.reason(errno))"
            }
            _ = lseek(descriptor, end, SEEK_SET)
            fileSize += Int64(kept)
            message = "cannot write: \(reason); the file was cut back to its last whole record (\(fileSize) bytes)"
        } else {
            // A pipe keeps what it took: its reader sees at most one torn record.
            fileSize += Int64(kept)
            message = "cannot write: \(reason) (after \(fileSize) bytes of whole records)"
        }
        staging.removeAll()
        let error = PcapError(code: .write, path: name, message: message, errorNumber: errorNumber)
        failure = error
        return error
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

/// Whole records waiting to be written, back to back, in a buffer that
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

    /// Where each staged record ends, from its header's captured length.
    func recordEnds() -> [Int] {
        var ends: [Int] = []
        var position = 0
        while position + PcapWriter.recordHeaderSize <= count {
            position += PcapWriter.recordHeaderSize + Int(UnsafeRawBufferPointer(storage).loadUnaligned(fromByteOffset: position + 8, as: UInt32.self))
            ends.append(position)
        }
        return ends
    }

    func deallocate() {
        storage.deallocate()
    }
}
