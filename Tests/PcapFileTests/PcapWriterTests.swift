import Foundation
import PcapFile
import Testing

@Suite struct PcapWriterTests {
    let directory: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "tapedeck-pcap-XXXXXX").utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
    }

    func frames(count: Int) -> [(Timestamp, [UInt8])] {
        (0..<count).map { (index: Int) -> (Timestamp, [UInt8]) in
            let time = Timestamp(seconds: 1_764_000_000 + Int64(index), nanoseconds: Int64(index) * 1_000_001 + 7)
            let length = 60 + index * 37
            let frame = (0..<length).map { (offset: Int) -> UInt8 in UInt8(truncatingIfNeeded: offset &* 31 &+ index) }
            return (time, frame)
        }
    }

    @Test func nanosecondRecordsReadBackExactly() throws {
        let path = directory + "/round.pcap"
        let written = frames(count: 50)
        let writer = try PcapWriter(path: path)
        for (time, frame) in written {
            try writer.write(timestamp: time, frame: frame)
        }
        #expect(writer.framesWritten == 50)
        let expectedSize = 24 + written.reduce(0) { $0 + 16 + $1.1.count }
        #expect(writer.byteOffset == Int64(expectedSize))
        try writer.close()
        try writer.close()
        #expect(writer.byteOffset == Int64(expectedSize), "a closed writer still knows its size")

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == expectedSize)

        let reader = try PcapReader(path: path)
        #expect(reader.linkType == .ethernet)
        #expect(reader.snapshotLength == PcapWriter.maximumSnapshotLength)
        var read: [(Timestamp, [UInt8])] = []
        try reader.forEach { packet in
            #expect(packet.capturedLength == packet.originalLength)
            read.append((packet.timestamp, Array(packet.bytes)))
        }
        #expect(read.count == written.count)
        for (lhs, rhs) in zip(read, written) {
            #expect(lhs.0 == rhs.0)
            #expect(lhs.1 == rhs.1)
        }
    }

    @Test func tcpdumpReadsTheFileWithNanosecondPrecision() throws {
        let path = directory + "/tcpdump.pcap"
        let writer = try PcapWriter(path: path)
        try writer.write(timestamp: Timestamp(seconds: 1_764_000_000, nanoseconds: 123_456_789), frame: [UInt8](repeating: 0, count: 60))
        try writer.close()
        let output = try run("/usr/bin/tcpdump", ["-r", path, "-nn", "--time-stamp-precision=nano", "-tt"])
        #expect(output.hasPrefix("1764000000.123456789"), "\(output)")
    }

    @Test func flushMakesRecordsVisibleWithoutClosing() throws {
        let path = directory + "/flush.pcap"
        let writer = try PcapWriter(path: path)
        for (time, frame) in frames(count: 3) {
            try writer.write(timestamp: time, frame: frame)
        }
        try writer.flush()
        let reader = try PcapReader(path: path)
        var count = 0
        try reader.forEach { _ in count += 1 }
        #expect(count == 3)
        try writer.close()
    }

    @Test func oversizedFrameIsRefused() throws {
        let writer = try PcapWriter(path: directory + "/big.pcap")
        #expect(throws: PcapError.self) {
            try writer.write(timestamp: .now(), frame: [UInt8](repeating: 0, count: PcapWriter.maximumSnapshotLength + 1))
        }
        try writer.close()
        #expect(throws: PcapError.self) {
            try writer.write(timestamp: .now(), frame: [0])
        }
    }

    @Test func unwritableDirectoryFailsWithThePath() throws {
        let error = try #require(throws: PcapError.self) {
            _ = try PcapWriter(path: directory + "/missing/dir/x.pcap")
        }
        #expect(error.code == .open)
        #expect(error.description.contains("missing/dir/x.pcap"))
        #expect(error.description.contains("No such file"))
    }

    @Test func bpfFilterSelectsRecords() throws {
        let path = directory + "/filter.pcap"
        let writer = try PcapWriter(path: path)
        // Ethernet frames: one IPv4 (0x0800), one ARP (0x0806).
        var ipv4 = [UInt8](repeating: 0, count: 60)
        ipv4[12] = 0x08
        var arp = ipv4
        arp[13] = 0x06
        try writer.write(timestamp: .now(), frame: ipv4)
        try writer.write(timestamp: .now(), frame: arp)
        try writer.close()
        let reader = try PcapReader(path: path, filter: "arp")
        var types: [UInt8] = []
        try reader.forEach { types.append($0.bytes[13]) }
        #expect(types == [0x06])
        #expect(throws: PcapError.self) { _ = try PcapReader(path: path, filter: "tcp port banana") }
    }

    @Test func truncatedFileReportsTruncationAfterTheGoodRecords() throws {
        let path = directory + "/torn.pcap"
        let writer = try PcapWriter(path: path)
        for (time, frame) in frames(count: 4) {
            try writer.write(timestamp: time, frame: frame)
        }
        try writer.close()
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size - 10)) == 0)
        let reader = try PcapReader(path: path)
        var count = 0
        let error = try #require(throws: PcapError.self) {
            try reader.forEach { _ in count += 1 }
        }
        #expect(count == 3)
        #expect(error.code == .truncated)
    }

    @Test func garbageAndEmptyFilesAreOpenErrors() throws {
        let empty = directory + "/empty.pcap"
        let garbage = directory + "/garbage.pcap"
        FileManager.default.createFile(atPath: empty, contents: Data())
        FileManager.default.createFile(atPath: garbage, contents: Data("this is not a capture at all, just text".utf8))
        for path in [empty, garbage, directory + "/absent.pcap"] {
            let error = try #require(throws: PcapError.self) { _ = try PcapReader(path: path) }
            #expect(error.code == .open)
            #expect(error.description.hasPrefix(path))
        }
    }

    func run(_ tool: String, _ arguments: [String]) throws -> String {
        try ToolRun(tool, arguments).output
    }
}

