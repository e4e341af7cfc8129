import Foundation
import TapedeckTestSupport
import Testing

/// `tapedeck convert`: raw captures in, clean recordings out, the bytes kept.
@Suite struct ConvertCommandTests {
    /// The check below must be able to fail: tcpdump's loopback captures
    /// carry offloaded (unfilled) checksums, which tshark flags.
    @Test func tsharkFlagsTheRawCaptures() throws {
        #expect(try !TShark.problems(Fixture.capture("redis.pcap").path).isEmpty)
    }

    @Test(arguments: Fixture.captures)
    func convertedCaptureIsCleanAndKeepsEveryByte(_ fixture: Fixture) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = directory.file("converted.pcap")

        let result = try TapedeckBinary.run(["convert", fixture.path, "-w", output])

        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.errorLines.last?.hasPrefix("tapedeck: wrote ") == true, "\(result.standardError)")

        let original = try TapedeckBinary.inspectJSON([fixture.path])
        let converted = try TapedeckBinary.inspectJSON([output])
        let problems = try TShark.problems(output)
        let gapped = original.filter { $0.clientToServer.gapBytes + $0.serverToClient.gapBytes > 0 }
        if gapped.isEmpty {
            // Every session is written again with its own handshake, the mid-flow
            // one too, so tshark finds nothing to flag.
            #expect(problems == [])
        } else {
            // Bytes the capture lost (a short snapshot length) stay visible where
            // they were, the command warns of each, and nothing else is flagged.
            #expect(problems.contains { $0.contains("Previous segment(s) not captured") })
            let gapMarks = ["Previous segment(s) not captured", "ACKed segment that wasn't captured"]
            #expect(problems.allSatisfy { line in gapMarks.contains { line.contains($0) } }, "\(problems)")
            for session in gapped {
                let lost = session.clientToServer.gapBytes + session.serverToClient.gapBytes
                #expect(result.errorLines.contains("tapedeck: warning: session \(session.index) lost \(lost) bytes in the capture; they are marked as a gap"))
            }
        }
        try #require(converted.count == original.count)
        for (before, after) in zip(original, converted) {
            #expect(after.client == before.client)
            #expect(after.server == before.server)
            #expect(after.clientToServer.sha256 == before.clientToServer.sha256, "session \(before.index)")
            #expect(after.serverToClient.sha256 == before.serverToClient.sha256, "session \(before.index)")
            #expect(after.clientToServer.gapBytes == before.clientToServer.gapBytes, "session \(before.index)")
            #expect(after.serverToClient.gapBytes == before.serverToClient.gapBytes, "session \(before.index)")
            #expect(after.end == before.end)
        }

        let manifestPath = output + ".json"
        let attributes = try FileManager.default.attributesOfItem(atPath: manifestPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let manifest = try JSONDecoder().decode(RecordingManifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        // The manifest carries XXH3: the same checksums inspect gives the original with --digest xxh3.
        let originalXXH3 = try TapedeckBinary.inspectJSON([fixture.path, "--digest", "xxh3"])
        #expect(manifest.sessions.map(\.clientToServer) == originalXXH3.map(\.clientToServer))
        #expect(manifest.sessions.map(\.serverToClient) == originalXXH3.map(\.serverToClient))
        #expect(manifest.sessions.map(\.startedMidFlow) == original.map(\.startedMidFlow))
    }

    @Test func convertedBytesMatchTsharkFollowOfTheOriginal() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = Fixture.capture("http6-any.pcap").path
        let output = directory.file("http6.pcap")
        #expect(try TapedeckBinary.run(["convert", source, "-w", output]).status == 0)

        let before = try TShark.followEveryStream(source)
        let after = try TShark.followEveryStream(output)

        #expect(after.map(\.sent) == before.map(\.sent))
    }

    @Test func outputThatIsAlsoAnInputIsRefused() throws {
        let path = Fixture.capture("redis.pcap").path

        let result = try TapedeckBinary.run(["convert", path, "-w", path])

        #expect(result.status != 0)
        #expect(!result.crashed)
        #expect(result.standardError.contains("also an input"))
    }
}
