import Foundation
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Broken input gives an error, never a crash or a hang.
@Suite struct CaptureRobustnessTests {
    static let redis = RealCaptureTests.capturePath("redis.pcap")

    /// Offsets where each record of a classic pcap file ends.
    private static func recordEnds(_ bytes: [UInt8]) -> [Int] {
        var ends: [Int] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let captured = bytes[offset + 8..<offset + 12].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 16 + captured
            ends.append(offset)
        }
        return ends
    }

    @Test func fileCutAnywhereReadsWhatItHoldsAndReportsTheCut() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.redis)))
        let ends = Set(Self.recordEnds(bytes))
        let whole = try Reassembled.read([Self.redis])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cut.pcap")
        var cuts = Array(stride(from: 0, to: bytes.count, by: 211))
        cuts += ends.sorted().prefix(40)
        for cut in cuts {
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
            var result = Reassembled()
            var thrown: PcapError?
            var reported: [PcapError] = []
            do {
                try StreamReassembler.read(paths: [path], truncated: { reported.append($0) }) { result.record($0) }
            } catch let error as PcapError {
                thrown = error
            }
            if cut < 24 {
                #expect(thrown?.code == .open, "cut at \(cut)")
            } else if cut == 24 || ends.contains(cut) {
                #expect(thrown == nil && reported.isEmpty, "cut at \(cut)")
            } else {
                #expect(thrown == nil, "cut at \(cut)")
                #expect(reported.map(\.code) == [.truncated], "cut at \(cut)")
                // It names where the whole records end.
                let whole = ends.filter { $0 < cut }.max() ?? 24
                #expect(reported.first?.message.hasPrefix("cut short part-way through a record at byte \(whole),") == true, "cut at \(cut): \(reported)")
            }
            #expect(result.allClosed, "cut at \(cut)")
            // What was read is a prefix of the whole capture's sessions.
            for stream in result.sessions {
                let full = whole.sessions[stream.session.index]
                for direction in Direction.allCases {
                    #expect(full.bytes(direction).starts(with: stream.bytes(direction)), "cut at \(cut)")
                }
            }
        }
    }

    @Test func laterFilesOfASetAreReadAfterATornOne() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.redis)))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data(bytes.prefix(bytes.count - 10)).write(to: URL(fileURLWithPath: directory.file("a.pcap")))
        var result = Reassembled()
        var reported: [PcapError] = []

        let next = RealCaptureTests.capturePath("http6-any.pcap")
        let nextSessions = try Reassembled.read([next]).sessions.count

        try StreamReassembler.read(paths: [directory.file("a.pcap"), next], truncated: { reported.append($0) }) { result.record($0) }

        #expect(reported.map(\.code) == [.truncated])
        #expect(reported.first?.path == directory.file("a.pcap"))
        #expect(nextSessions > 0)
        #expect(result.sessions.count == 5 + nextSessions, "the torn file's five sessions, then the next file's")
        #expect(result.allClosed)
    }

    @Test func emptyGarbageAndBogusFilesFail() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var garbage = SeededGenerator(seed: 30)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &garbage) }
        var header = ClassicPcap(linkType: 1)
        header.appendBogusRecord(capturedLength: 0x7FFF_FFF0, body: noise)
        var tooLong = ClassicPcap(linkType: 1)
        tooLong.appendBogusRecord(capturedLength: 300_000, body: noise)
        let files: [(name: String, bytes: [UInt8], code: PcapError.Code)] = [
            ("empty", [], .open),
            ("garbage", noise, .open),
            ("header only, short", Array(header.bytes.prefix(20)), .open),
            ("huge caplen", header.bytes, .read),
            ("caplen over snaplen", tooLong.bytes, .read),
            ("missing", [], .open),
        ]
        for file in files {
            let path = directory.file(file.name)
            if file.name != "missing" {
                try Data(file.bytes).write(to: URL(fileURLWithPath: path))
            }
            let error = try #require(throws: PcapError.self, "\(file.name)") { try Reassembled.read([path]) }
            #expect(error.code == file.code, "\(file.name): \(error)")
        }
    }

    /// Valid captures with a few bytes changed, a few thousand times: every
    /// read ends in a result or an error. Seeded, so a failure reproduces.
    @Test func mutatedCapturesNeverTrap() throws {
        let sources = ["redis.pcap", "http6-any.pcap", "midflow.pcap"].map { file in
            (try? Data(contentsOf: URL(fileURLWithPath: RealCaptureTests.capturePath(file)))).map { [UInt8]($0) } ?? []
        }
        try #require(sources.allSatisfy { !$0.isEmpty })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("mutated.pcap")
        var generator = SeededGenerator(seed: 31)
        let deadline = Date().addingTimeInterval(15)
        var rounds = 0
        var failures = 0
        while rounds < 3000 && Date() < deadline {
            var bytes = sources[rounds % sources.count]
            for _ in 0..<Int.random(in: 1...16, using: &generator) {
                // Mostly inside packets, sometimes in the file header.
                let position = Bool.random(using: &generator)
                    ? Int.random(in: 0..<bytes.count, using: &generator)
                    : Int.random(in: 24..<min(bytes.count, 2000), using: &generator)
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            }
            if rounds % 10 == 0 {
                bytes.removeLast(Int.random(in: 0..<bytes.count / 2, using: &generator))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            var result = Reassembled()
            do {
                try StreamReassembler.read(paths: [path], limits: .init(maximumHeldBytes: 1 << 16)) { result.record($0) }
            } catch is PcapError {
                failures += 1
            }
            #expect(result.allClosed)
            rounds += 1
        }
        #expect(rounds >= 500, "only \(rounds) rounds in the time limit")
        #expect(failures > 0 && failures < rounds)
    }
}
