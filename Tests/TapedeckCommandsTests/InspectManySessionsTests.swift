import Foundation
import TapedeckTestSupport
import Testing

/// `inspect` of a capture with more sessions than it keeps in memory: the
/// listing goes through an unlinked temporary file and still comes out
/// whole, in index order, the same as a listing kept in memory.
@Suite struct InspectManySessionsTests {
    /// 12,000 sessions make about 7 MB of JSON listing, past the 1 MB kept in memory;
    /// every 500th stays open to the end, so most rows wait behind it and go out as sorted runs.
    static let sessions = 12_000

    @Test func aListingPastMemoryComesBackWholeAndInOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let capture = directory.file("many.pcap")
        let generator = Fixture.packageRoot.appendingPathComponent("scripts/bench.d/many_sessions.py").path
        let made = try ChildProcess.run("/usr/bin/python3", [generator, capture, "--sessions", String(Self.sessions)], timeoutSeconds: 120)
        try #require(made.status == 0, "\(made.standardError)")
        let temporary = directory.file("tmp")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        let tapedeck = try TapedeckBinary.located.get()

        let spilled = try ChildProcess.run("/usr/bin/env", ["TMPDIR=\(temporary)", tapedeck, "inspect", "--format", "json", capture], timeoutSeconds: 300)
        #expect(spilled.status == 0, "\(spilled.standardError)")
        let listed = try JSONDecoder().decode([InspectedSession].self, from: spilled.standardOutput)
        #expect(listed.count == Self.sessions)
        #expect(listed.map(\.index) == Array(0..<Self.sessions))
        // Every 100th session of the capture ends in an RST.
        #expect(listed.filter { $0.end == "rst" }.count == Self.sessions / 100)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "the temporary file is unlinked at once")

        // With no temporary folder to write to, the listing stays in memory: the same bytes.
        let inMemory = try ChildProcess.run("/usr/bin/env", ["TMPDIR=\(directory.file("missing"))", tapedeck, "inspect", "--format", "json", capture], timeoutSeconds: 300)
        #expect(inMemory.status == 0, "\(inMemory.standardError)")
        #expect(inMemory.standardOutput == spilled.standardOutput)

        // The table: a row per session in order, aligned, and the totals line.
        let table = try ChildProcess.run("/usr/bin/env", ["TMPDIR=\(temporary)", tapedeck, "inspect", capture], timeoutSeconds: 300)
        #expect(table.status == 0, "\(table.standardError)")
        let lines = String(decoding: table.standardOutput, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == Self.sessions + 2)
        let rows = lines.dropFirst().dropLast()
        #expect(rows.map { Int($0.split(separator: " ").first ?? "") } == Array(0..<Self.sessions).map(Optional.some))
        #expect(Set(rows.map { $0.firstRange(of: "127.0.0.1:")?.lowerBound.utf16Offset(in: $0) }).count == 1, "the client column starts at one place on every row")
        #expect(lines.last?.hasPrefix("\(Self.sessions) sessions, ") == true)
    }
}
