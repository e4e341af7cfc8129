import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// Files that are not captures: one clear line naming the file and exit
/// status 2, never a crash. Captures cut short part-way through a record
/// (a crash, a kill) are read up to the cut, with one warning, exit 0.
@Suite struct BadInputTests {
    /// A bad file, made in a temporary directory.
    struct BadFile: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var make: @Sendable (_ path: String) throws -> Void

        static let missing = BadFile(testDescription: "missing") { _ in }
        static let empty = BadFile(testDescription: "zero-length") { path in
            try Data().write(to: URL(fileURLWithPath: path))
        }
        static let garbage = BadFile(testDescription: "garbage") { path in
            let text = String(repeating: "this is not a capture file\n", count: 100)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }

        /// `capture` cut short: `keep` of its bytes, or all but `dropping`.
        static func truncated(_ capture: String, keep: Int? = nil, dropping: Int? = nil) -> BadFile {
            let description = keep.map { "\(capture) cut to \($0) bytes" } ?? "\(capture) without its last \(dropping ?? 0) bytes"
            return BadFile(testDescription: description) { path in
                let whole = try Data(contentsOf: URL(fileURLWithPath: Fixture.capture(capture).path))
                try whole.prefix(keep ?? whole.count - (dropping ?? 0)).write(to: URL(fileURLWithPath: path))
            }
        }
    }

    static let badFiles: [BadFile] = [.missing, .empty, .garbage, .truncated("http4.pcapng", keep: 30)]
        + ["redis.pcap", "http4.pcapng", "http6-any.pcap"].map { .truncated($0, keep: 10) }  // inside the file header

    static let cutFiles: [BadFile] = [.truncated("redis.pcap", keep: 30), .truncated("http6-any.pcap", keep: 30)]  // inside the first record's header
        + ["redis.pcap", "http4.pcapng", "http6-any.pcap"].flatMap { capture in
            [
                .truncated(capture, keep: 4_000),     // inside a packet, sessions read before it
                .truncated(capture, dropping: 1),     // the last packet one byte short
            ]
        }

    @Test(arguments: badFiles)
    func inspectFailsWithOneLineNamingTheFile(_ bad: BadFile) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.pcap")
        try bad.make(path)

        for format in ["table", "json"] {
            let result = try TapedeckBinary.run(["inspect", path, "--format", format])

            #expect(!result.crashed, "\(format): status \(result.status), \(result.standardError)")
            #expect(result.status == 2, "\(format)")
            #expect(result.errorLines.count == 1, "\(format): \(result.standardError)")
            #expect(result.errorLines.first?.hasPrefix("tapedeck: \(path): ") == true, "\(format): \(result.standardError)")
        }
    }

    @Test(arguments: badFiles)
    func convertFailsNamingTheFile(_ bad: BadFile) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.pcap")
        try bad.make(path)
        let output = directory.file("out.pcap")

        let result = try TapedeckBinary.run(["convert", path, "-w", output])

        #expect(!result.crashed, "status \(result.status), \(result.standardError)")
        #expect(result.status == 2)
        #expect(result.errorLines.last?.hasPrefix("tapedeck: \(path): ") == true, "\(result.standardError)")
        if FileManager.default.fileExists(atPath: output) {
            // Sessions read before the damage are kept, and said so.
            #expect(result.errorLines.count == 2, "\(result.standardError)")
            #expect(result.errorLines.first?.hasPrefix("tapedeck: wrote the ") == true)
            #expect(try TShark.problems(output) == [])
        } else {
            #expect(result.errorLines.count == 1, "\(result.standardError)")
        }
    }

    @Test(arguments: cutFiles)
    func inspectReadsACutFileToTheCutWithOneWarning(_ cut: BadFile) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cut.pcap")
        try cut.make(path)

        for format in ["table", "json"] {
            let result = try TapedeckBinary.run(["inspect", path, "--format", format])

            #expect(result.status == 0, "\(format): \(result.standardError)")
            #expect(result.errorLines.count == 1, "\(format): \(result.standardError)")
            #expect(result.errorLines.first?.hasPrefix("tapedeck: warning: \(path): cut short part-way through a record") == true, "\(result.standardError)")
            #expect(result.standardError.contains("tapedeck convert \(path) -w"), "without a manifest, how to get one")
        }
    }

    @Test(arguments: cutFiles)
    func convertWritesWhatCameBeforeTheCut(_ cut: BadFile) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cut.pcap")
        try cut.make(path)
        let output = directory.file("out.pcap")

        let result = try TapedeckBinary.run(["convert", path, "-w", output])

        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix("tapedeck: warning: \(path): cut short") == true, "\(result.standardError)")
        #expect(result.errorLines.last?.hasPrefix("tapedeck: wrote ") == true, "\(result.standardError)")
        let inspected = try TapedeckBinary.inspectJSON([path, "--digest", "xxh3"])
        #expect(try TShark.problems(output) == [])
        let manifest = try #require(try Manifest.load(forRecording: output))
        #expect(manifest.sessions.map(\.clientToServer.bytes) == inspected.map(\.clientToServer.bytes))
        #expect(manifest.sessions.map(\.serverToClient.xxh3) == inspected.map(\.serverToClient.xxh3))
        #expect(inspected.allSatisfy { $0.serverToClient.xxh3?.count == 16 })
    }

    /// A file header and nothing else is a capture with no packets, not damage.
    @Test func headerOnlyCaptureHasNoSessions() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("header.pcap")
        try BadFile.truncated("redis.pcap", keep: 24).make(path)

        let result = try TapedeckBinary.run(["inspect", path, "--format", "json"])

        #expect(result.status == 0)
        #expect(result.standardError == "")
        #expect(try JSONDecoder().decode([InspectedSession].self, from: result.standardOutput) == [])
    }
}
