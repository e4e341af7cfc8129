// Tapedeck's hot paths, each measured per MiB of payload (or per chunk for a
// fault stage), with allocation counts: a regression in allocations shows
// here before it shows in throughput.
//
//   Baseline               an empty sample: the harness's own allocations
//   FrameSynthesizer       1 MiB of session bytes → Ethernet/IPv4/TCP frames
//   FrameRecords           1 MiB of session events → frames as the recorder
//                          builds them on the event loops (headers and
//                          checksums; payloads left in the buffers read)
//   PcapWriter             1 MiB of payload in frames → a pcap on tmpfs
//   RecordingFileWriter    1 MiB of session events → frames, XXH3, pcap
//                          (built by the writer, or built before as the
//                          recorder's event loops do: then only XXH3 and the
//                          `writev` are left to the writer thread)
//   StreamReassembler      a pcap holding 1 MiB of payload → session events
//   FaultPipeline          1,000 chunks through a 5 ms latency fault on a
//                          manual clock (results are per chunk)
//
// Every MiB arrives in 16 KiB chunks, the size a busy NIO channel reads.
// Files go to /dev/shm (or /tmp), so the disk is not what is measured.

import Benchmark
import Faults
import Foundation
import NIOCore
import PcapFile
import Recording

private let mebibyte = 1 << 20
private let chunkSize = 16 << 10
private let chunksPerMebibyte = mebibyte / chunkSize

/// 1 MiB of pseudo-random bytes (a fixed seed: runs compare).
private func payload() -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<mebibyte).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

private func session(index: Int, start: Timestamp) -> Session {
    Session(
        index: index,
        id: UInt64(index + 1),
        client: try! Endpoint(parsing: "127.0.0.1:\(50_000 + index)"),
        server: try! Endpoint(parsing: "127.0.0.1:6379"),
        opened: start
    )
}

private let start = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)

/// The scratch directory of this process, removed when it exits (the
/// benchmark tool starts the executable several times: to list, then to run).
nonisolated(unsafe) private var scratchDirectory: String?

/// A directory on tmpfs when there is one, removed at exit.
private final class ScratchDirectory {
    let path: String

