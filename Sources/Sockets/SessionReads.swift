import NIOCore

/// How a proxied connection sizes its reads.
package enum SessionReads {
    /// NIO keeps each channel's last read buffer for the next read, so an
    /// idle connection holds one buffer of the size it last read with. The
    /// first read is 512 bytes, not NIO's 2 KiB: an idle session (a pooled
    /// client that sent one command) holds a quarter of the memory, and a
    /// bulk stream still reaches 64 KiB reads after seven full ones (the
    /// allocator doubles each time a read fills its buffer).
    package static let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
}
