import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck inspect --verify` and `--digest`: a recording checked against
/// its manifest, and the checksums inspect's JSON carries.
@Suite struct InspectVerifyTests {
    /// A fresh recording (with an XXH3 manifest) of the redis capture's sessions.
    private static func freshRecording(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("fresh.pcap")
        let result = try TapedeckBinary.run(["convert", Fixture.capture("redis.pcap").path, "-w", path])
        try #require(result.status == 0, "\(result.standardError)")
        return path
    }

    @Test(arguments: Fixture.recordings)
    func recordingsWrittenBeforeXXH3VerifyBySHA256(_ fixture: Fixture) throws {
        let manifest = try #require(try Manifest.load(forRecording: fixture.path))
        try #require(manifest.sessions.allSatisfy { $0.clientToServer.sha256 != nil && $0.clientToServer.xxh3 == nil }, "a manifest from before XXH3")
        let result = try TapedeckBinary.run(["inspect", "--verify", fixture.path])
        #expect(result.status == 0, "\(result.standardError)")
        let sessions = "\(manifest.sessions.count) session\(manifest.sessions.count == 1 ? "" : "s")"
        #expect(String(decoding: result.standardOutput, as: UTF8.self) == "\(fixture.path): \(sessions), bytes and checksums as recorded\n")
    }

    @Test func aFreshRecordingVerifiesAndAFlippedByteIsFoundInItsSession() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.freshRecording(in: directory)
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.sessions.allSatisfy { $0.clientToServer.xxh3?.count == 16 && $0.clientToServer.sha256 == nil })
        #expect(try TapedeckBinary.run(["inspect", "--verify", path]).status == 0)

        // Flip one byte of what session 2's client sent, where it lies in the file.
        let sent = Array(try TapedeckBinary.run(["inspect", path, "--session", "2", "--dump", "client"]).standardOutput)
        try #require(sent.count >= 24)
        var file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // "*3\r\n$3\r\nSET\r\n$3\r\nbig…": long enough that no other session sent it.
        let at = try #require(Self.firstIndex(of: Array(sent.prefix(24)), in: file))
        file[at + 3] ^= 0x20
        try Data(file).write(to: URL(fileURLWithPath: path))

        let result = try TapedeckBinary.run(["inspect", "--verify", path])
        #expect(result.status == 1)
        let lines = String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("\(path): session 2 client→server: XXH3 ") == true, "\(lines)")
    }

    @Test func aCutFileAndAMissingManifestFail() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.freshRecording(in: directory)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        let cut = try TapedeckBinary.run(["inspect", "--verify", path])
        #expect(cut.status == 1)
        #expect(String(decoding: cut.standardOutput, as: UTF8.self).contains("not in the file"), "\(cut.standardOutput)")

        try FileManager.default.removeItem(atPath: Manifest.path(forRecording: path))
        let bare = try TapedeckBinary.run(["inspect", "--verify", path])
        #expect(bare.status == 1)
        #expect(String(decoding: bare.standardOutput, as: UTF8.self).contains("no manifest"))
    }

    @Test func digestChoosesTheJSONChecksum() throws {
        let path = Fixture.capture("redis.pcap").path
        let xxh3 = try TapedeckBinary.inspectJSON([path, "--digest", "xxh3"])
        let none = try TapedeckBinary.inspectJSON([path, "--digest", "none"])
        let sha256 = try TapedeckBinary.inspectJSON([path])
        try #require(!xxh3.isEmpty)
        for session in xxh3 {
            let sent = Array(try TapedeckBinary.run(["inspect", path, "--session", String(session.index), "--dump", "client"]).standardOutput)
            #expect(session.clientToServer.xxh3 == (try xxhsumH3(sent)), "session \(session.index): Debian's xxhsum -H3 agrees")
            #expect(session.clientToServer.sha256 == nil)
        }
        #expect(none.allSatisfy { $0.clientToServer.xxh3 == nil && $0.clientToServer.sha256 == nil })
        #expect(sha256.allSatisfy { $0.clientToServer.sha256?.count == 64 && $0.clientToServer.xxh3 == nil })

        let refused = try TapedeckBinary.run(["inspect", path, "--digest", "xxh3"])
        #expect(refused.status == 64 || refused.status == 2)
        #expect(refused.errorLines.contains { $0.contains("--digest xxh3 goes with --format json") }, "\(refused.standardError)")
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { start in haystack[start..<(start + needle.count)].elementsEqual(needle) }
    }
}
