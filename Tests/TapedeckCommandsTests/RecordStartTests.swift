import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck record` that cannot start, or would replace an earlier
/// recording: the earlier recording is left exactly as it was.
@Suite(.serialized) struct RecordStartTests {
    /// A recording of three echoed sessions at `path`, made by `tapedeck record`.
    private static func makeRecording(_ path: String, upstream: String, extraArguments: [String] = []) async throws {
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream, "-w", path, "--quiet"] + extraArguments)
        for size in [10, 2_000, 30_000] {
            let bytes = [UInt8](repeating: UInt8(size % 251), count: size)
            #expect(try await BlockingClient.exchange(listen, send: bytes, halfClose: true) == bytes)
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)
    }

    private static func contents(_ paths: [String]) -> [Data?] {
        paths.map { FileManager.default.contents(atPath: $0) }
    }

    @Test(arguments: [false, true])
    func portInUseLeavesTheRecordingAlone(overwrite: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let keep = directory.file("keep.pcap")
        try await Self.makeRecording(keep, upstream: upstream.endpoint)
        let before = Self.contents([keep, Manifest.path(forRecording: keep)])
        #expect(before.allSatisfy { $0 != nil })

        // The sample server holds the port.
        let result = try TapedeckBinary.run(["record", "--listen", upstream.endpoint, "--upstream", upstream.endpoint, "-w", keep, "--quiet"] + (overwrite ? ["--overwrite"] : []))

        #expect(result.status == 2)
        #expect(!result.crashed)
        let errors = result.errorLines.filter { $0.hasPrefix("tapedeck: ") }
        // The port is looked at first: with or without --overwrite, that is what is said.
        #expect(errors == ["tapedeck: cannot listen on \(upstream.endpoint): address already in use"], "\(result.standardError)")
        #expect(Self.contents([keep, Manifest.path(forRecording: keep)]) == before, "the earlier recording is unchanged")
    }

    @Test func anEarlierRecordingIsReplacedOnlyWithOverwrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = directory.file("rec.pcap")
        try await Self.makeRecording(path, upstream: upstream.endpoint)
        let before = Self.contents([path, Manifest.path(forRecording: path)])

        let refused = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path])
        #expect(refused.status == 2)
        #expect(refused.errorLines == ["tapedeck: -w \(path): an earlier recording is there (\(path) and 1 more); pass --overwrite to replace it, or choose another name"])
        #expect(Self.contents([path, Manifest.path(forRecording: path)]) == before)

        // A manifest alone (its pcap deleted) is an earlier recording too.
        try FileManager.default.removeItem(atPath: path)
        let manifestOnly = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path])
        #expect(manifestOnly.status == 2)
        #expect(manifestOnly.standardError.contains(Manifest.path(forRecording: path)))

        try await Self.makeRecording(path, upstream: upstream.endpoint, extraArguments: ["--overwrite"])
        let sessions = try TapedeckBinary.inspectJSON([path])
        #expect(sessions.count == 3)
        #expect(try Manifest.load(forRecording: path)?.sessions.count == 3)
    }

    @Test func aRotatedSetIsRefusedWholeAndReplacedWhole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = directory.file("set.pcap")
        // Several files: a 30 kB session fills one.
        try await Self.makeRecording(path, upstream: upstream.endpoint, extraArguments: ["-C", "2KB"])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let old = names.filter { $0.hasSuffix(".pcap") }
        #expect(old.count >= 2, "\(names)")
        // Not part of the set: left alone either way.
        let stranger = directory.file("set_notes.pcap")
        FileManager.default.createFile(atPath: stranger, contents: Data("mine".utf8))
        let before = Self.contents(names.map(directory.file))

        let refused = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "-C", "2KB"])
        #expect(refused.status == 2)
        #expect(refused.errorLines.count == 1)
        #expect(refused.standardError.contains("set_00000.pcap"))
        #expect(Self.contents(names.map(directory.file)) == before)

        // Replaced by one small session: the old files beyond the new set are gone.
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "-C", "2KB", "--overwrite", "--quiet"])
        #expect(try await BlockingClient.exchange(listen, send: [1, 2, 3], halfClose: true) == [1, 2, 3])
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)
        let now = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(now == ["set_00000.pcap", "set_notes.pcap"])
        #expect(FileManager.default.contents(atPath: stranger) == Data("mine".utf8))
        #expect(try TapedeckBinary.inspectJSON([directory.file("set_00000.pcap")]).first?.clientToServer.bytes == 3)
    }

    @Test func aFullDiskAtStartIsAnErrorAndLeavesNoFile() throws {
        let disk = try SmallDisk(bytes: 1 << 20)
        defer { disk.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        try disk.makeFull()
        let path = disk.file("new.pcap")

        let process = try disk.start(try TapedeckExecutable.located.get(), ["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", path, "--quiet"])

        #expect(try process.waitForExit() == 2)
        let errors = process.outputLines.filter { $0.hasPrefix("tapedeck: ") }
        #expect(errors.count == 1, "\(process.outputLines)")
        #expect(errors.first?.hasPrefix("tapedeck: \(path): cannot write the file header: ") == true, "\(process.outputLines)")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: Manifest.path(forRecording: path)))
    }
}
