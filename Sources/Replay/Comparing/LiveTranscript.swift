import NIOCore
import Protocols

/// What one driven connection sent and received, with when (since it
/// began), as ``ExchangeComparator`` frames it once the session is over.
///
/// Threading: the channel's event loop.
struct LiveTranscript {
    private(set) var chunks: [ExchangeComparator.Chunk] = []
    private var began = NIODeadline.now()

    /// Times count from now.
    mutating func begin() {
        began = .now()
    }

    mutating func append(_ bytes: ByteBuffer, from side: Side) {
        chunks.append((side, bytes, .nanoseconds((NIODeadline.now() - began).nanoseconds)))
    }
}
