import TapedeckTestSupport
import PcapFile
import Recording

/// Frames of synthetic flows, fed straight to a reassembler (checking what it
/// holds after every packet) or written to a file first.
struct SyntheticCapture {
    var framing: LinkFraming = .ethernet
    var frames: [[UInt8]] = []
    /// Capture times, one per frame.
    var times: [Timestamp] = []

    init(framing: LinkFraming = .ethernet) {
        self.framing = framing
    }

    mutating func add(_ flow: TestFlow, _ segments: [TestFlow.Segment], totalLengthZero: Bool = false, extensionHeaders: Bool = false) {
        for segment in segments {
            add(frame: framing.frame(flow.packet(segment, totalLengthZero: totalLengthZero, extensionHeaders: extensionHeaders)))
        }
    }

    /// Frames are captured 1 µs apart, plus what `wait` adds.
    private var clock = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)

    mutating func add(frame: [UInt8]) {
        clock = clock.advanced(by: .microseconds(1))
        frames.append(frame)
        times.append(clock)
    }

    mutating func wait(_ duration: Duration) {
        clock = clock.advanced(by: duration)
    }

    /// Feeds every frame to one reassembler and finishes; `heldAfterEach` is
    /// what it held after each frame.
    func reassemble(limits: StreamReassembler.Limits = .init()) throws -> (result: Reassembled, heldAfterEach: [Int]) {
        let decoder = try LinkDecoder(linkType: framing.linkType)
        var reassembler = StreamReassembler(limits: limits)
        var result = Reassembled()
        var held: [Int] = []
        for (frame, time) in zip(frames, times) {
            frame.withUnsafeBytes { bytes in
                if let segment = decoder.decode(frame: bytes, originalLength: bytes.count) {
                    reassembler.process(segment, at: time) { result.record($0) }
                }
            }
            held.append(reassembler.heldBytes)
        }
        reassembler.finish { result.record($0) }
        held.append(reassembler.heldBytes)
        return (result, held)
    }

    /// Writes the frames with libpcap and reads the file back.
    func writeAndRead(in directory: TemporaryDirectory, limits: StreamReassembler.Limits = .init()) throws -> Reassembled {
        let path = directory.file("synthetic.pcap")
        let writer = try PcapWriter(path: path, linkType: framing.linkType)
        for (frame, time) in zip(frames, times) {
            try writer.write(timestamp: time, frame: frame)
        }
        try writer.close()
        return try Reassembled.read([path], limits: limits)
    }
}

/// `count` reproducible pseudo-random bytes.
func testBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
