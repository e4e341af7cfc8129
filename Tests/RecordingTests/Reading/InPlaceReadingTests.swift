import Foundation
import PcapFile
import TapedeckTestSupport
import Testing

/// A plain classic pcap file's records are read in place from a mapping of
/// the file; libpcap reads the same file when it is compressed. Both must
/// give the same records, and the same error where a record is bogus or cut.
@Suite struct InPlaceReadingTests {
    /// Every record, then how reading ended (nil: at the end of the file).
    static func records(_ path: String) throws -> (records: [[String]], ending: String?) {
        let reader = try PcapReader(path: path)
        var records: [[String]] = []
        do {
            while let packet = try reader.next() {
                records.append([
                    "\(packet.timestamp.nanosecondsSinceEpoch)", "\(packet.capturedLength)", "\(packet.originalLength)",
                    Data(packet.bytes).base64EncodedString(),
                ])
            }
        } catch let error as PcapError {
            return (records, "\(error.code) \(error.message)")
        }
        return (records, nil)
    }

    static func frame(_ index: Int, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
    }

    @Test(arguments: [false, true])
    func recordsReadInPlaceAreThoseLibpcapReads(bigEndian: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for ending in ["whole", "cut mid-record", "bogus length"] {
            var capture = ClassicPcap(linkType: 1, bigEndian: bigEndian)
            for index in 0..<300 {
                let frame = Self.frame(index, length: [60, 1_514, 65_535, 9_000][index % 4])
                // Some records cut by a snapshot length, as tcpdump -s writes them.
                capture.append(frame, capturedLength: index % 7 == 3 ? 54 : nil, second: 1_700_000_000 + UInt32(index), microsecond: UInt32(index * 3_001 % 1_000_000))
            }
            var bytes = capture.bytes
            if ending == "cut mid-record" { bytes.removeLast(700) }
            if ending == "bogus length" {
                var bogus = capture
                bogus.appendBogusRecord(capturedLength: 0x7FFF_FFF0, body: [1, 2, 3])
                bytes = bogus.bytes
            }
            let plain = directory.file("\(ending).pcap")
            try Data(bytes).write(to: URL(fileURLWithPath: plain))
            let compressed = directory.file("\(ending)-copy.pcap")
            try Data(bytes).write(to: URL(fileURLWithPath: compressed))
            let gzip = try ChildProcess.run("/bin/gzip", ["-f", compressed])
            #expect(gzip.status == 0)

            let inPlace = try Self.records(plain)
            let throughLibpcap = try Self.records(compressed + ".gz")
            #expect(inPlace.records.count == (ending == "cut mid-record" ? 299 : 300), "\(ending)")
            #expect(inPlace.records == throughLibpcap.records, "\(ending)")
            #expect((inPlace.ending == nil) == (ending == "whole"), "\(ending): \(inPlace.ending ?? "no error")")
            // libpcap's own words, whichever way it got to the bad record
            // (a compressed file's byte is counted in the decompressed data).
            #expect(inPlace.ending == throughLibpcap.ending?.replacingOccurrences(of: " of the decompressed data", with: ""), "\(ending)")
        }
    }

    /// A file still being written: what was added after it was opened is
    /// read too, by libpcap, past the end of the mapping.
    @Test func aFileThatGrowsWhileReadIsReadToItsEnd() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("growing.pcap")
        let writer = try PcapWriter(path: path)
        for index in 0..<50 {
            try writer.write(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: Int64(index)), frame: Self.frame(index, length: 2_000))
        }
        try writer.flush()
        let reader = try PcapReader(path: path, filter: nil)
        var lengths: [Int] = []
        for _ in 0..<50 {
            lengths.append(try #require(try reader.next()).capturedLength)
        }
        for index in 50..<80 {
            try writer.write(timestamp: Timestamp(seconds: 1_700_000_001, nanoseconds: Int64(index)), frame: Self.frame(index, length: 3_000))
        }
        try writer.close()
        while let packet = try reader.next() {
            lengths.append(packet.capturedLength)
            #expect(Array(packet.bytes) == Self.frame(lengths.count - 1, length: 3_000))
        }
        #expect(lengths == Array(repeating: 2_000, count: 50) + Array(repeating: 3_000, count: 30))
    }
}
