import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck record` killed with SIGKILL at random instants while traffic
/// flows: every file it leaves is read by tshark, `inspect` and `replay
/// serve`, and every byte in it is one a client sent.
@Suite(.serialized) struct RecordKillTests {
    /// What one client sent, by its local port.
    final class Sent: @unchecked Sendable {
        private let lock = NSLock()
        private var byPort: [UInt16: [UInt8]] = [:]

        func add(_ bytes: [UInt8], port: UInt16) {
            lock.withLock { byPort[port, default: []] += bytes }
        }

        func bytes(port: UInt16) -> [UInt8]? {
            lock.withLock { byPort[port] }
        }
    }

    /// Clients exchanging random amounts (a few bytes to 100 kB) until `deadline`.
    private static func traffic(_ listen: Endpoint, clients: Int, seed: UInt64, sent: Sent, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    try? await BlockingSocket.onThread {
                        var generator = SeededGenerator(seed: seed &+ UInt64(client))
                        while ContinuousClock.now < deadline {
                            guard let socket = try? BlockingSocket(connectingTo: listen), let port = socket.localPort else { return }
                            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                                let size = Bool.random(using: &generator) ? Int.random(in: 1...300, using: &generator) : Int.random(in: 1...100_000, using: &generator)
                                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                                sent.add(bytes, port: port)
                                guard (try? socket.send(bytes)) != nil, (try? socket.read(exactly: size)) != nil else { return }
                            }
                            socket.shutdownWrite()
                            _ = try? socket.readToEnd()
                        }
                    }
                }
            }
        }
    }

    @Test func sigkillAtRandomInstantsLeavesFilesEveryReaderTakes() async throws {
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        var generator = SeededGenerator(seed: 1212)
        var torn = 0
        var recordsSeen = 0
        for run in 0..<20 {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.file("killed.pcap")
            let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "--quiet"])
            let sent = Sent()
            let killAfter = Duration.milliseconds(Int.random(in: 50...600, using: &generator))
            let deadline = ContinuousClock.now + killAfter
            async let flowing: Void = Self.traffic(listen, clients: 4, seed: UInt64(run) * 100, sent: sent, until: deadline + .milliseconds(300))
            try await Task.sleep(until: deadline)
            recorder.signal(SIGKILL)
            #expect(try recorder.waitForExit() == 128 + SIGKILL)
            await flowing

            let layout = try PcapRecords.layout(path)
            recordsSeen += layout.records
            if layout.isTorn { torn += 1 }
            // tshark: every whole record; it exits 0 unless a kill cut a large write short.
            let tshark = try ChildProcess.run("/usr/bin/tshark", ["-r", path, "-T", "fields", "-e", "frame.number"])
            let frames = String(decoding: tshark.standardOutput, as: UTF8.self).split(separator: "\n").count
            #expect(frames == layout.records, "run \(run): tshark read \(frames) of \(layout.records) records")
            #expect(tshark.status == (layout.isTorn ? 2 : 0), "run \(run): \(tshark.standardError)")

            let inspect = try TapedeckBinary.run(["inspect", path, "--format", "json"])
            #expect(inspect.status == 0, "run \(run): \(inspect.standardError)")
            #expect(inspect.errorLines.count == (layout.isTorn ? 1 : 0), "run \(run): \(inspect.standardError)")

            // Every session's bytes are the start of what its client sent.
            let streams = try RecordedStream.read([path])
            for stream in streams {
                let expected = sent.bytes(port: stream.clientPort) ?? []
                #expect(expected.starts(with: stream.clientToServer), "run \(run) port \(stream.clientPort): client bytes differ from what was sent")
                #expect(expected.starts(with: stream.serverToClient), "run \(run) port \(stream.clientPort): echoed bytes differ from what was sent")
            }

            // replay serve takes the file and answers the first session's client.
            if let first = streams.first {
                let (replay, endpoint) = try TapedeckProcess.proxy(["replay", "serve", path, "--listen", "127.0.0.1:0"])
                let reply = try await BlockingClient.exchange(endpoint, send: first.clientToServer, halfClose: true, timeout: .seconds(5))
                #expect(first.serverToClient.starts(with: reply), "run \(run): replay serve answered bytes that were not recorded")
                #expect(reply.isEmpty == first.serverToClient.isEmpty, "run \(run): replay serve answered \(reply.count) of \(first.serverToClient.count) bytes")
                replay.signal(SIGTERM)
                #expect(try replay.waitForExit() == 0, "run \(run)")
            }
        }
        #expect(recordsSeen > 200, "the kills came while traffic was recorded")
        // A kill inside a large write can cut it (the readers take that);
        // between writes, which is nearly always, it cannot.
        #expect(torn <= 4, "\(torn) of 20 files torn")
        print("RecordKillTests: \(recordsSeen) records in 20 files, \(torn) torn by a kill inside a write")
    }

    /// A ring writes each new file in the storage of its oldest; killed
    /// while such a file is written, it leaves that file ending in a marker
    /// that every reader stops at. Every file then reads whole, tshark and
    /// `inspect` see the same records, and every byte in it is a run of
    /// what one client sent: nothing the storage held before.
    @Test func sigkillInARingThatWritesOverItsOldestFilesLeavesOnlyWhatWasSent() async throws {
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        var generator = SeededGenerator(seed: 2424)
        var interrupted = 0
        var filesSeen = 0
        var turned = 0
        for run in 0..<10 {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.file("ring.pcap")
            let (recorder, listen) = try TapedeckProcess.proxy([
                "record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "-C", "256KB", "-W", "2", "--quiet",
            ])
            let sent = Sent()
            let deadline = ContinuousClock.now + .milliseconds(Int.random(in: 500...1_500, using: &generator))
            async let flowing: Void = Self.traffic(listen, clients: 4, seed: UInt64(run) * 100 + 7, sent: sent, until: deadline + .milliseconds(300))
            try await Task.sleep(until: deadline)
            recorder.signal(SIGKILL)
            #expect(try recorder.waitForExit() == 128 + SIGKILL)
            await flowing

            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".pcap") }.sorted()
            #expect((1...3).contains(files.count), "run \(run): \(files)")
            for (position, file) in files.map(directory.file).enumerated() {
                filesSeen += 1
                let layout = try PcapRecords.layout(file)
                let tshark = try ChildProcess.run("/usr/bin/tshark", ["-r", file, "-T", "fields", "-e", "frame.number"])
                let frames = String(decoding: tshark.standardOutput, as: UTF8.self).split(separator: "\n").count
                #expect(frames == layout.records, "run \(run) \(file): tshark read \(frames) of \(layout.records) records")

                let inspect = try TapedeckBinary.run(["inspect", file, "--format", "json"])
                #expect(inspect.status == 0, "run \(run) \(file): \(inspect.standardError)")
                #expect(inspect.errorLines.count == (layout.isTorn ? 1 : 0), "run \(run) \(file): \(inspect.standardError)")
                if inspect.errorLines.contains(where: { $0.contains("interrupted at byte \(layout.wholeLength)") }) { interrupted += 1 }

                // The file being written when the kill came has no manifest
                // yet: a session that went on in it from the file before has
                // no handshake there, and the reader takes which side is its
                // client from the file before's manifest. Only when a kill
                // came before that was written either is it left to guess by
                // the ports (both ephemeral here), sometimes the wrong way round.
                let oriented = ([file] + (position > 0 ? [directory.file(files[position - 1])] : [])).contains {
                    FileManager.default.fileExists(atPath: $0 + ".json")
                }
                for read in try RecordedStream.read([file]) {
                    let isTurned = sent.bytes(port: read.clientPort) == nil && !oriented
                    if isTurned { turned += 1 }
                    let stream = isTurned ? read.turned : read
                    let expected = sent.bytes(port: stream.clientPort) ?? []
                    let sentWhole = expected.containsRun(stream.clientToServer) && expected.containsRun(stream.serverToClient)
                    #expect(sentWhole, "run \(run) \(file) port \(stream.clientPort): \(stream.clientToServer.count) client and \(stream.serverToClient.count) echoed bytes, not all of them in the \(expected.count) the client sent")
                }
            }
        }
        // Most kills land in a file written over an older one, before it
        // reaches that file's end.
        #expect(interrupted >= 2, "\(interrupted) of \(filesSeen) files ended in the marker")
        print("RecordKillTests: \(interrupted) of \(filesSeen) ring files ended where the kill interrupted a file written over an older one; \(turned) sessions in them read from the other side, for want of a manifest")
    }
}
