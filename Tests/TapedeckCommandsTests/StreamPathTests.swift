import Foundation
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `-w` naming something other than a regular file — a FIFO a live reader
/// holds open (`wireshark -k -i FIFO`), or `/dev/null` to measure the
/// proxy with recording's work but no disk — is written as `-w -` writes
/// standard output: opened as it is, never replaced, removed,
/// re-permissioned or rotated, and no manifest beside it.
@Suite(.serialized) struct StreamPathTests {
    static func fileType(_ path: String) -> mode_t? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mode & S_IFMT
    }

    /// tshark reads the FIFO while tapedeck records into it; `--overwrite`
    /// leaves the FIFO in place.
    @Test func recordIntoAFIFOThatTSharkReads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("live.pcap")
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader first: opening a FIFO for writing waits for one.
        let reader = try BackgroundProcess("/usr/bin/tshark", ["-l", "-r", fifo, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.payload"])
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let (recorder, listen) = try TapedeckProcess.proxy(
            ["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", fifo, "--overwrite", "--quiet"]
        )
        for round in 1...3 {
            let message = "through the fifo \(round)"
            #expect(try await BlockingClient.exchange(listen, send: Array(message.utf8), halfClose: true) == Array(message.utf8))
            let line = try reader.waitForLine(containing: StandardStreamTests.hex(message), timeout: .seconds(10))
            #expect(line.hasPrefix("\(round - 1)\t"), "\(line)")
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0, "\(recorder.outputLines)")
        #expect(try reader.waitForExit() == 0, "\(reader.outputLines)")
        #expect(Self.fileType(fifo) == S_IFIFO, "the FIFO is still a FIFO")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["live.pcap"], "no manifest or partial file beside it")
    }

    /// A FIFO's reader that leaves stops the recording with one warning
    /// naming the FIFO; the proxy goes on and exits 0.
    @Test func aFIFOReaderThatLeavesStopsTheRecordingNotTheProxy() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("live.pcap")
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try BackgroundProcess("/usr/bin/head", ["-c", "100", fifo])
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let (recorder, listen) = try TapedeckProcess.proxy(
            ["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", fifo, "--quiet"]
        )
        for round in 0..<10 {
            let bytes = Array(String(repeating: "after the reader left \(round) ", count: 2_000).utf8)
            #expect(try await BlockingClient.exchange(listen, send: bytes, halfClose: true) == bytes)
        }
        #expect(try reader.waitForExit() == 0)
        #expect(recorder.process.isRunning)
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0, "\(recorder.outputLines)")
        let lines = recorder.outputLines
        #expect(lines.filter { $0.contains("\(fifo) closed: recording stopped, the proxy goes on") }.count == 1, "\(lines)")
        #expect(Self.fileType(fifo) == S_IFIFO)
    }

    /// Rotation needs files to rotate: refused at once, in one line, and
    /// the FIFO is not opened (no reader is waiting on it).
    @Test func rotationIntoAFIFOIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("live.pcap")
        #expect(mkfifo(fifo, 0o600) == 0)
        for rotation in [["-C", "1MB"], ["-G", "1m"], ["-z", "gzip"]] {
            let result = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "-w", fifo] + rotation)
            #expect(result.status == 2, "\(rotation): \(result.standardError)")
            #expect(result.errorLines == ["tapedeck: -w \(fifo) is a FIFO, which takes one stream: -C, -G and -z need a regular file"], "\(rotation)")
        }
        #expect(Self.fileType(fifo) == S_IFIFO)
    }

    /// `-w /dev/null --overwrite` records into the device: the device stays
    /// (same type, same mode) and nothing is written beside it.
    @Test func recordIntoDevNullLeavesTheDevice() async throws {
        var before = stat()
        #expect(stat("/dev/null", &before) == 0)
        #expect(before.st_mode & S_IFMT == S_IFCHR)
        defer { Self.restoreDevNullIfBroken(before) }
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let (recorder, listen) = try TapedeckProcess.proxy(
            ["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", "/dev/null", "--overwrite", "--quiet"]
        )
        let bytes = Array("into the void".utf8)
        #expect(try await BlockingClient.exchange(listen, send: bytes, halfClose: true) == bytes)
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0, "\(recorder.outputLines)")
        var after = stat()
        #expect(stat("/dev/null", &after) == 0)
        #expect(after.st_mode == before.st_mode, "type and permissions unchanged")
        #expect(after.st_rdev == before.st_rdev)
        #expect(!FileManager.default.fileExists(atPath: "/dev/null.json"))
    }

    /// Should the device ever be replaced, the machine gets it back.
    static func restoreDevNullIfBroken(_ original: stat) {
        var now = stat()
        if stat("/dev/null", &now) == 0, now.st_mode == original.st_mode, now.st_rdev == original.st_rdev { return }
        guard geteuid() == 0 else { return }
        unlink("/dev/null")
        _ = mknod("/dev/null", original.st_mode, original.st_rdev)
        _ = chmod("/dev/null", original.st_mode & 0o7777)
        unlink("/dev/null.json")
    }
}
