import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `-` as tcpdump takes it: `tapedeck record -w -` writes the pcap to
/// standard output for a reader to show live, and `inspect -` and `replay
/// serve -` read a capture (compressed or not) from standard input.
@Suite(.serialized) struct StandardStreamTests {
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis-tcp.pcap").path

    /// `tapedeck record … -w - | READER`: the reader gets standard output,
    /// tapedeck's log lines are collected from standard error.
    struct Pipeline {
        let upstream: BackgroundProcess
        let recorder: BackgroundProcess
        let reader: BackgroundProcess
        let listen: Endpoint

        init(reader arguments: [String], recorderArguments: [String] = []) throws {
            let sample = try TapedeckProcess.sampleServer()
            upstream = sample.process
            let pipe = Pipe()
            reader = try BackgroundProcess(arguments[0], Array(arguments.dropFirst()), standardInput: pipe.fileHandleForReading)
            (recorder, listen) = try TapedeckProcess.proxy(
                ["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", "-", "--quiet"] + recorderArguments,
                standardOutput: pipe.fileHandleForWriting
            )
            // Only the two processes hold the pipe now: the reader sees its end when tapedeck exits.
            try pipe.fileHandleForReading.close()
            try pipe.fileHandleForWriting.close()
        }
    }

    static func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02x", $0) }.joined()
    }

    /// tshark shows each session while `tapedeck record` is still running;
    /// at SIGTERM tapedeck closes the stream and both exit 0.
    @Test func recordToStandardOutputShowsSessionsLiveInTShark() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let manifest = directory.file("live.json")
        let pipeline = try Pipeline(
            reader: ["/usr/bin/tshark", "-l", "-r", "-", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.payload"],
            recorderArguments: ["--manifest", manifest]
        )
        defer { pipeline.upstream.stop() }
        for round in 1...3 {
            let message = "live session \(round)"
            #expect(try await BlockingClient.exchange(pipeline.listen, send: Array(message.utf8), halfClose: true) == Array(message.utf8))
            // Seen by the reader before the next session, with tapedeck still running.
            let line = try pipeline.reader.waitForLine(containing: Self.hex(message), timeout: .seconds(10))
            #expect(line.hasPrefix("\(round - 1)\t"), "\(line)")
            #expect(pipeline.recorder.process.isRunning)
        }
        pipeline.recorder.signal(SIGTERM)
        #expect(try pipeline.recorder.waitForExit() == 0)
        #expect(try pipeline.reader.waitForExit() == 0, "\(pipeline.reader.outputLines)")
        let written = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifest)))
        #expect(written.file == "-")
        #expect(written.sessions.count == 3)
        #expect(!FileManager.default.fileExists(atPath: "-.json"))
    }

    /// A reader that goes away ends the recording, not the proxy: clients
    /// are still served, and SIGTERM still ends tapedeck with status 0.
    @Test func aReaderThatGoesAwayStopsTheRecordingNotTheProxy() async throws {
        let pipeline = try Pipeline(reader: ["/usr/bin/tcpdump", "-l", "-n", "-r", "-", "-c", "1"])
        defer { pipeline.upstream.stop() }
        let first = Array("first".utf8)
        #expect(try await BlockingClient.exchange(pipeline.listen, send: first, halfClose: true) == first)
        #expect(try pipeline.reader.waitForExit() == 0, "tcpdump -c 1 leaves after one packet")
        for round in 0..<20 {
            let bytes = Array(String(repeating: "after the reader left \(round) ", count: 2_000).utf8)
            #expect(try await BlockingClient.exchange(pipeline.listen, send: bytes, halfClose: true) == bytes)
        }
        #expect(pipeline.recorder.process.isRunning)
        pipeline.recorder.signal(SIGTERM)
        #expect(try pipeline.recorder.waitForExit() == 0, "\(pipeline.recorder.outputLines)")
        // Said once, not once per event or flush.
        let lines = pipeline.recorder.outputLines
        #expect(lines.filter { $0.contains("standard output closed: recording stopped, the proxy goes on") }.count == 1, "\(lines)")
        #expect(!lines.contains { $0.contains(" error ") }, "\(lines)")
    }

    @Test(arguments: ["plain", "gzip", "zstd"])
    func inspectReadsStandardInput(compression: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = try Self.compressed(Self.recording, compression, in: directory)
        let fromFile = try TapedeckBinary.inspectJSON([Self.recording])
        #expect(try TapedeckBinary.inspectJSON(["-"], standardInput: input) == fromFile)
        #expect(fromFile.count == 4)
    }

    @Test func inspectOfEmptyStandardInputIsOneLine() throws {
        let result = try TapedeckBinary.run(["inspect", "-"])
        #expect(result.status == 2)
        #expect(result.errorLines.count == 1)
        #expect(result.errorLines.first?.hasPrefix("tapedeck: standard input: ") == true, "\(result.standardError)")
    }

    @Test func standardInputCanBeReadOnlyOnce() throws {
        let result = try TapedeckBinary.run(["inspect", "-", "-"])
        #expect(result.status != 0)
        #expect(!result.crashed)
        #expect(result.standardError.contains("- (standard input) can be read only once"))
    }

    @Test(arguments: ["plain", "zstd"])
    func replayServeReadsStandardInput(compression: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = try Self.compressed(Self.recording, compression, in: directory)
        let (server, endpoint) = try TapedeckProcess.proxy(
            ["replay", "serve", "-", "--listen", "127.0.0.1:0", "--session", "0", "--speed", "0"],
            standardInput: FileHandle(forReadingAtPath: input)
        )
        try await Self.expectServes(Self.recording, session: 0, at: endpoint)
        server.signal(SIGINT)
        #expect(try server.waitForExit() == 0)
    }

    /// What the recording's client sent in `session`, sent to `endpoint`:
    /// the recorded server's answer comes back.
    static func expectServes(_ recording: String, session: Int, at endpoint: Endpoint) async throws {
        let client = try TapedeckBinary.run(["inspect", recording, "--session", "\(session)", "--dump", "client"]).standardOutput
        let server = try TapedeckBinary.run(["inspect", recording, "--session", "\(session)", "--dump", "server"]).standardOutput
        #expect(!client.isEmpty && !server.isEmpty)
        let answer = try await BlockingClient.exchange(endpoint, send: Array(client), halfClose: true, timeout: .seconds(10))
        #expect(answer == Array(server))
    }

    /// `path` as is, or compressed by the real gzip or zstd into `directory`.
    static func compressed(_ path: String, _ compression: String, in directory: TemporaryDirectory) throws -> String {
        let tool: [String] = switch compression {
        case "gzip": ["/bin/gzip", "-c", path]
        case "zstd": ["/usr/bin/zstd", "-q", "-c", path]
        default: []
        }
        guard !tool.isEmpty else { return path }
        let result = try ChildProcess.run(tool[0], Array(tool.dropFirst()))
        guard result.status == 0 else { throw ChildProcess.Failure(description: "\(tool) failed: \(result.standardError)") }
        let output = directory.file("input.\(compression)")
        try result.standardOutput.write(to: URL(fileURLWithPath: output))
        return output
    }
}
