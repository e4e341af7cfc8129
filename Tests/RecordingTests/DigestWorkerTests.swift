import NIOCore
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// The digests a recording's manifest carries are computed partly on the
/// writer's thread (small chunks) and partly on a `DigestWorker` (large
/// ones); whatever the mix, each must be the SHA-256 of its stream's bytes in
/// the order they were given.
@Suite struct DigestWorkerTests {
    /// Chunk sizes that cross the inline limit both ways, with a capacity so
    /// small that most updates wait for the worker.
    @Test func interleavedStreamsOfMixedChunksHashInOrder() {
        let worker = DigestWorker(capacity: 64 << 10)
        defer { worker.stop() }
        var generator = SeededGenerator(seed: 11)
        let streams = (0..<40).map { _ in StreamDigest() }
        var sent = [[UInt8]](repeating: [], count: streams.count)
        let sizes = [1, 7, DigestWorker.inlineLimit - 1, DigestWorker.inlineLimit, 65_536, 200_003]
        for _ in 0..<400 {
            let stream = Int.random(in: 0..<streams.count, using: &generator)
            let size = sizes.randomElement(using: &generator)!
            let seed = Int.random(in: 0...255, using: &generator)
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ seed) }
            sent[stream] += bytes
            worker.update(streams[stream], with: ByteBuffer(bytes: bytes))
        }
        for (index, stream) in streams.enumerated() {
            #expect(worker.finalize(stream) == sha256Hex(sent[index]), "stream \(index)")
        }
    }

    /// A stream finalized while its chunks are still queued waits for them;
    /// one that goes on afterwards keeps every byte.
    @Test func finalizeWaitsForQueuedChunksAndTheStreamGoesOn() {
        let worker = DigestWorker()
        defer { worker.stop() }
        let digest = StreamDigest()
        let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
        for _ in 0..<8 { worker.update(digest, with: ByteBuffer(bytes: chunk)) }
        #expect(worker.finalize(digest) == sha256Hex([UInt8](repeating: 0x61, count: 8 << 20)))
        worker.update(digest, with: ByteBuffer(bytes: [0x62]))
        worker.update(digest, with: ByteBuffer(bytes: chunk))
        #expect(worker.finalize(digest) == sha256Hex([UInt8](repeating: 0x61, count: 8 << 20) + [0x62] + chunk))
    }

    /// A known vector, through the queued path.
    @Test func largeChunkMatchesAKnownDigest() {
        let worker = DigestWorker()
        defer { worker.stop() }
        let digest = StreamDigest()
        worker.update(digest, with: ByteBuffer(bytes: Array(String(repeating: "tapedeck", count: 131_072).utf8)))
        #expect(worker.finalize(digest) == "4fb5e8568118c96af83d01194041cc3483ecd2f59be6a07d147b13777f5ee54f")
    }

    /// After `stop`, updates are hashed by their callers and nothing is lost;
    /// stopping twice, or stopping a worker that never started, returns.
    @Test func stoppedWorkerHashesOnTheCallersThread() {
        let worker = DigestWorker()
        let digest = StreamDigest()
        let first = [UInt8](repeating: 1, count: 300_000)
        worker.update(digest, with: ByteBuffer(bytes: first))
        worker.stop()
        let second = [UInt8](repeating: 2, count: 300_000)
        worker.update(digest, with: ByteBuffer(bytes: second))
        #expect(worker.finalize(digest) == sha256Hex(first + second))
        worker.stop()
        DigestWorker().stop()
    }

    /// Two recordings of the same sessions, one hashing on its writer's
    /// thread and one on a worker, write the same manifest digests.
    @Test func recordingWithAWorkerWritesTheSameManifestDigests() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let worker = DigestWorker(capacity: 256 << 10)
        defer { worker.stop() }
        var generator = SeededGenerator(seed: 5)
        let payloads = (0..<6).map { index in
            (0..<(index * 97_001 + 13)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        var manifests: [Manifest] = []
        for digestWorker in [nil, worker] {
            let writer = try RecordingFileWriter(path: directory.file(digestWorker == nil ? "inline.pcap" : "worker.pcap"), digestWorker: digestWorker)
            for (index, payload) in payloads.enumerated() {
                let session = Session(
                    index: index, id: UInt64(index + 1),
                    client: try Endpoint(parsing: "127.0.0.1:\(50_000 + index)"), server: try Endpoint(parsing: "127.0.0.1:6379"),
                    opened: Timestamp(nanosecondsSinceEpoch: 1_000_000_000 + Int64(index))
                )
                try writer.open(session)
                var offset = 0
                while offset < payload.count {
                    let end = min(payload.count, offset + [100, 5_000, 70_000][offset % 3])
                    let time = Timestamp(nanosecondsSinceEpoch: 2_000_000_000 + Int64(offset))
                    try writer.append(SessionEvent(time: time, direction: .clientToServer, kind: .data(ByteBuffer(bytes: payload[offset..<end]))), session: session.id)
                    try writer.append(SessionEvent(time: time, direction: .serverToClient, kind: .data(ByteBuffer(bytes: payload[offset..<end].reversed()))), session: session.id)
                    offset = end
                }
            }
            manifests.append(try writer.finish())
        }
        #expect(manifests[0].sessions.count == payloads.count)
        for (index, payload) in payloads.enumerated() {
            let inline = manifests[0].sessions[index], queued = manifests[1].sessions[index]
            #expect(inline.clientToServer.sha256 == sha256Hex(payload))
            #expect(queued.clientToServer.sha256 == sha256Hex(payload))
            #expect(queued.serverToClient == inline.serverToClient)
        }
    }
}
