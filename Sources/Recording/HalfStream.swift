import NIOCore

/// The reassembly state of one direction of a TCP connection: where its byte
/// stream starts, how far it has been delivered, and the out-of-order chunks
/// held until the bytes before them arrive (or are declared lost).
///
/// Offsets are 64-bit and relative to the first byte of the stream, so a
/// stream may run past 2^32 bytes; sequence numbers are unwrapped against the
/// delivery point (RFC 1982 serial arithmetic). Delivered bytes are never kept.
struct HalfStream {
    /// A held range of the stream: captured bytes, or bytes known to be lost
    /// (a snapshot-length cut) when `bytes` is nil.
    private struct Chunk {
        var offset: Int64
        var length: Int64
        var bytes: ByteBuffer?
        var end: Int64 { offset + length }
    }

    /// The sequence number of this direction's SYN, when the capture holds it.
    private(set) var initialSequenceNumber: UInt32?
    /// The sequence number of stream offset 0.
    private var base: UInt32 = 0
    private(set) var hasStarted = false
    /// Every byte before this offset has been delivered or reported as a gap.
    private(set) var deliveredOffset: Int64 = 0
    /// The offset of the FIN: the stream's length.
    private var finOffset: Int64?
    private(set) var isHalfClosed = false
    private var held: [Chunk] = []
    /// Captured bytes held out of order.
    private(set) var heldBytes = 0

    /// Starts the stream at a SYN with sequence number `initialSequenceNumber`.
    mutating func start(initialSequenceNumber: UInt32) {
        self.initialSequenceNumber = initialSequenceNumber
        start(at: initialSequenceNumber &+ 1)
    }

    /// Starts the stream, without a SYN, at `sequenceNumber`.
    mutating func start(at sequenceNumber: UInt32) {
        base = sequenceNumber
        hasStarted = true
    }

    /// The stream offset of `sequenceNumber`: the one nearest the delivery point.
    func offset(of sequenceNumber: UInt32) -> Int64 {
        let relative = sequenceNumber &- base
        let distance = Int32(bitPattern: relative &- UInt32(truncatingIfNeeded: deliveredOffset))
        return deliveredOffset + Int64(distance)
    }

    /// Takes in a segment's payload at stream offset `offset`: `payload` was
    /// captured, the `missing` bytes after it were cut off. Bytes already
    /// delivered or held are dropped (first copy wins); what becomes
    /// deliverable goes to `output` (data, gaps, and the half-close once
    /// the FIN is in sequence) — or, for bytes delivered as they arrive,
    /// to `lend` when given, uncopied and valid only during the call.
    mutating func receive<Failure: Error>(
        offset: Int64,
        payload: UnsafeRawBufferPointer,
        missing: Int,
        limits: StreamReassembler.Limits,
        output: (SessionEvent.Kind) throws(Failure) -> Void,
        lend: ((UnsafeRawBufferPointer) throws(Failure) -> Void)? = nil
    ) throws(Failure) {
        var end = offset + Int64(payload.count + missing)
        if let finOffset { end = min(end, finOffset) }
        let dataEnd = min(offset + Int64(payload.count), end)
        guard end > deliveredOffset else { return }
        if held.isEmpty && offset <= deliveredOffset {
            let start = deliveredOffset
            deliveredOffset = end
            if dataEnd > start {
                if let lend {
                    try lend(UnsafeRawBufferPointer(rebasing: payload[Int(start - offset)..<Int(dataEnd - offset)]))
                } else {
                    try output(.data(Self.copy(payload, from: offset, range: start..<dataEnd)))
                }
            }
            let lostStart = max(dataEnd, start)
            if end > lostStart {
                try output(.gap(bytes: Int(end - lostStart)))
            }
        } else {
            hold(offset: offset, payload: payload, dataEnd: dataEnd, end: end)
            try deliverHeld(output)
            while heldBytes > limits.maximumHeldBytes || held.count > limits.maximumHeldChunks {
                try flush(upTo: held[0].offset, output)
            }
        }
        try closeIfComplete(output)
    }

