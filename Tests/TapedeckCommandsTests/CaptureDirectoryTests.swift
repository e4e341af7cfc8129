import Foundation
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A directory named where captures are read stands for the captures in
/// it, by name: what `record --per-session DIR` wrote is inspected,
/// verified, converted and replayed as `DIR`, as `DIR/*.pcap` would be.
@Suite(.serialized) struct CaptureDirectoryTests {
    /// Three sessions recorded one file each; the directory and its files.
    static func recordPerSession(in directory: TemporaryDirectory) async throws -> (folder: String, files: [String], messages: [String]) {
        let folder = directory.file("sessions")
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "--per-session", folder, "--quiet"])
        var messages: [String] = []
        for round in 0..<3 {
            let message = "session \(round) " + String(repeating: "\(round)", count: 100 * (round + 1))
            #expect(try await BlockingClient.exchange(listen, send: Array(message.utf8), halfClose: true) == Array(message.utf8))
            messages.append(message)
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".pcap") }.sorted().map { folder + "/" + $0 }
        #expect(files.count == 3)
        return (folder, files, messages)
    }

    @Test func inspectVerifyConvertAndServeADirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (folder, files, messages) = try await Self.recordPerSession(in: directory)

        let listed = try TapedeckBinary.inspectJSON([folder])
        #expect(listed == (try TapedeckBinary.inspectJSON(files)))
        #expect(listed.map(\.clientToServer.bytes) == messages.map(\.utf8.count))
        #expect(try TapedeckBinary.inspectJSON([folder + "/"]) == listed)

        let verified = try TapedeckBinary.run(["inspect", "--verify", folder])
        #expect(verified.status == 0, "\(verified.standardError)")
        #expect(String(decoding: verified.standardOutput, as: UTF8.self).split(separator: "\n").count == 3)

        // Written inside the directory it reads, the next read would take it in too.
        let inside = try TapedeckBinary.run(["convert", folder, "-w", folder + "/all.pcap"])
        #expect(inside.status != 0)
        #expect(inside.standardError.contains("is inside \(folder), which is read as input"), "\(inside.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/all.pcap"))
        let converted = directory.file("all.pcap")
        #expect(try TapedeckBinary.run(["convert", folder, "-w", converted]).status == 0)
        #expect(try TapedeckBinary.inspectJSON([converted]).map(\.clientToServer.bytes) == messages.map(\.utf8.count))

        // replay serve answers session 1 as recorded.
        let (server, endpoint) = try TapedeckProcess.proxy(["replay", "serve", folder, "--listen", "127.0.0.1:0", "--session", "1", "--speed", "0"])
        let answer = try await BlockingClient.exchange(endpoint, send: Array(messages[1].utf8), halfClose: true, timeout: .seconds(10))
        #expect(answer == Array(messages[1].utf8))
        server.signal(SIGINT)
        #expect(try server.waitForExit() == 0)
    }

    /// Two runs of one scenario, each recorded per session, compared as two directories.
    @Test func noiseComparesTwoDirectories() async throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer { first.remove(); second.remove() }
        let a = try await Self.recordPerSession(in: first)
        let b = try await Self.recordPerSession(in: second)
        let result = try TapedeckBinary.run(["noise", a.folder, b.folder, "-o", first.file("masks.json")])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(summary.contains("A \(a.folder) (3 sessions), B \(b.folder) (3 sessions); 3 exchanges paired"), "\(summary)")
    }

    @Test func aDirectoryWithNoCaptureIsOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data("not a capture".utf8).write(to: URL(fileURLWithPath: directory.file("notes.txt")))
        for command in [["inspect"], ["replay", "serve", "--listen", "127.0.0.1:0"]] {
            let result = try TapedeckBinary.run(command + [directory.path])
            #expect(result.status == 2, "\(command): \(result.standardError)")
            #expect(result.errorLines == ["tapedeck: \(directory.path) is a directory with no capture in it (*.pcap, *.pcapng, *.cap, or compressed with gzip or zstd)"], "\(command)")
        }
    }
}
