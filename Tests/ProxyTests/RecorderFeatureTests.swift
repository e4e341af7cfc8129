import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RecorderFeatureTests {
    /// One long session sending `chunks` pieces with pauses, echoed back.
    private static func slowSession(_ endpoint: Endpoint, chunks: [[UInt8]], pause: useconds_t) async throws -> [UInt8] {
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            var received: [UInt8] = []
            for chunk in chunks {
                try socket.send(chunk)
                received += try socket.read(exactly: chunk.count)
                usleep(pause)
            }
            socket.shutdownWrite()
            received += try socket.readToEnd()
            return received
        }
    }

    private static func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o777
    }

    /// Checks a rotated set: numbered names, each file readable alone with
    /// a manifest whose checksums hold, 0600, and the long session's bytes
    /// complete across files.
    private static func checkRotatedSet(_ files: [String], sent: [UInt8]) throws {
        #expect(files.count >= 3)
        for (number, file) in files.enumerated() {
            #expect(file.hasSuffix(String(format: "rec_%05d.pcap", number)))
            #expect(mode(file) == 0o600)
            #expect(mode(Manifest.path(forRecording: file)) == 0o600)
            #expect(try Manifest.load(forRecording: file) != nil)
        }
        var clientBytes: [UInt8] = []
        var serverBytes: [UInt8] = []
        for file in files {
            // A file the session sent nothing in holds no frame of it.
            let sessions = try Recorded.sessions([file])
            #expect(sessions.count <= 1, "\(file)")
            let manifest = try Manifest.load(forRecording: file)
            let recorded = manifest?.sessions.first.map { ($0.clientToServer.bytes, $0.serverToClient.bytes) } ?? (0, 0)
            let read = (sessions.first?.clientToServer.count ?? 0, sessions.first?.serverToClient.count ?? 0)
            #expect(read == recorded, "\(file) read alone: \(read) bytes, its manifest: \(recorded)")
            // A session's XXH3 is taken where it was read, for the file it
            // opened in; each later file's is of its own piece.
            let verification = try ChecksumVerification.verify(path: file)
            #expect(verification.passed, "\(file): \(verification.problems)")
            clientBytes += sessions.flatMap(\.clientToServer)
            serverBytes += sessions.flatMap(\.serverToClient)
        }
        #expect(clientBytes == sent)
        #expect(serverBytes == sent)
        // Read as one set, the session is one unbroken flow.
        let all = try Recorded.sessions(files)
        #expect(all.count == 1)
        #expect(all.first?.clientToServer == sent)
        #expect(all.first?.serverToClient == sent)
        #expect(all.first?.end == .fin)
        // Every file after the one the session opened in (the first, unless a
        // time rotation came before the client did) says its piece started before it.
        let manifests = try files.map { try #require(try Manifest.load(forRecording: $0)) }
        let opening = try #require(manifests.firstIndex { !$0.sessions.isEmpty })
        #expect(manifests[opening].sessions.allSatisfy { !$0.startedMidFlow })
        for manifest in manifests[(opening + 1)...] {
            #expect(manifest.sessions.allSatisfy { $0.startedMidFlow }, "\(manifest.file)")
        }
    }

    @Test func rotationBySize() async throws {
        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, recording: {
            configure(.file(path: $0)) { configuration in
                configuration.rotateBytes = 100_000
                configuration.flushInterval = .milliseconds(20)
            }
        })
        defer { harness.remove() }
        let chunks = (0..<8).map { randomBytes(40_000, seed: UInt64($0)) }
        let received = try await Self.slowSession(harness.endpoints[0], chunks: chunks, pause: 40_000)
        #expect(received == chunks.flatMap { $0 })
        try await harness.stop()
        await echo.stop()
        try Self.checkRotatedSet(try Recorded.rotatedFiles(in: harness.directory.path), sent: chunks.flatMap { $0 })
    }

    @Test func rotationByTime() async throws {
        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, recording: {
            configure(.file(path: $0)) { configuration in
                configuration.rotateInterval = .milliseconds(200)
                configuration.flushInterval = .milliseconds(20)
            }
        })
        defer { harness.remove() }
        let chunks = (0..<8).map { randomBytes(1000, seed: UInt64($0)) }
        _ = try await Self.slowSession(harness.endpoints[0], chunks: chunks, pause: 100_000)
        try await harness.stop()
        await echo.stop()
        let files = try Recorded.rotatedFiles(in: harness.directory.path)
        try Self.checkRotatedSet(files, sent: chunks.flatMap { $0 })
    }

    /// -W keeps the newest N files; -z runs with each finished file.
    @Test func ringAndPostRotateCommand() async throws {
        let echo = try await EchoServer.start()
        let directory = try TemporaryDirectory()
        let list = directory.file("finished.txt")
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, directory: directory, recording: {
            configure(.file(path: $0)) { configuration in
                configuration.rotateBytes = 50_000
                configuration.ringSize = 2
                configuration.postRotateCommand = "echo >> '\(list)'"
                configuration.flushInterval = .milliseconds(20)
            }
        })
        defer { harness.remove() }
        for index in 0..<6 {
            let payload = randomBytes(40_000, seed: UInt64(index))
            let reply = try await BlockingClient.duplexExchange(harness.endpoints[0], send: payload)
            #expect(reply.received == payload)
            try await Task.sleep(for: .milliseconds(60))
        }
        try await harness.stop()
        await echo.stop()
        let files = try Recorded.rotatedFiles(in: directory.path)
        #expect(files.count == 2)
        let finishedCount = Int(harness.recorder!.currentFile.split(separator: "_").last!.prefix(5))! + 1
        #expect(finishedCount >= 4)
        #expect(files.map { String($0.suffix(14)) } == [String(format: "rec_%05d.pcap", finishedCount - 2), String(format: "rec_%05d.pcap", finishedCount - 1)])
        for file in files { #expect(try Manifest.load(forRecording: file) != nil) }
        // The removed files' pages are freed off the writer thread, by closing
        // a descriptor held across the unlink: once the recorder has stopped,
        // none may be held still (the space would never come back).
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { descriptor in
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + descriptor)
        }.filter { $0.hasPrefix(directory.path) && $0.hasSuffix("(deleted)") }
        #expect(held.isEmpty, "removed ring files still open: \(held)")
        try await eventually(timeout: .seconds(5), "-z to run for every file") {
            let text = (try? String(contentsOfFile: list, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").count == finishedCount
        }
        let named = try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        #expect(named == (0..<finishedCount).map { directory.file(String(format: "rec_%05d.pcap", $0)) })
    }

    /// --per-session: one self-contained pcap and manifest per session.
    @Test func perSessionFiles() async throws {
        let echo = try await EchoServer.start()
        let directory = try TemporaryDirectory()
        let sessionsDirectory = directory.file("sessions")
        try FileManager.default.createDirectory(atPath: sessionsDirectory, withIntermediateDirectories: true)
        let unixListener = directory.file("p.sock")
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0), .unix(path: unixListener)], upstream: echo.endpoint, directory: directory, recording: { _ in
            RecorderConfiguration(output: .perSession(directory: sessionsDirectory))
        })
        defer { harness.remove() }
        var payloads: [[UInt8]] = []
        for index in 0..<3 {
            let payload = randomBytes(5000 + index, seed: UInt64(index))
            payloads.append(payload)
            let endpoint = index == 1 ? Endpoint.unix(path: unixListener) : harness.endpoints[0]
            #expect(try await BlockingClient.duplexExchange(endpoint, send: payload).received == payload)
        }
        try await harness.stop()
        await echo.stop()
        let files = try FileManager.default.contentsOfDirectory(atPath: sessionsDirectory).filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(files.count == 3)
        for (index, file) in files.enumerated() {
            let path = sessionsDirectory + "/" + file
            #expect(file.hasSuffix(String(format: "_%06d.pcap", index)))
            #expect(Self.mode(path) == 0o600)
            let sessions = try Recorded.sessions([path])
            #expect(sessions.count == 1)
            #expect(sessions.first?.clientToServer == payloads[index])
            #expect(sessions.first?.end == .fin)
            let manifest = try #require(try Manifest.load(forRecording: path))
            #expect(manifest.sessions.count == 1)
            if index == 1 { #expect(manifest.sessions.first?.client == .unix(path: unixListener)) }
            #expect(try TShark.problems(path) == [])
        }
    }

    /// --redact masks matches with a same-length filler in the recording;
    /// the live traffic is untouched.
    @Test func redaction() async throws {
        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, recording: {
            configure(.file(path: $0)) { configuration in
                configuration.redactPatterns = ["password=[a-z]+"]
            }
        })
        defer { harness.remove() }
        let message = Array("AUTH user=alice password=hunter two\r\n".utf8)
        #expect(try await BlockingClient.exchange(harness.endpoints[0], send: message, halfClose: true) == message)
        try await harness.stop()
        await echo.stop()
        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        let masked = Array("AUTH user=alice ".utf8) + Array(repeating: UInt8(ascii: "*"), count: "password=hunter".count) + Array(" two\r\n".utf8)
        #expect(session.clientToServer == masked)
        #expect(session.serverToClient == masked)
    }

    /// finish() twice returns (the second call does not hang), and events after it are ignored.
    @Test func finishTwice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recorder = try Recorder(configuration: RecorderConfiguration(output: .file(path: directory.file("r.pcap"))), logger: .init(label: "t"))
        try await BlockingSocket.onThread {
            recorder.finish()
            recorder.finish()
        }
        recorder.record(SessionEvent(time: .now(), direction: .clientToServer, kind: .data(ByteBuffer(string: "late"))), session: 1)
        #expect(recorder.backlogDrained(on: MultiThreadedEventLoopGroup.singleton.next()) == nil)
        #expect(try Manifest.load(forRecording: directory.file("r.pcap"))?.sessions.isEmpty == true)
    }

    /// The writer lets events gather before it writes them, but every event
    /// still reaches the file (flushed, readable while the recorder runs)
    /// within the flush interval: what a SIGKILL may lose. Each exchange of a
    /// slow session is looked for on disk after it was recorded.
    @Test func eventsReachTheFileWithinTheFlushInterval() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("r.pcap")
        let recorder = try Recorder(configuration: RecorderConfiguration(output: .file(path: path)), logger: .init(label: "t"))
        let session = Session(index: 0, id: 1, client: try Endpoint(parsing: "127.0.0.1:50000"), server: try Endpoint(parsing: "127.0.0.1:6379"), opened: .now())
        recorder.open(session)
        var sent = 0
        var slowest = Duration.zero
        for round in 1...5 {
            let chunk = ByteBuffer(repeating: UInt8(round), count: 100 * round)
            let recorded = ContinuousClock.now
            recorder.record(SessionEvent(time: .now(), direction: .clientToServer, kind: .data(chunk)), session: session.id)
            sent += chunk.readableBytes
            var onDisk = 0
            while onDisk < sent, recorded.duration(to: .now) < .seconds(2) {
                try await Task.sleep(for: .milliseconds(2))
                onDisk = (try? Recorded.sessions([path]).first?.clientToServer.count) ?? 0
            }
            #expect(onDisk == sent, "round \(round)")
            slowest = max(slowest, recorded.duration(to: .now))
            // Land the next event at another point of the flush cycle.
            try await Task.sleep(for: .milliseconds(37))
        }
        // 100 ms is the bound; the rest is room for a loaded CI machine.
        #expect(slowest < .milliseconds(100 + 150), "slowest: \(slowest)")
        try await BlockingSocket.onThread { recorder.finish() }
    }
}

/// A recorder configuration for `output`, with what `change` sets.
private func configure(_ output: RecorderConfiguration.Output, _ change: (inout RecorderConfiguration) -> Void) -> RecorderConfiguration {
    var configuration = RecorderConfiguration(output: output)
    change(&configuration)
    return configuration
}
