import Foundation
import NIOCore
import PcapFile
import Recording
@testable import Replay
import TapedeckTestSupport
import Testing

/// The catalog `replay serve` and `replay drive` stream a capture through
/// gives, session by session, the scripts `SessionScript.load` reads: the
/// same steps, offsets, directions and bytes.
@Suite struct SessionCatalogTests {
    static func recording(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Recordings/\(name)").standardized.path
    }

    /// A step as plain values, bytes and all.
    struct PlainStep: Equatable, CustomStringConvertible {
        var offset: Int64
        var direction: Direction
        var action: String
        var bytes: [UInt8]

        init(_ step: SessionScript.Step) {
            offset = step.offset
            direction = step.direction
            switch step.action {
            case .data(let buffer): (action, bytes) = ("data", Array(buffer.readableBytesView))
            case .halfClose: (action, bytes) = ("halfClose", [])
            case .reset: (action, bytes) = ("reset", [])
            case .gap(let count): (action, bytes) = ("gap \(count)", [])
            }
        }

        var description: String { "\(offset) \(direction) \(action) \(bytes.count) bytes" }
    }

    /// Reads `paths` both ways and compares every session.
    @discardableResult
    static func expectCatalogMatchesLoad(_ paths: [String], maxGap: Duration? = nil) throws -> [SessionScript] {
        var loaded = try SessionScript.load(paths: paths)
        var catalog = try SessionCatalog.read(paths: paths)
        if let maxGap {
            loaded = loaded.map { $0.cappingGaps(at: maxGap) }
            catalog = catalog.cappingGaps(at: maxGap)
        }
        #expect(catalog.count == loaded.count, "\(paths)")
        for (position, script) in loaded.enumerated() where position < catalog.count {
            let read = try catalog.script(at: position)
            #expect(read.session == script.session)
            #expect(read.end == script.end)
            #expect(read.steps.map(PlainStep.init) == script.steps.map(PlainStep.init), "session \(script.session.index) of \(paths)")
            let outline = catalog.outline(at: position)
            #expect(outline.duration == script.duration)
            #expect(outline.firstClientStep == script.steps.first { $0.direction == .clientToServer }?.offset)
            #expect(outline.firstGapStreamOffset == script.firstGap?.streamOffset)
            for direction in Direction.allCases {
                for count in [1, 16, SessionPool.prefixLength] {
                    let first = try catalog.firstBytes(at: position, direction, upTo: count)
                    #expect(first == script.firstBytes(direction, upTo: count))
                }
            }
        }
        return loaded
    }

    @Test(arguments: ["redis.pcap", "http.pcap", "redis-tcp.pcap", "redis-unix.pcap", "http-proxy.pcap"])
    func everySampleRecordingReadsTheSame(name: String) throws {
        let scripts = try Self.expectCatalogMatchesLoad([Self.recording(name)])
        #expect(!scripts.isEmpty)
        try Self.expectCatalogMatchesLoad([Self.recording(name)], maxGap: .milliseconds(1))
    }

    /// tcpdump and dumpcap captures, one that starts mid-session and one
    /// whose snapshot length cut segments (gaps).
    @Test(arguments: ["http4.pcapng", "http6-any.pcap", "redis.pcap", "midflow.pcap", "redis-snaplen.pcap"])
    func everyForeignCaptureReadsTheSame(name: String) throws {
        let scripts = try Self.expectCatalogMatchesLoad([ForeignCaptureTests.capture(name)])
        #expect(!scripts.isEmpty)
    }

    /// tcpdump's Redis capture with every data segment cut in two and sent
    /// as the second half, the first, and the first again: reassembly holds
    /// a segment out of order, delivers it after the one before, and drops a
    /// retransmission — and the catalog still reads what `load` reads, the
    /// original bytes.
    @Test func aReorderedCaptureWithRetransmissionsReadsTheSame() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let original = ForeignCaptureTests.capture("redis.pcap")
        let path = directory.file("reordered.pcap")
        let writer = try PcapWriter(path: path)
        var split = 0
        try PcapReader(path: original).forEach { packet in
            let frame = Array(packet.bytes)
            if let (first, second) = TCPFrame.split(frame) {
                split += 1
                for part in [second, first, first] { try writer.write(timestamp: packet.timestamp, frame: part) }
            } else {
                try writer.write(timestamp: packet.timestamp, frame: frame)
            }
        }
        try writer.close()
        #expect(split >= 10)