    init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array("\(base)/tapedeck-benchmarks.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed in \(base)") }
        path = String(cString: made)
        scratchDirectory = path
        atexit {
            if let path = scratchDirectory { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 2_000
    )

    let bytes = payload()
    let scratch = ScratchDirectory()

    // What a sample costs with nothing in it: the harness's own allocations,
    // to subtract from the counts below.
    Benchmark("Baseline: empty sample") { benchmark in
        blackHole(benchmark)
    }

    // MARK: frame synthesis

    // One long session, as in a recording proxy: the synthesizer and its
    // scratch buffer live across samples.
    var synthesizer = FrameSynthesizer(session: session(index: 0, start: start), initialSequenceNumbers: (1, 2))
    synthesizer.handshake { _, _ in }
    Benchmark("FrameSynthesizer: 1 MiB in 16 KiB chunks") { benchmark in
        var frameBytes = 0
        bytes.withUnsafeBytes { all in
            for chunk in 0..<chunksPerMebibyte {
                let slice = UnsafeRawBufferPointer(rebasing: all[(chunk * chunkSize)..<((chunk + 1) * chunkSize)])
                let direction: Direction = chunk % 2 == 0 ? .clientToServer : .serverToClient
                synthesizer.data(slice, direction: direction, at: start) { _, frame in
                    frameBytes &+= frame.count
                }
            }
        }
        blackHole(frameBytes)
    }

    // One chunk as a request/response protocol sends it (a Redis SET, an
    // HTTP request): what a frame costs where chunks are small.
    Benchmark("FrameSynthesizer: one 512-byte chunk") { benchmark in
        var frameBytes = 0
        bytes.withUnsafeBytes { all in
            synthesizer.data(UnsafeRawBufferPointer(rebasing: all[0..<512]), direction: .clientToServer, at: start) { _, frame in
                frameBytes &+= frame.count
            }
        }
        blackHole(frameBytes)
    }

    // MARK: frames built on the event loop

    // What the recorder does on the event loop that read the bytes: one
    // session's records per event, headers and checksums built, payloads
    // left in the buffers (16 KiB events: one slice each, no copy).
    let loopBuffers = (0..<chunksPerMebibyte).map { chunk in
        ByteBuffer(bytes: bytes[(chunk * chunkSize)..<((chunk + 1) * chunkSize)])
    }
    var loopSynthesizer = FrameSynthesizer(session: session(index: 0, start: start), initialSequenceNumbers: (1, 2))
    _ = loopSynthesizer.handshakeRecords()
    Benchmark("FrameRecords: 1 MiB in 16 KiB events") { benchmark in
        for (chunk, buffer) in loopBuffers.enumerated() {
            let direction: Direction = chunk % 2 == 0 ? .clientToServer : .serverToClient
            blackHole(loopSynthesizer.records(for: SessionEvent(time: start, direction: direction, kind: .data(buffer))))
        }
    }

    // One small event (a Redis SET, an HTTP request): its payload is copied
    // beside its headers, one allocation for the lot.
    let smallEvent = SessionEvent(time: start, direction: .clientToServer, kind: .data(ByteBuffer(bytes: bytes[0..<512])))
    Benchmark("FrameRecords: one 512-byte event") { benchmark in
        blackHole(loopSynthesizer.records(for: smallEvent))
    }

    // The same bytes lent from a reader's own buffer (the splice worker's
    // small reads): copied into the frames only, no buffer kept for them.
    Benchmark("FrameRecords: one 512-byte read lent") { benchmark in
        bytes.withUnsafeBytes { all in
            blackHole(loopSynthesizer.records(copying: UnsafeRawBufferPointer(rebasing: all[0..<512]), direction: .clientToServer, at: start))
        }
    }

    // MARK: pcap write

    // The frames of 1 MiB of payload, built once; each sample writes them to
    // a freshly truncated file and flushes (the file's creation is not measured).
    var frames: [[UInt8]] = []
    var frameSynthesizer = FrameSynthesizer(session: session(index: 0, start: start), initialSequenceNumbers: (1, 2))
    bytes.withUnsafeBytes { all in
        for chunk in 0..<chunksPerMebibyte {
            let slice = UnsafeRawBufferPointer(rebasing: all[(chunk * chunkSize)..<((chunk + 1) * chunkSize)])
            frameSynthesizer.data(slice, direction: .clientToServer, at: start) { _, frame in
                frames.append(Array(frame))
            }
        }
    }
    let pcapPath = "\(scratch.path)/write.pcap"
    Benchmark("PcapWriter: 1 MiB of payload (64 frames) to tmpfs") { benchmark in
        let writer = try! PcapWriter(path: pcapPath)
        benchmark.startMeasurement()
        for frame in frames {
            try! writer.write(timestamp: start, frame: frame)
        }
        try! writer.flush()
        benchmark.stopMeasurement()
        try! writer.close()
    }

    // MARK: the record path

    // What `tapedeck record` does with each byte: synthesis, the manifest's
    // SHA-256 and byte counts, the pcap write. One session per sample.
    let buffers = (0..<chunksPerMebibyte).map { chunk in
        ByteBuffer(bytes: bytes[(chunk * chunkSize)..<((chunk + 1) * chunkSize)])
    }
    let recordPath = "\(scratch.path)/record.pcap"
    Benchmark("RecordingFileWriter: 1 MiB of session events to tmpfs") { benchmark in
        let writer = try! RecordingFileWriter(path: recordPath)
        let recorded = session(index: 0, start: start)
        try! writer.open(recorded, initialSequenceNumbers: (1, 2))
        benchmark.startMeasurement()
        for (chunk, buffer) in buffers.enumerated() {
            let direction: Direction = chunk % 2 == 0 ? .clientToServer : .serverToClient
            try! writer.append(SessionEvent(time: start, direction: direction, kind: .data(buffer)), session: recorded.id)
        }
        try! writer.flush()
        benchmark.stopMeasurement()
        try! writer.finish()
    }

    // The writer thread's share once the event loops built the frames:
    // the manifest's XXH3 and byte counts, and the records handed to the
    // kernel in `writev`s that point into the buffers read.
    let builtPath = "\(scratch.path)/built.pcap"
    Benchmark("RecordingFileWriter: 1 MiB of events with frames built, to tmpfs") { benchmark in
        let writer = try! RecordingFileWriter(path: builtPath)
        let recorded = session(index: 0, start: start)
        var synthesizer = FrameSynthesizer(session: recorded, initialSequenceNumbers: (1, 2))
        try! writer.open(recorded, flow: synthesizer.flow, handshake: synthesizer.handshakeRecords())
        let events = buffers.enumerated().map { chunk, buffer in
            let event = SessionEvent(time: start, direction: chunk % 2 == 0 ? .clientToServer : .serverToClient, kind: .data(buffer))
            return (event, synthesizer.records(for: event))
        }
        benchmark.startMeasurement()
        for (event, records) in events {
            try! writer.append(event, records: records, session: recorded.id)
        }
        try! writer.writeOutReferences()
        try! writer.flush()
        benchmark.stopMeasurement()
        try! writer.finish()
    }

    // MARK: reassembly

    // A capture of 4 sessions, each 128 KiB each way in 16 KiB chunks, then
    // FIN both ways: 1 MiB of payload, read back whole per sample.
    let capturePath = "\(scratch.path)/reassembly.pcap"
    do {
        let writer = try! RecordingFileWriter(path: capturePath)
        for index in 0..<4 {
            let recorded = session(index: index, start: start)
            try! writer.open(recorded, initialSequenceNumbers: (UInt32(index), UInt32(index) + 100))
            for chunk in 0..<(chunksPerMebibyte / 4) {
                let direction: Direction = chunk % 2 == 0 ? .clientToServer : .serverToClient
                let time = start.advanced(by: .microseconds(chunk))
                try! writer.append(SessionEvent(time: time, direction: direction, kind: .data(buffers[index * 16 + chunk])), session: recorded.id)
            }
            let end = start.advanced(by: .milliseconds(1))
            try! writer.append(SessionEvent(time: end, direction: .clientToServer, kind: .halfClose), session: recorded.id)
            try! writer.append(SessionEvent(time: end, direction: .serverToClient, kind: .halfClose), session: recorded.id)
            writer.close(session: recorded.id, at: end)
        }
        try! writer.finish()
    }
    Benchmark("StreamReassembler: read back 1 MiB of payload from tmpfs") { benchmark in
        var payloadBytes = 0
        try! StreamReassembler.read(paths: [capturePath]) { event in
            if case .event(_, let sessionEvent) = event, case .data(let buffer) = sessionEvent.kind {
                payloadBytes += buffer.readableBytes
            }
        }
        precondition(payloadBytes == mebibyte, "reassembled \(payloadBytes) bytes, not \(mebibyte)")
        blackHole(payloadBytes)
    }

    // MARK: a fault stage

    // A 5 ms latency fault on one direction; a 16 KiB chunk arrives every
    // 100 µs of a manual clock, so about 50 chunks are held at any time and
    // each `receive` releases the one that came due.
    let latency = try! Fault(.latency(latency: .milliseconds(5)))
    var pipeline = FaultPipeline(FaultPlan(.downstream, seed: 1, connection: 1), faults: [latency], at: .zero)
    var now = FaultInstant.zero
    Benchmark(
        "FaultPipeline: latency fault, per 16 KiB chunk",
        configuration: .init(timeUnits: .nanoseconds, scalingFactor: .kilo)
    ) { benchmark in
        var delivered = 0
        for _ in benchmark.scaledIterations {
            now = now + .microseconds(100)
            for action in pipeline.receive(bytes: chunkSize, at: now) {
                if case .deliver(let count, _) = action { delivered += count }
            }
        }
        blackHole(delivered)
    }
}
