import NIOCore

extension AdaptiveRecvByteBufferAllocator {
    /// How a session's legs read: buffers start small and grow, while reads
    /// fill them, to 256 KiB (NIO's default stops at 64 KiB). A stream on
    /// NIO (recorded, under a fault, TLS) then costs a quarter of the reads,
    /// writes and wake-ups, and each recorded read makes four full frames and
    /// a short one where 64 KiB made a full one and one of 41 bytes. Requests
    /// and replies that fit a small buffer keep one.
    public static let sessionLeg = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024)
}