    /// Records a FIN after the byte at `offset - 1`. The first FIN seen wins.
    mutating func receiveFin<Failure: Error>(at offset: Int64, output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        guard finOffset == nil else { return }
        let fin = max(offset, deliveredOffset)
        finOffset = fin
        while let last = held.last, last.end > fin {
            if last.offset >= fin {
                held.removeLast()
                heldBytes -= last.bytes?.readableBytes ?? 0
            } else {
                let keep = Int(fin - last.offset)
                held[held.count - 1].length = Int64(keep)
                if let bytes = last.bytes {
                    heldBytes -= bytes.readableBytes - keep
                    held[held.count - 1].bytes = bytes.getSlice(at: bytes.readerIndex, length: keep)
                }
            }
        }
        try closeIfComplete(output)
    }

    /// The peer acknowledged everything before `offset`: bytes before it that
    /// the capture never showed are lost from the capture, not in flight.
    mutating func acknowledged<Failure: Error>(upTo offset: Int64, output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        let limit = finOffset.map { min(offset, $0) } ?? offset
        try flush(upTo: limit, output)
        try closeIfComplete(output)
    }

    /// Delivers everything held, reporting the holes between as gaps, up to
    /// the FIN if one was seen: nothing more will arrive.
    mutating func drain<Failure: Error>(_ output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        try flush(upTo: max(held.last?.end ?? 0, finOffset ?? 0), output)
        try closeIfComplete(output)
    }

    private mutating func flush<Failure: Error>(upTo limit: Int64, _ output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        while deliveredOffset < limit {
            let stop = min(limit, held.first?.offset ?? limit)
            if stop > deliveredOffset {
                let lost = Int(stop - deliveredOffset)
                deliveredOffset = stop
                try output(.gap(bytes: lost))
            }
            try deliverHeld(output)
        }
    }

    private mutating func closeIfComplete<Failure: Error>(_ output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        if !isHalfClosed, let finOffset, deliveredOffset >= finOffset {
            isHalfClosed = true
            try output(.halfClose)
        }
    }

    /// Inserts the parts of [offset, end) not yet delivered or held.
    private mutating func hold(offset: Int64, payload: UnsafeRawBufferPointer, dataEnd: Int64, end: Int64) {
        var cursor = max(offset, deliveredOffset)
        var index = firstHeldIndex(endingAfter: cursor)
        while cursor < end {
            if index < held.count && held[index].offset <= cursor {
                cursor = held[index].end
                index += 1
                continue
            }
            let pieceEnd = index < held.count ? min(end, held[index].offset) : end
            if cursor < dataEnd {
                let bytesEnd = min(pieceEnd, dataEnd)
                let bytes = Self.copy(payload, from: offset, range: cursor..<bytesEnd)
                held.insert(Chunk(offset: cursor, length: bytesEnd - cursor, bytes: bytes), at: index)
                heldBytes += bytes.readableBytes
                index += 1
                cursor = bytesEnd
            }
            if cursor < pieceEnd {
                held.insert(Chunk(offset: cursor, length: pieceEnd - cursor, bytes: nil), at: index)
                index += 1
                cursor = pieceEnd
            }
        }
    }

    private mutating func deliverHeld<Failure: Error>(_ output: (SessionEvent.Kind) throws(Failure) -> Void) throws(Failure) {
        var count = 0
        defer { held.removeFirst(count) }
        while count < held.count && held[count].offset <= deliveredOffset {
            let chunk = held[count]
            count += 1
            deliveredOffset = chunk.end
            if let bytes = chunk.bytes {
                heldBytes -= bytes.readableBytes
                try output(.data(bytes))
            } else {
                try output(.gap(bytes: Int(chunk.length)))
            }
        }
    }

    private func firstHeldIndex(endingAfter offset: Int64) -> Int {
        var low = 0
        var high = held.count
        while low < high {
            let middle = (low + high) / 2
            if held[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func copy(_ payload: UnsafeRawBufferPointer, from offset: Int64, range: Range<Int64>) -> ByteBuffer {
        let start = Int(range.lowerBound - offset)
        let end = Int(range.upperBound - offset)
        return ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: payload[start..<end]))
    }
}
