import TapedeckTestSupport
import Foundation

/// A classic pcap file built byte by byte, for what libpcap's writer will not
/// produce: records cut by the snapshot length, the other byte order, bogus
/// record lengths.
struct ClassicPcap {
    private let bigEndian: Bool
    private(set) var bytes: [UInt8] = []

    /// The file header: version 2.4, microsecond timestamps, snapshot length 262,144.
    init(linkType: UInt32, bigEndian: Bool = false) {
        self.bigEndian = bigEndian
        put32(0xA1B2_C3D4)
        put16(2)
        put16(4)
        put32(0)
        put32(0)
        put32(262_144)
        put32(linkType)
    }

    /// A record holding the first `capturedLength` bytes of `frame` (all of it by default).
    mutating func append(_ frame: [UInt8], capturedLength: Int? = nil, second: UInt32 = 1_700_000_000, microsecond: UInt32 = 0) {
        let captured = capturedLength ?? frame.count
        put32(second)
        put32(microsecond)
        put32(UInt32(captured))
        put32(UInt32(frame.count))
        bytes += frame.prefix(captured)
    }

    /// A record header claiming `capturedLength` bytes, followed by `body`.
    mutating func appendBogusRecord(capturedLength: UInt32, body: [UInt8]) {
        put32(1_700_000_000)
        put32(0)
        put32(capturedLength)
        put32(capturedLength)
        bytes += body
    }

    func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private mutating func put16(_ value: UInt16) {
        withUnsafeBytes(of: bigEndian ? value.bigEndian : value.littleEndian) { bytes += $0 }
    }

    private mutating func put32(_ value: UInt32) {
        withUnsafeBytes(of: bigEndian ? value.bigEndian : value.littleEndian) { bytes += $0 }
    }
}
