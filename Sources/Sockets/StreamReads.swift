import NIOCore

extension AdaptiveRecvByteBufferAllocator {
    /// How a session's legs read: buffers start small and grow, while reads
    /// fill them, to 256 KiB (NIO's default stops at 64 KiB). A stream on
    /// NIO (recorded, under a fault, TLS) that fills them needs up to four
    /// times fewer reads and writes, and each recorded read makes four full
    /// frames and a short one where 64 KiB made a full one and one of 41
    /// bytes: 500 MB of one iperf3 stream recorded in 9,794 records, not
    /// 15,000 (at a fixed 1 Gbit/s the CPU per GB did not change). Requests
    /// and replies that fit a small buffer keep one.
    public static let sessionLeg = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024)
}