/// Records reach the file whole: every write the kernel sees ends on a
/// record boundary, whatever mix of small (staged) and large (written from
/// the caller's buffer) frames comes.
@Suite struct PcapWriterBoundaryTests {
    @Test func everyWriteEndsOnARecordBoundary() throws {
        var template = Array((NSTemporaryDirectory() + "tapedeck-pcap-XXXXXX").utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/whole.pcap"
        let writer = try PcapWriter(path: path, stagingCapacity: 20_000)
        var boundaries: Set<Int> = [24]
        var end = 24
        var sizesSeen: Set<Int> = []
        var state: UInt64 = 7
        for index in 0..<400 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let length = index % 7 == 0 ? 16_384 + Int(state >> 48) : 54 + Int(state >> 52)
            let frame = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: length)
            try writer.write(timestamp: Timestamp(seconds: 1_764_000_000, nanoseconds: Int64(index)), frame: frame)
            end += 16 + length
            boundaries.insert(end)
            let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(boundaries.contains(size), "after record \(index) the file is \(size) bytes, inside a record")
            sizesSeen.insert(size)
        }
        #expect(sizesSeen.count > 40, "records reach the file as they come, not only at flushes")
        try writer.close()
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size == end)
        var count = 0
        try PcapReader(path: path).forEach { _ in count += 1 }
        #expect(count == 400)
    }

    @Test func aFileThatExistsIsLeftAloneUnlessOverwriting() throws {
        var template = Array((NSTemporaryDirectory() + "tapedeck-pcap-XXXXXX").utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keep.pcap"
        FileManager.default.createFile(atPath: path, contents: Data("earlier".utf8))

        let error = try #require(throws: PcapError.self) { _ = try PcapWriter(path: path, overwrite: false) }

        #expect(error.code == .exists)
        #expect(FileManager.default.contents(atPath: path) == Data("earlier".utf8))
        let writer = try PcapWriter(path: path)
        try writer.close()
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 24)
    }
}
