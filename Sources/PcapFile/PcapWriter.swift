import CLibPCAP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one classic pcap file through libpcap's dump API.
///
/// Threading: a writer is owned by one thread or task at a time (`pcap_dump`
/// is two `fwrite` calls and not atomic); it is `Sendable` only so that its
/// owner may hand it over.
///
/// Durability: records are staged in a 1 MiB stdio buffer that is flushed
/// before a record would overflow it, so the file on disk always ends on a
/// record boundary — a process killed at any moment leaves a file every
/// reader opens, missing at most what was written since the last `flush()`.
public final class PcapWriter: @unchecked Sendable {
    /// The largest snapshot length libpcap's readers accept.
    public static let maximumSnapshotLength = 262_144
    private static let stagingBufferSize = 1 << 20

    public let path: String
    public let linkType: LinkType
    public let snapshotLength: Int

    private var pcap: OpaquePointer?
    private var dumper: OpaquePointer?
    private var file: UnsafeMutablePointer<FILE>?
    private var staged = 0
    /// The file's size when it was closed.
    private var closedSize: Int64 = 0
    private var frameCount = 0

    /// Creates (or truncates) `path` with `mode` (0600 by default: recordings
    /// of production traffic carry secrets) and writes the file header. `-`
    /// writes to standard output, as `pcap_dump_open` does.
    public init(
        path: String,
        linkType: LinkType = .ethernet,
        snapshotLength: Int = PcapWriter.maximumSnapshotLength,
        mode: mode_t = 0o600
    ) throws {
        self.path = path
        self.linkType = linkType
        self.snapshotLength = snapshotLength

        guard let pcap = pcap_open_dead_with_tstamp_precision(linkType.rawValue, Int32(snapshotLength), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PcapError(code: .open, path: path, message: "libpcap could not create a \(linkType) writer")
        }
        self.pcap = pcap
        let toStandardOutput = path == "-"
        let fd = toStandardOutput ? dup(STDOUT_FILENO) : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            pcap_close(pcap)
            self.pcap = nil
            throw PcapError(code: .open, path: path, message: "cannot create: \(reason)")
        }
        if !toStandardOutput { _ = fchmod(fd, mode) }
        guard let file = fdopen(fd, "wb") else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            pcap_close(pcap)
            self.pcap = nil
            throw PcapError(code: .open, path: path, message: "cannot open stream: \(reason)")
        }
        setvbuf(file, nil, _IOFBF, Self.stagingBufferSize)
        guard let dumper = pcap_dump_fopen(pcap, file) else {
            let reason = String(cString: pcap_geterr(pcap))
            fclose(file)
            pcap_close(pcap)
            self.pcap = nil
            throw PcapError(code: .open, path: path, message: reason)
        }
        self.file = file
        self.dumper = dumper
        self.staged = 24
    }

    deinit {
        try? close()
    }

    /// The number of frames written so far.
    public var framesWritten: Int { frameCount }

    /// The file's size including bytes still staged in memory (`pcap_dump_ftell64`);
    /// after `close()`, its final size.
    public var byteOffset: Int64 {
        guard let dumper else { return closedSize }
        return Int64(pcap_dump_ftell64(dumper))
    }

    /// Appends one record. `frame` longer than the snapshot length is rejected:
    /// readers refuse such records.
    public func write(timestamp: Timestamp, frame: UnsafeRawBufferPointer) throws {
        guard let dumper, let file else {
            throw PcapError(code: .write, path: path, message: "write after close")
        }
        guard frame.count <= snapshotLength else {
            throw PcapError(code: .write, path: path, message: "frame of \(frame.count) bytes exceeds the snapshot length \(snapshotLength)")
        }
        let recordSize = 16 + frame.count
        if staged + recordSize >= Self.stagingBufferSize {
            try flush()
        }
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(timestamp.seconds)
        header.ts.tv_usec = Int(timestamp.nanosecondsOfSecond)
        header.caplen = UInt32(frame.count)
        header.len = UInt32(frame.count)
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header, frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
        if ferror(file) != 0 {
            throw PcapError(code: .write, path: path, message: "write failed: \(String(cString: strerror(errno)))")
        }
        staged += recordSize
        frameCount += 1
    }

    public func write(timestamp: Timestamp, frame: [UInt8]) throws {
        try frame.withUnsafeBytes { try write(timestamp: timestamp, frame: $0) }
    }

    /// Hands every staged record to the kernel (`pcap_dump_flush`, an `fflush`).
    public func flush() throws {
        guard let dumper, let file else { return }
        if pcap_dump_flush(dumper) != 0 || ferror(file) != 0 {
            throw PcapError(code: .write, path: path, message: "flush failed: \(String(cString: strerror(errno)))")
        }
        staged = 0
    }

    /// Flushes, syncs and closes the file. Safe to call more than once; only
    /// the first call does anything.
    public func close() throws {
        guard let dumper, let file else { return }
        closedSize = Int64(pcap_dump_ftell64(dumper))
        defer {
            pcap_dump_close(dumper)
            if let pcap { pcap_close(pcap) }
            self.dumper = nil
            self.file = nil
            self.pcap = nil
        }
        let flushed = pcap_dump_flush(dumper) == 0 && ferror(file) == 0
        let reason = flushed ? "" : String(cString: strerror(errno))
        _ = fsync(fileno(file))
        if !flushed {
            throw PcapError(code: .write, path: path, message: "flush at close failed: \(reason)")
        }
    }
}
