import CMappingGuard
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The records of a classic pcap file read where they lie, in a mapping of
/// the file: no copy of a byte, where reading through libpcap copies every
/// one from the page cache into its buffer (half of `tapedeck inspect`'s
/// time on a large capture).
///
/// Only plainly whole records are read here: a record whose captured
/// length exceeds the file's snapshot length (or libpcap's limit), or that
/// the end of the mapping cuts, stops it, and `PcapReader` hands the rest of
/// the file to libpcap from `offset` — libpcap then reads, or refuses, that
/// record and everything after it as it always did (a file still growing is
/// read to its end that way too).
///
/// Pages are mapped as they are touched, not ahead: a reader that looks at
/// headers only (`inspect`'s table) costs a fault per record or so, not a
/// copy of every byte. Filling the page tables ahead (`MADV_POPULATE_READ`)
/// cost as much as libpcap's copy on this kind of virtual machine.
///
/// A file cut short while it is read (another program writing a new
/// capture over it) would end the process with SIGBUS at the first read past
/// its new end; the mapping is guarded (`CMappingGuard`): that read gets
/// zeros, and `wasCut` turns true for `PcapReader` to report before it hands
/// out anything read since.
///
/// Memory: pages behind the reader are dropped from the mapping as it goes
/// (they stay in the page cache), so its resident size stays a few MiB
/// whatever the file's size.
final class MappedRecords {
    /// One record: its header fields as libpcap gives them (nanoseconds),
    /// and its bytes, valid until the next call.
    struct Record {
        /// Signed, as libpcap reads them.
        var seconds: Int64
        var nanoseconds: Int64
        var capturedLength: UInt32
        var originalLength: UInt32
        var bytes: UnsafeRawBufferPointer
    }

    /// Pages behind the reader are dropped this many bytes at a time.
    private static let window = 2 << 20

    private let base: UnsafeRawPointer
    private let length: Int
    private let swapped: Bool
    private let nanosecondFile: Bool
    private let snapshotLength: UInt32
    /// This mapping's slot in the SIGBUS guard.
    private let guardSlot: Int32
    /// Where the next record starts.
    private(set) var offset = 24
    /// Below this offset, pages were dropped from the mapping.
    private var dropped = 0

    /// Maps `path` when it is a regular classic pcap file of `snapshotLength`
    /// (libpcap has read its header); nil otherwise, or when it cannot be
    /// mapped — then libpcap reads it all.
    init?(path: String, snapshotLength: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size > 24 else { return nil }
        let length = Int(status.st_size)
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else { return nil }
        let magic = mapping.loadUnaligned(as: UInt32.self)
        switch magic {
        case PcapReader.microsecondMagic: (swapped, nanosecondFile) = (false, false)
        case PcapReader.nanosecondMagic: (swapped, nanosecondFile) = (false, true)
        case PcapReader.microsecondMagic.byteSwapped: (swapped, nanosecondFile) = (true, false)
        case PcapReader.nanosecondMagic.byteSwapped: (swapped, nanosecondFile) = (true, true)
        default:
            munmap(mapping, length)
            return nil
        }
        // Files older than version 2.4 may carry their two lengths swapped:
        // libpcap sorts them out.
        let major = mapping.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        let minor = mapping.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
        guard (swapped ? major.byteSwapped : major) == 2, (swapped ? minor.byteSwapped : minor) >= 4 else {
            munmap(mapping, length)
            return nil
        }
        // Every slot taken (64 captures read at once): libpcap reads this one.
        let slot = mapping_guard_add(mapping, length)
        guard slot >= 0 else {
            munmap(mapping, length)
            return nil
        }
        self.guardSlot = slot
        // No read-ahead into the mapping: what is not touched is not mapped.
        _ = madvise(mapping, length, MADV_RANDOM)
        self.base = UnsafeRawPointer(mapping)
        self.length = length
        self.snapshotLength = UInt32(snapshotLength)
    }

    deinit {
        mapping_guard_remove(guardSlot)
        munmap(UnsafeMutableRawPointer(mutating: base), length)
    }

    /// True once a read of the mapping found the file shorter than when it
    /// was mapped: that read, and any after it, saw zeros where the file
    /// was cut.
    var wasCut: Bool { mapping_guard_was_cut(guardSlot) != 0 }

    /// The next plainly whole record, or nil: the rest is libpcap's to read.
    func next() -> Record? {
        guard offset + 16 <= length else { return nil }
        let header = base + offset
        func field(_ at: Int) -> UInt32 {
            let value = header.loadUnaligned(fromByteOffset: at, as: UInt32.self)
            return swapped ? value.byteSwapped : value
        }
        let captured = field(8)
        guard captured <= snapshotLength, captured <= PcapWriter.maximumSnapshotLength, offset + 16 + Int(captured) <= length else { return nil }
        let fraction = field(4)
        let record = Record(
            seconds: Int64(Int32(bitPattern: field(0))),
            nanoseconds: Int64(Int32(bitPattern: fraction)) * (nanosecondFile ? 1 : 1000),
            capturedLength: captured,
            originalLength: field(12),
            bytes: UnsafeRawBufferPointer(start: header + 16, count: Int(captured))
        )
        offset += 16 + Int(captured)
        keepWindow()
        return record
    }

    /// Drops the pages of records already read (the caller holds at most
    /// the last one).
    private func keepWindow() {
        guard offset - dropped >= 2 * Self.window else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = (offset - Self.window) / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + dropped), end - dropped, MADV_DONTNEED)
        dropped = end
    }
}
