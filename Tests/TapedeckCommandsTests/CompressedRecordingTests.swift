import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// Recordings compressed with gzip (`-z gzip`, or by hand) or zstd are read
/// as they are by `inspect` and `replay serve`, and `-z` keeps the manifest
/// naming the file it left.
@Suite(.serialized) struct CompressedRecordingTests {
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis-tcp.pcap").path

    /// `tapedeck record -z gzip`: at SIGTERM the recording is gzipped, its
    /// manifest names `NAME.pcap.gz`, and inspect and replay serve read it.
    @Test func recordWithGzipLeavesAManifestNamingTheCompressedFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let path = directory.file("gzipped.pcap")
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", path, "-z", "gzip", "--quiet"])
        let messages = ["one session", "and another"].map { Array($0.utf8) }
        for message in messages {
            #expect(try await BlockingClient.exchange(listen, send: message, halfClose: true) == message)
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)

        // tapedeck waited for gzip: the compressed file is there when it exits.
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: path + ".gz"))
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.file == "gzipped.pcap.gz")
        #expect(try Manifest.load(forRecording: path + ".gz") == manifest)

        let sessions = try TapedeckBinary.inspectJSON([path + ".gz"])
        #expect(sessions.map(\.clientToServer.bytes) == messages.map(\.count))
        #expect(sessions.map(\.clientToServer.sha256) == messages.map(sha256Hex))

        let (server, endpoint) = try TapedeckProcess.proxy(["replay", "serve", path + ".gz", "--listen", "127.0.0.1:0", "--speed", "0"])
        for message in messages {
            #expect(try await BlockingClient.exchange(endpoint, send: message, halfClose: true) == message)
        }
        server.signal(SIGINT)
        #expect(try server.waitForExit() == 0)
    }

    /// A recording compressed by hand with zstd (its manifest left as
    /// `NAME.pcap.json`) reads as the original.
    @Test(arguments: ["zstd", "gzip"])
    func aRecordingCompressedByHandReadsAsTheOriginal(tool: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("redis.pcap")
        try FileManager.default.copyItem(atPath: Self.recording, toPath: copy)
        try FileManager.default.copyItem(atPath: Manifest.path(forRecording: Self.recording), toPath: Manifest.path(forRecording: copy))
        let arguments = tool == "zstd" ? ["-q", "--rm", copy] : [copy]
        #expect(try ChildProcess.run(tool == "zstd" ? "/usr/bin/zstd" : "/bin/gzip", arguments).status == 0)
        let compressed = copy + (tool == "zstd" ? ".zst" : ".gz")
        #expect(!FileManager.default.fileExists(atPath: copy))

        #expect(try TapedeckBinary.inspectJSON([compressed]) == (try TapedeckBinary.inspectJSON([Self.recording])))
        let (server, endpoint) = try TapedeckProcess.proxy(["replay", "serve", compressed, "--listen", "127.0.0.1:0", "--session", "1", "--speed", "0"])
        try await StandardStreamTests.expectServes(Self.recording, session: 1, at: endpoint)
        server.signal(SIGINT)
        #expect(try server.waitForExit() == 0)
    }

    /// A compressed file cut short or damaged: the sessions before the damage,
    /// then one line naming the file and what is wrong. Data cut short after
    /// whole records is read to the cut with a warning and exit status 0, as
    /// an uncompressed file cut short is (the zstd copy of this small file is
    /// one block: cut, it yields no record at all, and that is an error);
    /// damaged data is an error, exit status 2.
    @Test(arguments: [
        ("gzip", "cut", "warning: ", "the gzip data ends early: the file was cut short", Int32(0)),
        ("zstd", "cut", "", "the zstd data ends early: the file was cut short", Int32(2)),
        ("gzip", "damaged", "", "the gzip data is corrupt", Int32(2)),
        ("zstd", "damaged", "", "the zstd data is corrupt", Int32(2)),
    ])
    func aDamagedCompressedFileIsOneLine(tool: String, damage: String, kind: String, message: String, status: Int32) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = try StandardStreamTests.compressed(Self.recording, tool, in: directory)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        if damage == "cut" {
            bytes = bytes.prefix(bytes.count * 2 / 3)
        } else {
            for index in stride(from: bytes.count / 2, to: bytes.count - 8, by: 3) { bytes[index] ^= 0x5a }
        }
        let path = directory.file("damaged.pcap." + (tool == "zstd" ? "zst" : "gz"))
        try bytes.write(to: URL(fileURLWithPath: path))

        let result = try TapedeckBinary.run(["inspect", path, "--format", "json"])
        #expect(!result.crashed)
        #expect(result.status == status)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix("tapedeck: \(kind)\(path): \(message)") == true, "\(result.standardError)")
    }

    /// A recording torn part-way through a record (a kill), then compressed
    /// whole, or piped in: read to the torn record with one warning that
    /// says where the whole records end, exit status 0, as the plain file is.
    @Test(arguments: ["gzip", "zstd", "stdin"])
    func aTornRecordingReadsToTheCutCompressedOrPiped(how: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.recording))
        let torn = directory.file("torn.pcap")
        try whole.prefix(whole.count * 2 / 3).write(to: URL(fileURLWithPath: torn))
        let plain = try TapedeckBinary.run(["inspect", torn, "--format", "json"])
        #expect(plain.status == 0, "\(plain.standardError)")

        let input = try StandardStreamTests.compressed(torn, how == "stdin" ? "plain" : how, in: directory)
        let result = how == "stdin"
            ? try TapedeckBinary.run(["inspect", "-", "--format", "json"], standardInput: input)
            : try TapedeckBinary.run(["inspect", input, "--format", "json"])
        #expect(!result.crashed)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == plain.standardOutput)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        let line = result.errorLines.first ?? ""
        #expect(line.hasPrefix("tapedeck: warning: \(how == "stdin" ? "standard input" : input): cut short part-way through a record at byte "), "\(line)")
        #expect(line.contains(how == "stdin" ? "whole records (libpcap" : "of the decompressed data"), "\(line)")
    }
}
