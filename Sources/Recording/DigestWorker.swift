import Crypto
import Foundation
import NIOCore

/// Computes the SHA-256 of recorded streams on a thread of its own, so that
/// the thread writing a recording synthesizes and writes frames while the
/// digests of its bulk streams are computed beside it. On bulk traffic
/// SHA-256 is more than half of a recording writer's work, and it is
/// sequential per stream: moving it to its own core is what lets one stream
/// record faster than one core can both hash and write.
///
/// A small chunk of a stream with nothing queued is hashed at once on the
/// caller's thread (handing it over would cost more than hashing it), so
/// request/response traffic and short sessions never wait on the worker;
/// larger chunks are queued, in order per stream. The queue is bounded:
/// `update` waits while `capacity` bytes are queued, which slows the caller
/// (a recording's writer thread, whose own bounded queue then applies its
/// back-pressure or drop policy) rather than growing memory.
package final class DigestWorker: @unchecked Sendable {
    /// Chunks smaller than this are hashed by the caller when their stream
    /// has nothing queued.
    public static let inlineLimit = 4096

    public let capacity: Int
    private let condition = NSCondition()
    private var queue = CircularBuffer<(digest: StreamDigest, bytes: ByteBuffer)>()
    private var queuedBytes = 0
    private var stopping = false
    private var running = false
    private let name: String

    /// The thread starts with the first chunk queued, so a worker that never
    /// gets one costs nothing.
    public init(capacity: Int = 8 << 20, name: String = "tapedeck-digest") {
        self.capacity = capacity
        self.name = name
    }

    /// Adds `bytes` to `digest`: at once when small and nothing of the stream
    /// is queued, otherwise after what is queued.
    public func update(_ digest: StreamDigest, with bytes: ByteBuffer) {
        let size = bytes.readableBytes
        guard size > 0 else { return }
        condition.lock()
        if digest.pending == 0 && (size < Self.inlineLimit || stopping) {
            condition.unlock()
            digest.absorb(bytes)
            return
        }
        // A chunk larger than the whole capacity still enters an empty queue.
        while queuedBytes > 0 && queuedBytes + size > capacity && !stopping {
            condition.wait()
        }
        if stopping {
            // The worker is gone or going: wait for this stream's queued
            // chunks (the worker drains before it exits), then hash here.
            while digest.pending > 0 { condition.wait() }
            condition.unlock()
            digest.absorb(bytes)
            return
        }
        if !running {
            running = true
            let thread = Thread { [self] in
                nameCurrentThread(name)
                run()
            }
            thread.start()
        }
        digest.pending += 1
        queue.append((digest, bytes))
        queuedBytes += size
        condition.broadcast()
        condition.unlock()
    }

    /// The digest of every byte given to `digest` so far, lowercase hex;
    /// waits for its queued chunks.
    public func finalize(_ digest: StreamDigest) -> String {
        condition.lock()
        while digest.pending > 0 { condition.wait() }
        condition.unlock()
        return digest.hex
    }

    /// Hashes what is queued, then ends the thread. Later updates are hashed
    /// by their callers. Safe to call more than once.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            guard let (digest, bytes) = queue.popFirst() else {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            digest.absorb(bytes)
            condition.lock()
            digest.pending -= 1
            queuedBytes -= bytes.readableBytes
            condition.broadcast()
        }
    }
}

/// The SHA-256 of one stream, updated in order by its recording's writer
/// thread or by a `DigestWorker` (never both at once: the worker's lock
/// orders them).
package final class StreamDigest: @unchecked Sendable {
    private var hasher = SHA256()
    /// Chunks queued on a worker and not yet hashed (under the worker's lock).
    fileprivate var pending = 0

    public init() {}

    /// Hashes `bytes` on the calling thread.
    public func absorb(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    /// Lowercase hex of the digest so far (the stream may go on).
    public var hex: String { hexString(hasher.finalize()) }
}
