import NIOCore
import PcapFile

/// The pcap records of one session event, built on the event loop that read
/// its bytes (`FrameSynthesizer.records(for:)`), for the recorder's writer
/// to hand the file: each frame's headers, checksums done, in one block; each
/// payload copied into that block when it is small, and otherwise kept as a
/// slice of the buffer the bytes were read into, never copied in user space.
package struct FrameRecords {
    /// Payloads this long or shorter are copied into the block: a slice
    /// would cost more than the copy.
    package static let copiedPayloadLimit = 512
    /// Per record: its time, the length of its head and of its tail.
    private static let entryHeaderSize = MemoryLayout<Int64>.size + 2 * MemoryLayout<UInt32>.size

    /// Per record, back to back: time (nanoseconds since the epoch), head
    /// length, tail length, then the head (the frame's headers, and its
    /// payload when copied).
    private let block: FrameBlock
    /// The payloads not copied, in record order.
    private let tails: [ByteBuffer]

    /// The frames' bytes, as the writer takes them: `head` then `tail` make
    /// one frame; both stay valid as long as these records do.
    func forEach(_ body: (Timestamp, _ head: UnsafeRawBufferPointer, _ tail: UnsafeRawBufferPointer) throws -> Void) rethrows {
        var nextTail = 0
        try block.withUnsafeMutablePointers { used, base in
            let bytes = UnsafeRawBufferPointer(start: base, count: used.pointee)
            var position = 0
            while position < bytes.count {
                let time = bytes.loadUnaligned(fromByteOffset: position, as: Int64.self)
                let headLength = Int(bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt32.self))
                let tailLength = Int(bytes.loadUnaligned(fromByteOffset: position + 12, as: UInt32.self))
                position += Self.entryHeaderSize
                let head = UnsafeRawBufferPointer(rebasing: bytes[position..<position + headLength])
                position += headLength
                var tail = UnsafeRawBufferPointer(start: nil, count: 0)
                if tailLength > 0 {
                    // The buffer's storage does not move while it lives.
                    tail = tails[nextTail].withUnsafeReadableBytes { $0 }
                    nextTail += 1
                }
                try body(Timestamp(nanosecondsSinceEpoch: time), head, tail)
            }
        }
    }

    /// The payload of records built for a few bytes that were copied into
    /// them (`FrameSynthesizer.records(copying:direction:at:)`): the last
    /// `count` bytes of the last record's head (a bare ACK from the other
    /// side may come before it). Valid while these records live.
    func withCopiedPayload<Result>(count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try block.withUnsafeMutablePointers { used, base in
            let bytes = UnsafeRawBufferPointer(start: base, count: used.pointee)
            precondition(tails.isEmpty, "not records with their payloads copied")
            var position = 0
            var headLength = 0
            while position < bytes.count {
                precondition(bytes.count - position >= Self.entryHeaderSize, "a record cut short")
                headLength = Int(bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt32.self))
                position += Self.entryHeaderSize + headLength
            }
            precondition(position == bytes.count && count <= headLength, "the last record does not hold \(count) copied bytes")
            return try body(UnsafeRawBufferPointer(rebasing: bytes[bytes.count - count..<bytes.count]))
        }
    }

    /// Gathers the frames `FrameSynthesizer` hands on for one event.
    struct Builder {
        private let source: ByteBuffer?
        /// Where `source`'s readable bytes start: payloads are found in it by address.
        private let sourceBase: UInt
        private let block: FrameBlock
        private var tails: [ByteBuffer] = []

        /// For an event's frames: room for every segment's headers, the
        /// other side's bare ACKs among them (`acknowledgements`), and the
        /// payload that will be copied.
        init(event: SessionEvent, acknowledgements: Int) {
            guard case .data(let buffer) = event.kind else {
                self.init(segments: 2)
                return
            }
            let count = buffer.readableBytes
            let segments = max(1, (count + FrameSynthesizer.maximumSegmentPayload - 1) / FrameSynthesizer.maximumSegmentPayload)
            let last = count - (segments - 1) * FrameSynthesizer.maximumSegmentPayload
            let copied = last <= FrameRecords.copiedPayloadLimit ? last : 0
            self.init(source: buffer, segments: segments + acknowledgements, copied: copied)
        }

        /// For up to `segments` bare segments (a handshake, a FIN, an RST).
        init(segments: Int) {
            self.init(source: nil, segments: segments, copied: 0)
        }

        /// For one segment whose payload of `count` bytes (at most
        /// `copiedPayloadLimit`) is copied, after the other side's bare ACKs
        /// (`acknowledgements`, 0 or 1).
        init(copying count: Int, acknowledgements: Int) {
            precondition(count <= FrameRecords.copiedPayloadLimit)
            self.init(source: nil, segments: 1 + acknowledgements, copied: count)
        }

        private init(source: ByteBuffer?, segments: Int, copied: Int) {
            self.source = source
            sourceBase = source?.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } ?? 0
            block = FrameBlock.make(capacity: segments * (FrameRecords.entryHeaderSize + FrameSynthesizer.maximumHeaderLength) + copied)
        }

        mutating func add(_ time: Timestamp, _ headers: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) {
            let copies = payload.count <= FrameRecords.copiedPayloadLimit
            if !copies, let source {
                let offset = Int(UInt(bitPattern: payload.baseAddress) - sourceBase)
                tails.append(source.getSlice(at: source.readerIndex + offset, length: payload.count)!)
            }
            block.withUnsafeMutablePointers { used, base in
                let bytes = UnsafeMutableRawBufferPointer(start: base, count: block.capacity)
                var position = used.pointee
                bytes.storeBytes(of: time.nanosecondsSinceEpoch, toByteOffset: position, as: Int64.self)
                bytes.storeBytes(of: UInt32(headers.count + (copies ? payload.count : 0)), toByteOffset: position + 8, as: UInt32.self)
                bytes.storeBytes(of: UInt32(copies ? 0 : payload.count), toByteOffset: position + 12, as: UInt32.self)
                position += FrameRecords.entryHeaderSize
                UnsafeMutableRawBufferPointer(rebasing: bytes[position..<position + headers.count]).copyMemory(from: headers)
                position += headers.count
                if copies, !payload.isEmpty {
                    UnsafeMutableRawBufferPointer(rebasing: bytes[position..<position + payload.count]).copyMemory(from: payload)
                    position += payload.count
                }
                used.pointee = position
            }
        }

        var records: FrameRecords { FrameRecords(block: block, tails: tails) }
    }
}

/// The bytes of one event's records: one allocation, the count used in its header.
final class FrameBlock: ManagedBuffer<Int, UInt8> {
    static func make(capacity: Int) -> FrameBlock {
        unsafeDowncast(FrameBlock.create(minimumCapacity: capacity) { _ in 0 }, to: FrameBlock.self)
    }
}
