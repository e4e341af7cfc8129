import Foundation
import PcapFile
import Testing

/// A capture cut short while Tapedeck reads it (another program writing a
/// new capture over it, a truncate) ends the read with an error that says
/// so; the process lives on, and nothing read from past the cut is handed
/// out as if it were the file's.
@Suite struct PcapReaderCutTests {
    let directory: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "tapedeck-cut-XXXXXX").utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
    }

    /// A capture of `count` 4,000-byte frames, each filled with its index's low byte + 1 (never zero).
    func writeCapture(_ path: String, count: Int) throws {
        let writer = try PcapWriter(path: path)
        for index in 0..<count {
            let frame = [UInt8](repeating: UInt8(truncatingIfNeeded: index % 255 + 1), count: 4_000)
            try writer.write(timestamp: Timestamp(seconds: 1_764_000_000 + Int64(index), nanoseconds: 0), frame: frame)
        }
        try writer.close()
    }

    @Test("cut under the reader: the records before the cut read whole, then an error naming the cut", arguments: [false, true])
    func cutWhileReading(filtered: Bool) throws {
        let path = directory + "/cut-\(filtered).pcap"
        try writeCapture(path, count: 2_000)
        let reader = try PcapReader(path: path, filter: filtered ? "len > 0" : nil)
        var read = 0
        for _ in 0..<10 {
            let packet = try #require(try reader.next())
            #expect(packet.bytes.allSatisfy { $0 == UInt8(read % 255 + 1) }, "record \(read) whole")
            read += 1
        }
        // Another program cuts the file to its first few records, well behind
        // the pages the reader has touched and ahead of it.
        #expect(truncate(path, 24 + 3 * (16 + 4_000)) == 0)
        var failure: PcapError?
        do {
            while let packet = try reader.next() {
                #expect(packet.bytes.allSatisfy { $0 == UInt8(read % 255 + 1) }, "record \(read) was handed out with bytes not the file's")
                read += 1
            }
        } catch let error as PcapError {
            failure = error
        }
        let error = try #require(failure, "reading past the cut must fail, not end quietly")
        #expect(error.code == .read)
        #expect(error.message.contains("cut short while it was being read"))
        #expect(error.message.contains("it is 12072 bytes now"))
        #expect(read == 10)
    }

    @Test("a file cut to nothing, and a fresh reader of the cut file, read as libpcap says")
    func freshReaderOfCutFile() throws {
        let path = directory + "/short.pcap"
        try writeCapture(path, count: 20)
        #expect(truncate(path, 24 + 3 * (16 + 4_000) + 100) == 0)
        let reader = try PcapReader(path: path)
        var read = 0
        do {
            while try reader.next() != nil { read += 1 }
            Issue.record("a file cut inside a record must say so")
        } catch let error as PcapError {
            #expect(error.code == .truncated)
        }
        #expect(read == 3)
    }
}
