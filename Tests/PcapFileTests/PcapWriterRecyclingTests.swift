import Foundation
import PcapFile
import Synchronization
import Testing

#if os(Linux)
/// A file written in the storage of an older one (a ring's oldest,
/// `PcapWriter.init(path:recycling:)`) reads, after every write and after a
/// kill at any point, as exactly the records written to it — never as what
/// the storage held before — and once closed is byte for byte the file a
/// new writer would have made.
@Suite struct PcapWriterRecyclingTests {
    let directory: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "tapedeck-recycle-XXXXXX").utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
    }

    /// Frames of 60 bytes to 40 kB (some past `directFrameSize`, written
    /// from the caller's buffer), their bytes and times set by `seed`.
    func frames(count: Int, seed: UInt64) -> [(Timestamp, [UInt8])] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        return (0..<count).map { index in
            let length = index % 5 == 4 ? 16_384 + Int(next() % 24_000) : 60 + Int(next() % 1_400)
            let time = Timestamp(seconds: 1_764_000_000 + Int64(seed) * 10_000 + Int64(index), nanoseconds: Int64(next() % 1_000_000_000))
            return (time, (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) })
        }
    }

    /// A file of `frames` written by a new writer.
    @discardableResult
    func write(_ frames: [(Timestamp, [UInt8])], to path: String) throws -> [UInt8] {
        let writer = try PcapWriter(path: path)
        for (time, frame) in frames { try writer.write(timestamp: time, frame: frame) }
        try writer.close()
        return try bytes(path)
    }

    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The records `PcapReader` reads from `path`, and the error it ended on.
    func read(_ path: String) throws -> (records: [(Timestamp, [UInt8])], ending: PcapError?) {
        let reader = try PcapReader(path: path)
        var records: [(Timestamp, [UInt8])] = []
        do {
            while let packet = try reader.next() { records.append((packet.timestamp, Array(packet.bytes))) }
            return (records, nil)
        } catch let error as PcapError {
            return (records, error)
        }
    }

    /// How many frames tshark reads from `path`, and its exit status.
    func tshark(_ path: String) throws -> (frames: Int, status: Int32) {
        let tshark = try ToolRun("/usr/bin/tshark", ["-r", path, "-T", "fields", "-e", "frame.number"])
        return (tshark.output.split(separator: "\n").count, tshark.status)
    }

    func expectRecords(_ read: [(Timestamp, [UInt8])], _ written: ArraySlice<(Timestamp, [UInt8])>, _ comment: Comment) {
        #expect(read.count == written.count, comment)
        for (lhs, rhs) in zip(read, written) {
            #expect(lhs.0 == rhs.0 && lhs.1 == rhs.1, comment)
        }
    }

    @Test func aRecycledFileReadsAsItsOwnRecordsAfterEveryWrite() throws {
        let old = directory + "/old.pcap"
        let path = directory + "/new.pcap"
        try write(frames(count: 300, seed: 1), to: old)
        let oldSize = try bytes(old).count
        let written = frames(count: 60, seed: 2)

        let writer = try #require(try PcapWriter(path: path, recycling: old))
        #expect(!FileManager.default.fileExists(atPath: old), "the old file's name goes")
        #expect(try bytes(path).count == oldSize, "its storage is the new file's")
        var (records, ending) = try read(path)
        #expect(records.isEmpty)
        #expect(ending?.code == .truncated && ending?.message.contains("interrupted at byte 24") == true, "\(String(describing: ending))")

        for end in stride(from: 10, through: 60, by: 10) {
            for (time, frame) in written[(end - 10)..<end] { try writer.write(timestamp: time, frame: frame) }
            try writer.flush()
            (records, ending) = try read(path)
            expectRecords(records, written[..<end], "after \(end) records")
            #expect(ending?.code == .truncated, "after \(end) records: \(String(describing: ending))")
            #expect(ending?.message.contains("interrupted at byte \(writer.byteOffset)") == true, "after \(end) records: \(String(describing: ending))")
            let seen = try tshark(path)
            #expect(seen.frames == end, "tshark read \(seen.frames) frames after \(end) records")
        }
        try writer.close()

        let reference = try write(written, to: directory + "/reference.pcap")
        #expect(try bytes(path) == reference, "closed, the file is the one a new writer makes")
        #expect(try tshark(path) == (60, 0))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aRecycledFileWrittenPastItsOldEndIsAppendedTo() throws {
        let old = directory + "/old.pcap"
        let path = directory + "/new.pcap"
        try write(frames(count: 6, seed: 3), to: old)
        let oldSize = Int64(try bytes(old).count)
        let written = frames(count: 120, seed: 4)

        let writer = try #require(try PcapWriter(path: path, recycling: old))
        var passed = false
        for end in stride(from: 8, through: 120, by: 8) {
            for (time, frame) in written[(end - 8)..<end] { try writer.write(timestamp: time, frame: frame) }
            try writer.flush()
            let (records, ending) = try read(path)
            expectRecords(records, written[..<end], "after \(end) records")
            let size = Int64(try bytes(path).count)
            if writer.byteOffset + 16 >= oldSize {
                passed = true
                #expect(ending == nil, "past the old end: \(String(describing: ending))")
                #expect(size == writer.byteOffset, "past the old end, the file ends with its last record")
            } else {
                #expect(ending?.code == .truncated)
                #expect(size == oldSize)
            }
        }
        #expect(passed)
        try writer.close()
        #expect(try bytes(path) == (try write(written, to: directory + "/reference.pcap")))
    }

    @Test func aWriteCutShortLeavesAHeaderEveryReaderRefuses() throws {
        // What a kill leaves in the header after the last whole record: the
        // marker; the marker with its original length written (the bytes
        // after the commit reached the file, the commit did not); a commit
        // cut at each byte a page could end on inside its captured length.
        let path = directory + "/cut.pcap"
        let written = frames(count: 7, seed: 5)
        let whole = try write(written, to: path)
        let next = written[0]
        var real = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: (UInt32(next.0.seconds), UInt32(next.0.nanosecondsOfSecond), UInt32(next.1.count), UInt32(next.1.count))) {
            real = Array($0)
        }
        let marker = [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0xFF, count: 8)
        var endings: [[UInt8]] = [marker, Array(marker[0..<12]) + real[12..<16]]
        for written in 1...11 {
            endings.append(Array(real[0..<written]) + Array(marker[written..<12]) + real[12..<16])
        }
        for ending in endings {
            try Data(whole + ending + [UInt8](repeating: 0x5A, count: 300)).write(to: URL(fileURLWithPath: path))
            let (records, error) = try read(path)
            expectRecords(records, written[...], "ending \(ending)")
            #expect(error?.code == .truncated, "ending \(ending): \(String(describing: error))")
            #expect(error?.message.contains("interrupted at byte \(whole.count), after 7 whole records") == true, "\(String(describing: error))")
            #expect(try tshark(path).frames == 7)
        }
        // Any other garbage stays garbage.
        try Data(whole + [UInt8](repeating: 0x7E, count: 40)).write(to: URL(fileURLWithPath: path))
        let (records, error) = try read(path)
        #expect(records.count == 7)
        #expect(error?.code == .read, "\(String(describing: error))")
    }

    /// Another process opening the oldest file just as it is taken over
    /// (a backup, `tshark -r` on the ring) never reads what it held as part
    /// of the new capture. Opened before, the lease is refused; opened while
    /// the lease is held, the open waits, the lease says it is being broken,
    /// and the file is given back as it was; an open that looked the name
    /// up before the rename and gets to the file in the moment between that
    /// check and the lease's release finds a capture of no records yet, as
    /// the writer's readers do; opened after, the name is gone.
    @Test func aFileOpenedWhileTakenOverIsGivenBackOrReadsEmpty() throws {
        let old = directory + "/old.pcap"
        let path = directory + "/new.pcap"
        var givenBack = 0
        var late = 0
        var recycledCount = 0
        for round in 0..<300 {
            let before = try write(frames(count: 3, seed: UInt64(round % 7)), to: old)
            let opened = OpenAttempt(path: old, spins: (round % 30) * 100)
            opened.start()
            let writer = try PcapWriter(path: path, recycling: old)
            let (fd, took) = opened.result()
            if let fd {
                var held = [UInt8](repeating: 0, count: before.count + 1)
                let count = pread(fd, &held, held.count, 0)
                if writer == nil {
                    // Not taken over: it reads whole, and is still there.
                    #expect(count == before.count && Array(held.prefix(before.count)) == before, "round \(round)")
                    #expect((try? bytes(old)) == before, "round \(round)")
                    if took > .microseconds(200) { givenBack += 1 }
                } else {
                    // Taken over as it was opened: a header, then the marker.
                    late += 1
                    #expect(count >= 40 && Array(held[0..<24]) == Array(before[0..<24]), "round \(round)")
                    #expect(held[24..<32].allSatisfy { $0 == 0 } && held[32..<40].allSatisfy { $0 == 0xFF }, "round \(round): \(held[24..<40])")
                }
                close(fd)
            }
            if let writer {
                recycledCount += 1
                try writer.close()
                #expect(!FileManager.default.fileExists(atPath: old))
            }
            unlink(path)
            unlink(old)
        }
        #expect(recycledCount > 0)
        print("PcapWriterRecyclingTests: \(recycledCount) of 300 taken over; \(givenBack) opens waited for the lease and got the file back, \(late) came as it was released")
    }

    /// An `open(2)` of `path` on another thread, `spins` turns of a loop
    /// after `start()`, timed.
    final class OpenAttempt: @unchecked Sendable {
        private let go = Atomic(false)
        private let done = DispatchSemaphore(value: 0)
        private var fd: Int32 = -1
        private var took = Duration.zero

        init(path: String, spins: Int) {
            let ready = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [self] in
                ready.signal()
                while !go.load(ordering: .acquiring) {}
                var turn = 0
                while turn < spins { turn = Self.opaque(turn) + 1 }
                let start = ContinuousClock.now
                fd = open(path, O_RDONLY)
                took = ContinuousClock.now - start
                done.signal()
            }
            ready.wait()
        }

        @inline(never) static func opaque(_ value: Int) -> Int { value }

        func start() { go.store(true, ordering: .releasing) }

        func result() -> (Int32?, Duration) {
            done.wait()
            return (fd >= 0 ? fd : nil, took)
        }
    }

    @Test func aFileInUseIsNotRecycled() throws {
        let old = directory + "/old.pcap"
        let path = directory + "/new.pcap"
        let before = try write(frames(count: 20, seed: 6), to: old)

        // Another descriptor open on it: a reader, a copy, a command at work.
        let reader = try #require(FileHandle(forReadingAtPath: old))
        #expect(try PcapWriter(path: path, recycling: old) == nil)
        #expect(try bytes(old) == before)
        #expect(!FileManager.default.fileExists(atPath: path))
        try reader.close()

        // A second name for the same file.
        #expect(link(old, directory + "/other.pcap") == 0)
        #expect(try PcapWriter(path: path, recycling: old) == nil)
        #expect(try bytes(old) == before)
        unlink(directory + "/other.pcap")

        // A file in the way that may not be replaced.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(try PcapWriter(path: path, recycling: old, overwrite: false) == nil)
        #expect(try bytes(old) == before)
        #expect(try bytes(path) == [1, 2, 3])

        #expect(try PcapWriter(path: path, recycling: directory + "/missing.pcap") == nil)

        // Nothing in the way: it is.
        let writer = try #require(try PcapWriter(path: path, recycling: old))
        try writer.close()
        #expect(try bytes(path) == Array(before.prefix(24)))
        #expect(!FileManager.default.fileExists(atPath: old))
    }
}
#endif
