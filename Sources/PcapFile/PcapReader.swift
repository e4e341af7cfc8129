import CLibPCAP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record read from a capture. `bytes` is libpcap's buffer, or the
/// file's mapping: valid only until the reader reads the next record.
public struct PcapPacket {
    public var timestamp: Timestamp
    /// Bytes present in the file.
    public var capturedLength: Int
    /// Bytes the packet had on the wire; larger than `capturedLength` when the
    /// snapshot length cut it.
    public var originalLength: Int
    public var bytes: UnsafeRawBufferPointer
}

/// Reads a pcap or pcapng file through `pcap_open_offline_with_tstamp_precision`,
/// with nanosecond timestamps whatever the file's precision, and an optional
/// BPF filter compiled by libpcap itself. `-` reads standard input; a file
/// (or standard input) compressed with gzip or zstd is decompressed as it is
/// read.
///
/// A plain classic pcap file's records are read in place from a mapping of
/// the file (`MappedRecords`), with libpcap's header checks, filter and
/// errors all the same.
///
/// Threading: one owner at a time. Memory: one record at a time.
public final class PcapReader {
    /// The path as given (`-`: standard input).
    public let path: String
    /// The path as errors name it.
    private let name: String
    /// Where the bytes come from when libpcap cannot open the path itself.
    private let source: CaptureSource?
    public let linkType: LinkType
    public let snapshotLength: Int

    private var pcap: OpaquePointer?
    /// A classic pcap file's records, read in place until libpcap must take over.
    private var mapped: MappedRecords?
    private var program = bpf_program()
    private var hasFilter = false
    private var packetsRead = 0
    /// Records read, whether or not the filter took them.
    private var recordsRead = 0
    /// Where the whole records read so far end, in a classic pcap file
    /// (nil for pcapng, whose blocks this reader does not measure).
    private var wholeRecordsEnd: Int64?