        let reordered = try Self.expectCatalogMatchesLoad([path])
        let straight = try SessionScript.load(paths: [original])
        for direction in Direction.allCases {
            #expect(reordered.map { Array($0.bytes(direction).readableBytesView) } == straight.map { Array($0.bytes(direction).readableBytesView) })
        }
        // Each cut segment arrives as two steps: the held second half after the first.
        #expect(reordered.reduce(0) { $0 + $1.steps.count } > straight.reduce(0) { $0 + $1.steps.count })
    }

    @Test func aRotatedSetReadsTheSame() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let files = try await ForeignCaptureTests.recordRotatedSet(in: directory)
        let scripts = try Self.expectCatalogMatchesLoad(files)
        #expect(scripts.map { $0.byteCount(.clientToServer) } == [30_000])
    }

    @Test func selectingKeepsTheChosenSessionsInTheOrderAsked() throws {
        let path = Self.recording("redis-tcp.pcap")
        let loaded = try SessionScript.load(paths: [path])
        let chosen = try SessionCatalog.read(paths: [path]).selecting([2, 0])
        #expect(chosen.count == 2)
        #expect(try chosen.script(at: 0).steps.map(PlainStep.init) == loaded[2].steps.map(PlainStep.init))
        #expect(try chosen.script(at: 1).steps.map(PlainStep.init) == loaded[0].steps.map(PlainStep.init))
    }

    @Test func aTemporaryFolderThatIsNotThereIsNamedInTheError() throws {
        let error = try #require(throws: PayloadStoreError.self) {
            try SessionCatalog.read(paths: [Self.recording("redis.pcap")], temporaryFolder: "/nonexistent/tapedeck")
        }
        #expect(error.description == "cannot set the capture's bytes aside in a temporary file in /nonexistent/tapedeck: no such file or directory; point TMPDIR at a folder with room for them")
    }

    @Test(.enabled(if: SmallDisk.canMount, "needs to mount a tmpfs (run as root)"))
    func aFullTemporaryFolderIsNamedInTheError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let files = try await ForeignCaptureTests.recordRotatedSet(in: directory)
        let disk = try SmallDisk(bytes: 16 << 10)
        defer { disk.remove() }
        let error = try #require(throws: PayloadStoreError.self) {
            try SessionCatalog.read(paths: files, temporaryFolder: disk.directory)
        }
        #expect(error.description.hasPrefix("cannot set the capture's bytes aside in a temporary file in \(disk.directory): no space left on the device"))
    }
}

/// An Ethernet, IPv4 and TCP frame, as tcpdump captured it on loopback.
enum TCPFrame {
    /// The frame's payload as two segments, each with its own sequence
    /// number, lengths and checksums; nil for a frame that is not IPv4 TCP
    /// data, or that carries SYN, FIN or RST.
    static func split(_ frame: [UInt8]) -> (first: [UInt8], second: [UInt8])? {
        guard frame.count > 34, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 else { return nil }
        let ip = 14
        let tcp = ip + Int(frame[ip] & 0x0f) * 4
        let payload = tcp + Int(frame[tcp + 12] >> 4) * 4
        guard frame.count - payload >= 2, frame[tcp + 13] & 0x07 == 0 else { return nil }
        let half = (frame.count - payload) / 2
        return (
            segment(frame, tcp: tcp, payload: payload, bytes: payload..<(payload + half)),
            segment(frame, tcp: tcp, payload: payload, bytes: (payload + half)..<frame.count)
        )
    }

    private static func segment(_ frame: [UInt8], tcp: Int, payload: Int, bytes: Range<Int>) -> [UInt8] {
        var segment = Array(frame[..<payload]) + frame[bytes]
        let ipLength = segment.count - 14
        segment[16] = UInt8(ipLength >> 8)
        segment[17] = UInt8(ipLength & 0xff)
        let sequence = (UInt32(frame[tcp + 4]) << 24 | UInt32(frame[tcp + 5]) << 16 | UInt32(frame[tcp + 6]) << 8 | UInt32(frame[tcp + 7])) &+ UInt32(bytes.lowerBound - payload)
        for byte in 0..<4 { segment[tcp + 4 + byte] = UInt8(truncatingIfNeeded: sequence >> (24 - 8 * UInt32(byte))) }
        segment[24] = 0
        segment[25] = 0
        store(checksum(segment[14..<tcp]), in: &segment, at: 24)
        segment[tcp + 16] = 0
        segment[tcp + 17] = 0
        let tcpLength = segment.count - tcp
        let pseudo = Array(segment[26..<34]) + [0, 6, UInt8(tcpLength >> 8), UInt8(tcpLength & 0xff)]
        store(checksum(pseudo + segment[tcp...]), in: &segment, at: tcp + 16)
        return segment
    }

    /// RFC 1071's one's-complement sum.
    private static func checksum(_ bytes: some Collection<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var high: UInt8?
        for byte in bytes {
            if let first = high {
                sum += UInt32(first) << 8 | UInt32(byte)
                high = nil
            } else {
                high = byte
            }
        }
        if let first = high { sum += UInt32(first) << 8 }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func store(_ value: UInt16, in frame: inout [UInt8], at index: Int) {
        frame[index] = UInt8(value >> 8)
        frame[index + 1] = UInt8(value & 0xff)
    }
}
