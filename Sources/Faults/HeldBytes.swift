import NIOCore

/// The bytes a fault pipeline holds, in the order they came: what its
/// `deliver` and `discard` actions take from the front.
package struct HeldBytes: Sendable {
    private var queue = CircularBuffer<ByteBuffer>()

    public init() {}

    public var isEmpty: Bool { queue.isEmpty }

    public mutating func append(_ buffer: ByteBuffer) {
        queue.append(buffer)
    }

    /// The next `count` bytes, as the pieces they were held in (the last
    /// one split where `count` ends).
    public mutating func take(_ count: Int) -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        var remaining = count
        while remaining > 0, var buffer = queue.first {
            if buffer.readableBytes <= remaining {
                remaining -= buffer.readableBytes
                queue.removeFirst()
                pieces.append(buffer)
            } else {
                pieces.append(buffer.readSlice(length: remaining)!)
                queue[queue.startIndex] = buffer
                remaining = 0
            }
        }
        return pieces
    }

    /// Throws away the next `count` bytes.
    public mutating func discard(_ count: Int) {
        var remaining = count
        while remaining > 0, var buffer = queue.first {
            if buffer.readableBytes <= remaining {
                remaining -= buffer.readableBytes
                queue.removeFirst()
            } else {
                buffer.moveReaderIndex(forwardBy: remaining)
                queue[queue.startIndex] = buffer
                remaining = 0
            }
        }
    }

    public mutating func removeAll() {
        queue.removeAll()
    }
}