    public init(path: String, filter: String? = nil) throws {
        self.path = path
        let name = path == "-" ? "standard input" : path
        self.name = name
        let source = try CaptureSource.source(for: path, name: name)
        self.source = source
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened: OpaquePointer?
        if let source {
            guard let stream = source.makeStream() else {
                throw PcapError(code: .open, path: name, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            opened = pcap_fopen_offline_with_tstamp_precision(stream, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
            if opened == nil { fclose(stream) }
        } else {
            opened = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
        }
        guard let pcap = opened else {
            let message = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PcapError(code: .open, path: name, message: source?.failure?.message ?? Self.explain(openError: message))
        }
        self.pcap = pcap
        // libpcap has read the file header: a source has seen its magic number.
        self.wholeRecordsEnd = (source.map { Self.isClassicPcap(magic: $0.leadingBytes) } ?? Self.isClassicPcap(path)) ? 24 : nil
        self.linkType = LinkType(rawValue: pcap_datalink(pcap))
        self.snapshotLength = Int(pcap_snapshot(pcap))
        if source == nil, wholeRecordsEnd != nil {
            self.mapped = MappedRecords(path: path, snapshotLength: snapshotLength)
        }
        if let filter, !filter.isEmpty {
            if pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 {
                let message = String(cString: pcap_geterr(pcap))
                pcap_close(pcap)
                self.pcap = nil
                throw PcapError(code: .filter, path: name, message: "bad filter '\(filter)': \(message)")
            }
            hasFilter = true
        }
    }

    deinit {
        if hasFilter { pcap_freecode(&program) }
        if let pcap { pcap_close(pcap) }
    }

    /// Throws when the mapped file was cut short under the reader (written
    /// over, truncated): what was read from it since can no longer be trusted.
    private func failIfCut(_ mapped: MappedRecords) throws {
        guard mapped.wasCut else { return }
        var status = stat()
        let now = stat(path, &status) == 0 ? "; it is \(status.st_size) bytes now" : ""
        throw PcapError(
            code: .read, path: name,
            message: "the file was cut short while it was being read, at byte \(mapped.offset) or before\(now) (another program truncated or wrote over it); read it again once it is whole"
        )
    }

    /// How far into the file reading has got, in bytes (for progress).
    public var byteOffset: Int64 {
        if let source { return source.bytesRead }
        if let mapped { return Int64(mapped.offset) }
        guard let pcap, let file = pcap_file(pcap) else { return 0 }
        return Int64(ftello(file))
    }

    /// Records delivered so far (those the filter rejected are not counted).
    public var packetCount: Int { packetsRead }

    /// The next record that passes the filter, or nil at the end of the file.
    /// Throws `.truncated` when the file ends inside a record (the records
    /// before it were delivered; the error says at which byte the whole
    /// records end), `.read` on garbage.
    public func next() throws -> PcapPacket? {
        guard let pcap else { return nil }
        if let mapped {
            // Checked after each header is read, before anything read since
            // the last check (the bytes of the record the caller held, this
            // header) is handed out; and once more before libpcap goes on.
            while let record = mapped.next() {
                try failIfCut(mapped)
                recordsRead += 1
                wholeRecordsEnd? += 16 + Int64(record.capturedLength)
                if hasFilter {
                    var header = pcap_pkthdr(ts: timeval(tv_sec: Int(record.seconds), tv_usec: Int(record.nanoseconds)), caplen: record.capturedLength, len: record.originalLength)
                    guard let data = record.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { continue }
                    let passes = pcap_offline_filter(&program, &header, data) != 0
                    try failIfCut(mapped)
                    if !passes { continue }
                }
                packetsRead += 1
                return PcapPacket(
                    timestamp: Timestamp(seconds: record.seconds, nanoseconds: record.nanoseconds),
                    capturedLength: Int(record.capturedLength),
                    originalLength: Int(record.originalLength),
                    bytes: record.bytes
                )
            }
            try failIfCut(mapped)
            // What is left (a record libpcap must judge, the file's end) is libpcap's.
            guard let file = pcap_file(pcap), fseeko(file, off_t(mapped.offset), SEEK_SET) == 0 else {
                throw PcapError(code: .read, path: name, message: "cannot seek to byte \(mapped.offset): \(String(cString: strerror(errno)))")
            }
            self.mapped = nil
        }
        var headerPointer: UnsafeMutablePointer<pcap_pkthdr>?
        var dataPointer: UnsafePointer<UInt8>?
        while true {
            let status = pcap_next_ex(pcap, &headerPointer, &dataPointer)
            switch status {
            case 1:
                recordsRead += 1
                guard let header = headerPointer, let data = dataPointer else { continue }
                wholeRecordsEnd? += 16 + Int64(header.pointee.caplen)
                if hasFilter, pcap_offline_filter(&program, header, data) == 0 {
                    continue
                }
                packetsRead += 1
                let captured = Int(header.pointee.caplen)
                return PcapPacket(
                    timestamp: Timestamp(seconds: Int64(header.pointee.ts.tv_sec), nanoseconds: Int64(header.pointee.ts.tv_usec)),
                    capturedLength: captured,
                    originalLength: Int(header.pointee.len),
                    bytes: UnsafeRawBufferPointer(start: data, count: captured)
                )
            case PCAP_ERROR_BREAK:
                // The decompressed bytes may have ended early: libpcap saw an end.
                guard let failure = source?.failure else { return nil }
                throw PcapError(code: failure.code, path: name, message: "\(failure.message) (after \(packetsRead) packets)")
            default:
                if let failure = source?.failure {
                    throw PcapError(code: failure.code, path: name, message: "\(failure.message) (after \(packetsRead) packets)")
                }
                let message = String(cString: pcap_geterr(pcap))
                let records = recordsRead == 1 ? "1 whole record" : "\(recordsRead) whole records"
                if source == nil, let end = wholeRecordsEnd, Self.holdsInterruptionMarker(path, at: end) {
                    throw PcapError(code: .truncated, path: name, message: "the recording was interrupted at byte \(end), after \(records); what follows is storage it had not yet written over")
                }
                guard message.contains("truncated") else {
                    throw PcapError(code: .read, path: name, message: "\(message) (after \(packetsRead) packets)")
                }
                let decompressed = source.map { $0.compression != .none } ?? false
                let place = wholeRecordsEnd.map { " at byte \($0)\(decompressed ? " of the decompressed data" : "")" } ?? ""
                throw PcapError(code: .truncated, path: name, message: "cut short part-way through a record\(place), after \(records) (libpcap: \(message))")
            }
        }
    }

    /// Calls `body` with every record that passes the filter.
    public func forEach(_ body: (PcapPacket) throws -> Void) throws {
        while let packet = try next() {
            try body(packet)
        }
    }

    /// True when the record header at `offset` of `path`, which libpcap
    /// refused, is the marker a recycled file ends in until a recording has
    /// written past its old end (`PcapWriter.init(path:recycling:)`): the
    /// recording was killed there. A kill inside the write that commits the
    /// next record leaves that header's captured length part written, its
    /// last byte still the marker's.
    private static func holdsInterruptionMarker(_ path: String, at offset: Int64) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Tapedeck writes nanosecond files in the host's byte order; in any
        // other, byte 11 is not the top of the captured length.
        var magic: UInt32 = 0
        guard pread(fd, &magic, 4, 0) == 4, magic == Self.nanosecondMagic else { return false }
        var header = [UInt8](repeating: 0, count: 16)
        guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, off_t(offset)) }) == 16 else { return false }
        return header[11] == 0xFF
    }

    /// A classic pcap file (either byte order, micro- or nanoseconds), not pcapng.
    private static func isClassicPcap(_ path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var magic: UInt32 = 0
        guard fread(&magic, 4, 1, file) == 1 else { return false }
        return isClassicPcap(magic: magic)
    }

    /// The same, from the first bytes of a capture read through a `CaptureSource`.
    private static func isClassicPcap(magic bytes: [UInt8]) -> Bool {
        guard bytes.count == 4 else { return false }
        return isClassicPcap(magic: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
    }

    /// A classic pcap file's first four bytes, read in the host's order,
    /// when it was written in that order with micro- or nanosecond times.
    static let microsecondMagic: UInt32 = 0xA1B2_C3D4
    static let nanosecondMagic: UInt32 = 0xA1B2_3C4D

    private static func isClassicPcap(magic: UInt32) -> Bool {
        let magics = [microsecondMagic, nanosecondMagic]
        return magics.contains(magic) || magics.contains(magic.byteSwapped)
    }

    private static func explain(openError message: String) -> String {
        if message.contains("pcapng") && (message.contains("link-layer type") || message.contains("snapshot length")) {
            return "\(message); libpcap reads a pcapng file only when all its interfaces share one link type and snapshot length — convert it with 'editcap -F pcap' first"
        }
        return message
    }
}
