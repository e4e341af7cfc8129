import NIOCore

/// The bytes of one side that no message has taken yet: where they sit in the
/// side's stream and when each of them arrived.
///
/// Framers read it by offsets relative to its first byte (the start of the
/// message being framed) and cut messages off its front with ``take(_:)``.
/// It holds only bytes that were fed: nothing is reserved from a length a
/// peer declared.
struct StreamBuffer: Sendable {
    /// A cut-off message's bytes and where and when they were sent.
    struct Cut: Sendable {
        var raw: ByteBuffer
        var streamOffset: Int
        var firstByteAt: Duration
        var lastByteAt: Duration
    }

    private(set) var bytes = ByteBuffer()
    /// Stream offset of the first byte still held.
    private(set) var offset = 0
    /// Chunks still (partly) held, oldest first: the stream offset one past
    /// each chunk's last byte, and when the chunk arrived.
    private var arrivals: [(end: Int, time: Duration)] = []

    init(startingAt offset: Int = 0) {
        self.offset = offset
    }

    var count: Int { bytes.readableBytes }
    var isEmpty: Bool { bytes.readableBytes == 0 }
    /// Stream offset one past the last byte fed.
    var endOffset: Int { offset + bytes.readableBytes }

    mutating func append(_ chunk: ByteBuffer, at time: Duration) {
        guard chunk.readableBytes > 0 else { return }
        if bytes.readableBytes == 0 {
            bytes = chunk
        } else {
            var chunk = chunk
            bytes.writeBuffer(&chunk)
        }
        arrivals.append((endOffset, time))
    }

    /// The byte `index` bytes past the first held byte, if it has arrived.
    func byte(at index: Int) -> UInt8? {
        guard index >= 0, index < bytes.readableBytes else { return nil }
        return bytes.getInteger(at: bytes.readerIndex + index)
    }

    /// A big-endian integer `index` bytes past the first held byte, if all its bytes have arrived.
    func integer<T: FixedWidthInteger>(at index: Int, as type: T.Type = T.self) -> T? {
        guard index >= 0, index + MemoryLayout<T>.size <= bytes.readableBytes else { return nil }
        return bytes.getInteger(at: bytes.readerIndex + index, endianness: .big, as: type)
    }

    /// Bytes `range` (relative to the first held byte), which must have arrived.
    func slice(_ range: Range<Int>) -> ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
    }

    /// The relative index of the first `byte` in `from..<min(count, from + limit)`, if any.
    func firstIndex(of byte: UInt8, from: Int, limit: Int = .max) -> Int? {
        let end = limit >= bytes.readableBytes - from ? bytes.readableBytes : from + limit
        guard from >= 0, from < end else { return nil }
        return bytes.withUnsafeReadableBytes { raw in
            raw[from..<end].firstIndex(of: byte)
        }
    }

    /// When the byte at `streamOffset` (held or already taken, not before the oldest held chunk) arrived.
    func arrivalTime(of streamOffset: Int) -> Duration {
        var low = 0
        var high = arrivals.count
        while low < high {
            let middle = (low + high) / 2
            if arrivals[middle].end > streamOffset { high = middle } else { low = middle + 1 }
        }
        return low < arrivals.count ? arrivals[low].time : (arrivals.last?.time ?? .zero)
    }

    /// Cuts the first `count` held bytes off as one message.
    mutating func take(_ count: Int) -> Cut {
        let count = min(max(count, 0), bytes.readableBytes)
        let start = offset
        let cut = Cut(
            raw: bytes.readSlice(length: count) ?? ByteBuffer(),
            streamOffset: start,
            firstByteAt: arrivalTime(of: start),
            lastByteAt: arrivalTime(of: start + max(count - 1, 0))
        )
        offset += count
        let spent = arrivals.prefix { $0.end <= offset }.count
        arrivals.removeFirst(spent)
        if bytes.readableBytes == 0 {
            bytes = ByteBuffer()
        } else if bytes.readerIndex > 65_536, bytes.readerIndex > bytes.readableBytes {
            bytes.discardReadBytes()
        }
        return cut
    }

    /// Everything still held, as the chunks it arrived in, emptying the buffer.
    mutating func takeChunks() -> [(bytes: ByteBuffer, time: Duration)] {
        var chunks: [(bytes: ByteBuffer, time: Duration)] = []
        while !isEmpty, let first = arrivals.first {
            let cut = take(first.end - offset)
            chunks.append((cut.raw, first.time))
        }
        return chunks
    }
}
