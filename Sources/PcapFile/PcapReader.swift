import CLibPCAP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record read from a capture. `bytes` is libpcap's buffer: valid only
/// until the reader reads the next record.
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
    private var program = bpf_program()
    private var hasFilter = false
    private var packetsRead = 0

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
        self.linkType = LinkType(rawValue: pcap_datalink(pcap))
        self.snapshotLength = Int(pcap_snapshot(pcap))
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

    /// How far into the file reading has got, in bytes (for progress).
    public var byteOffset: Int64 {
        if let source { return source.bytesRead }
        guard let pcap, let file = pcap_file(pcap) else { return 0 }
        return Int64(ftello(file))
    }

    /// Records delivered so far (those the filter rejected are not counted).
    public var packetCount: Int { packetsRead }

    /// The next record that passes the filter, or nil at the end of the file.
    /// Throws `.truncated` when the file ends inside a record (the records
    /// before it were delivered), `.read` on garbage.
    public func next() throws -> PcapPacket? {
        guard let pcap else { return nil }
        var headerPointer: UnsafeMutablePointer<pcap_pkthdr>?
        var dataPointer: UnsafePointer<UInt8>?
        while true {
            let status = pcap_next_ex(pcap, &headerPointer, &dataPointer)
            switch status {
            case 1:
                guard let header = headerPointer, let data = dataPointer else { continue }
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
                let message = source?.failure?.message ?? String(cString: pcap_geterr(pcap))
                let code: PcapError.Code = source?.failure?.code ?? (message.contains("truncated") ? .truncated : .read)
                throw PcapError(code: code, path: name, message: "\(message) (after \(packetsRead) packets)")
            }
        }
    }

    /// Calls `body` with every record that passes the filter.
    public func forEach(_ body: (PcapPacket) throws -> Void) throws {
        while let packet = try next() {
            try body(packet)
        }
    }

    private static func explain(openError message: String) -> String {
        if message.contains("pcapng") && (message.contains("link-layer type") || message.contains("snapshot length")) {
            return "\(message); libpcap reads a pcapng file only when all its interfaces share one link type and snapshot length — convert it with 'editcap -F pcap' first"
        }
        return message
    }
}
