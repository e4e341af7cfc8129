import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck record` on a small disk that fills up (a 2 MiB tmpfs, or a
/// 2 MiB file size limit where the test cannot mount one): the proxy goes on
/// forwarding, the file ends on a whole record, the manifest says what the
/// file holds and what it lost, and the exit status is 3.
@Suite(.serialized) struct RecordDiskFullTests {
    static let sessionBytes = 100_000

    /// `count` sessions of `sessionBytes` random bytes each, one after the
    /// other, echoed and checked; each client's port and what it sent.
    private static func sessions(_ listen: Endpoint, count: Int, seed: UInt64) async throws -> [(port: UInt16, bytes: [UInt8])] {
        var sent: [(port: UInt16, bytes: [UInt8])] = []
        for index in 0..<count {
            var generator = SeededGenerator(seed: seed &+ UInt64(index))
            let bytes = (0..<sessionBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let (received, port) = try await BlockingClient.duplexExchange(listen, send: bytes)
            #expect(received == bytes, "session \(index) was not forwarded whole")
            sent.append((try #require(port), bytes))
        }
        return sent
    }

    private static func port(_ endpoint: String) -> UInt16? {
        endpoint.split(separator: ":").last.flatMap { UInt16($0) }
    }

    @Test func singleFileStopsRecordingWhileTheProxyGoesOn() async throws {
        let disk = try SmallDisk(bytes: 2 << 20)
        defer { disk.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = disk.file("rec.pcap")
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "--quiet"], shellPrefix: disk.shellPrefix)

        let sent = Dictionary(try await Self.sessions(listen, count: 62, seed: 62), uniquingKeysWith: { _, last in last })
        // Idle for a while: nothing more is logged, however long it stays full.
        try await Task.sleep(for: .milliseconds(1500))
        let stopped = recorder.outputLines.filter { $0.contains("recording stopped") }
        #expect(stopped.count == 1, "\(recorder.outputLines)")
        #expect(recorder.outputLines.filter { $0.contains(" error ") }.count == 1, "one error line: \(recorder.outputLines)")
        recorder.signal(SIGINT)
        #expect(try recorder.waitForExit() == 3)
        #expect(recorder.outputLines.last?.hasPrefix("tapedeck: recording stopped early, ") == true, "\(recorder.outputLines.suffix(2))")
        #expect(recorder.outputLines.last?.contains(path) == true)

        let layout = try PcapRecords.layout(path)
        #expect(!layout.isTorn, "the file was cut back to its last whole record")
        #expect(layout.wholeLength > 1 << 20, "it recorded until the disk was full")
        _ = try TShark.run(["-r", path, "-q"])
        let inspected = try TapedeckBinary.inspectJSON([path])
        #expect(inspected.count >= 5 && inspected.count < 62)
        for session in inspected {
            let expected = try #require(Self.port(session.client).flatMap { sent[$0] })
            #expect(session.clientToServer.sha256 == sha256Hex(Array(expected.prefix(session.clientToServer.bytes))))
            #expect(session.serverToClient.sha256 == sha256Hex(Array(expected.prefix(session.serverToClient.bytes))))
        }

        // The manifest describes the file, and counts what each session lost.
        guard let manifest = try Manifest.load(forRecording: path) else {
            #expect(recorder.outputLines.contains { $0.contains("no manifest beside a file cut short") }, "a missing manifest is said")
            return
        }
        #expect(manifest.sessions.map(\.clientToServer.bytes) == inspected.map(\.clientToServer.bytes))
        for (recorded, held) in zip(manifest.sessions, inspected) {
            let expected = try #require(Self.port(held.client).flatMap { sent[$0] })
            #expect(recorded.serverToClient.xxh3 == xxh3Hex(Array(expected.prefix(held.serverToClient.bytes))), "session \(recorded.index)")
        }
        for session in manifest.sessions {
            #expect(session.clientToServer.bytes + session.clientToServer.unrecordedBytes == Self.sessionBytes, "session \(session.index)")
            #expect(session.serverToClient.bytes + session.serverToClient.unrecordedBytes == Self.sessionBytes, "session \(session.index)")
        }
        #expect(manifest.sessions.contains { $0.clientToServer.unrecordedBytes + $0.serverToClient.unrecordedBytes > 0 })
    }

    @Test func aRotatedRingGoesOnInANewFile() async throws {
        let disk = try SmallDisk(bytes: 2 << 20)
        defer { disk.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = disk.file("ring.pcap")
        // On the tmpfs, four files of 800 kB do not fit: the disk fills and
        // the oldest is freed. Under a 2 MiB file size limit each 3 MB file
        // reaches the limit first.
        let size = disk.isMounted ? "800KB" : "3MB"
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "-C", size, "-W", "4", "--quiet"], shellPrefix: disk.shellPrefix)

        let sent = try await Self.sessions(listen, count: 62, seed: 620)
        let byPort = Dictionary(sent, uniquingKeysWith: { _, last in last })
        recorder.signal(SIGINT)
        #expect(try recorder.waitForExit() == 3)
        let resumed = recorder.outputLines.filter { $0.contains("recording goes on in a new file") }
        #expect(!resumed.isEmpty, "\(recorder.outputLines)")
        #expect(!recorder.outputLines.contains { $0.contains("recording stopped") })

        let files = try FileManager.default.contentsOfDirectory(atPath: disk.directory).filter { $0.hasSuffix(".pcap") }.sorted().map(disk.file)
        #expect(!files.isEmpty && files.count <= 4, "\(files)")
        var recordedPorts: Set<UInt16> = []
        for file in files {
            #expect(try !PcapRecords.layout(file).isTorn, "\(file)")
            _ = try TShark.run(["-r", file, "-q"])
            #expect(try Manifest.load(forRecording: file) != nil, "\(file)")
            // A file alone may start part-way through a session: its bytes
            // are then a piece of what the client sent.
            for stream in try RecordedStream.read([file]) {
                let expected = try #require(byPort[stream.clientPort])
                recordedPorts.insert(stream.clientPort)
                #expect(expected.containsRun(stream.clientToServer), "\(file) port \(stream.clientPort): bytes no client sent")
                #expect(expected.containsRun(stream.serverToClient), "\(file) port \(stream.clientPort): bytes no client sent")
            }
        }
        // The last session was recorded, after the disk had filled.
        #expect(recordedPorts.contains(sent[sent.count - 1].port))
    }

    /// A ring of files large enough that freeing one takes a while, on a
    /// disk that holds the ring and little more, under bulk traffic: the disk
    /// fills at every rotation, and each time the oldest file's space must be
    /// back before the writer goes on (freed in the background it was not,
    /// and the recorder gave up after a cascade of full-disk errors).
    @Test(.enabled(if: SmallDisk.canMount, "needs to mount a tmpfs (run as root)"))
    func aRingOnAFullDiskKeepsUpWithBulkTraffic() async throws {
        let disk = try SmallDisk(bytes: 17 << 20)
        defer { disk.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", disk.file("bulk.pcap"), "-C", "8MB", "-W", "2", "--quiet"])
        var generator = SeededGenerator(seed: 6_200)
        let block = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let bulk = (0..<48).flatMap { _ in block }
        let (echoed, _) = try await BlockingClient.duplexExchange(listen, send: bulk)
        #expect(echoed == bulk, "the bulk session was not forwarded whole")
        recorder.signal(SIGINT)
        let status = try recorder.waitForExit()
        #expect(status == 0 || status == 3, "\(recorder.outputLines.suffix(5))")
        #expect(recorder.outputLines.contains { $0.contains("recording goes on in a new file") }, "the disk never filled")
        #expect(!recorder.outputLines.contains { $0.contains("recording stopped") }, "\(recorder.outputLines.suffix(5))")
        let files = try FileManager.default.contentsOfDirectory(atPath: disk.directory).filter { $0.hasSuffix(".pcap") }.sorted().map(disk.file)
        #expect(!files.isEmpty && files.count <= 2, "\(files)")
        for file in files {
            #expect(try !PcapRecords.layout(file).isTorn, "\(file)")
        }
    }
}
