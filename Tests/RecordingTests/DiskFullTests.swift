import Foundation
import NIOCore
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Writers on a small tmpfs that fills up: the file is cut back to its last
/// whole record, the writer stops with the system's reason, and the
/// manifest lists what the file holds and what each session lost.
@Suite(.enabled(if: SmallDisk.canMount, "needs to mount a tmpfs (run as root)"))
struct DiskFullTests {
    @Test func pcapWriterCutsTheFileBackToItsLastWholeRecord() throws {
        let disk = try SmallDisk(bytes: 256 << 10)
        defer { disk.remove() }
        let path = disk.file("full.pcap")
        let writer = try PcapWriter(path: path)
        var failure: PcapError?
        for index in 0..<10_000 where failure == nil {
            // Small staged frames and large ones written directly, mixed.
            let frame = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: index % 5 == 0 ? 40_000 : 1_500)
            do {
                try writer.write(timestamp: .now(), frame: frame)
            } catch let error as PcapError {
                failure = error
            }
        }
        let error = try #require(failure)
        #expect(error.code == .write)
        #expect(error.errorNumber == ENOSPC)
        #expect(error.description.contains("No space left on device"))

        let layout = try PcapRecords.layout(path)
        #expect(!layout.isTorn)
        #expect(layout.records == writer.framesWritten)
        #expect(Int64(layout.wholeLength) == writer.byteOffset)
        // Stopped: later calls fail at once with the same error, the file stays as it is.
        #expect(throws: PcapError.self) { try writer.write(timestamp: .now(), frame: [0]) }
        #expect(throws: PcapError.self) { try writer.flush() }
        #expect(throws: PcapError.self) { try writer.close() }
        #expect(try PcapRecords.layout(path).fileLength == layout.fileLength)
        var read = 0
        try PcapReader(path: path).forEach { _ in read += 1 }
        #expect(read == layout.records)
    }

    /// Records whose payloads the writer only points to, gathered many at a
    /// time, fail the same way: cut back to the last whole record.
    @Test func gatheredRecordsAreCutBackToTheLastWholeOne() throws {
        let disk = try SmallDisk(bytes: 256 << 10)
        defer { disk.remove() }
        let path = disk.file("gathered.pcap")
        let writer = try PcapWriter(path: path)
        let payloads = (0..<10).map { [UInt8](repeating: UInt8($0), count: $0 % 3 == 0 ? 300 : 20_000) }
        let head = [UInt8](repeating: 0xEE, count: 54)
        var failure: PcapError?
        var appended = 0
        for index in 0..<1_000 where failure == nil {
            do {
                try head.withUnsafeBytes { head in
                    try payloads[index % payloads.count].withUnsafeBytes { tail in
                        try writer.appendRecord(timestamp: .now(), head: head, tail: tail)
                    }
                }
                appended += 1
                // The payloads stay alive: write only now and then, as the recorder does per batch.
                if index % 7 == 6 { try writer.flush() }
            } catch let error as PcapError {
                failure = error
            }
        }
        let error = try #require(failure)
        #expect(error.errorNumber == ENOSPC)
        #expect(writer.framesWritten < appended)
        let layout = try PcapRecords.layout(path)
        #expect(!layout.isTorn)
        #expect(layout.records == writer.framesWritten)
        #expect(Int64(layout.wholeLength) == writer.byteOffset)
        var index = 0
        try PcapReader(path: path).forEach { record in
            let payload = payloads[index % payloads.count]
            #expect(Array(record.bytes) == head + payload, "record \(index)")
            index += 1
        }
        #expect(index == layout.records)
    }

    @Test func recordingFileWriterManifestListsWhatTheFileHolds() throws {
        let disk = try SmallDisk(bytes: 512 << 10)
        defer { disk.remove() }
        // Room to free once the disk is full, for the manifest.
        let spare = disk.file("spare")
        FileManager.default.createFile(atPath: spare, contents: Data(count: 64 << 10))
        let path = disk.file("rec.pcap")
        let writer = try RecordingFileWriter(path: path)
        var sent: [UInt64: [UInt8]] = [:]
        var failed = false
        var id: UInt64 = 0
        let start = Timestamp.now()
        while !failed && id < 100 {
            let session = Session(index: Int(id), id: id, client: .ip(.loopbackV4, port: 40_000 + UInt16(id)), server: .ip(.loopbackV4, port: 6379), opened: start)
            let bytes = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(id)) }
            var pending = 0
            do {
                try writer.open(session)
                for chunk in stride(from: 0, to: bytes.count, by: 3_000) {
                    sent[id, default: []] += bytes[chunk..<(chunk + 3_000)]
                    pending = 3_000
                    try writer.append(SessionEvent(time: start, direction: .clientToServer, kind: .data(ByteBuffer(bytes: bytes[chunk..<(chunk + 3_000)]))), session: id)
                    pending = 0
                }
                writer.close(session: id, at: start)
            } catch {
                failed = true
                #expect(writer.failure?.errorNumber == ENOSPC)
                // The chunk being written is lost too (the recorder counts it so).
                writer.addUnrecorded(pending, direction: .clientToServer, session: id)
            }
            id += 1
        }
        #expect(failed, "the disk filled")
        try FileManager.default.removeItem(atPath: spare)

        #expect(throws: PcapError.self) { try writer.finish() }
        #expect(writer.manifestWritten)
        let manifest = try #require(try Manifest.load(forRecording: path))
        var inFile = SessionSummaries()
        try StreamReassembler.read(paths: [path]) { inFile.take($0) }
        let held = inFile.closed.sorted { $0.index < $1.index }
        #expect(manifest.sessions.count == held.count)
        #expect(manifest.sessions.map(\.clientToServer.bytes) == held.map(\.clientToServer.bytes))
        #expect(manifest.sessions.map(\.clientToServer.xxh3) == held.map(\.clientToServer.xxh3))
        #expect(held.allSatisfy { $0.clientToServer.xxh3 != nil })
        var unrecorded = 0
        for session in manifest.sessions {
            let expected = try #require(sent[UInt64(session.index)])
            // What the proxy handed over = what the file holds + what it lost.
            #expect(session.clientToServer.bytes + session.clientToServer.unrecordedBytes == expected.count, "session \(session.index)")
            unrecorded += session.clientToServer.unrecordedBytes
        }
        #expect(unrecorded > 0)
        #expect(writer.bytesLostInCut > 0)
    }
}
