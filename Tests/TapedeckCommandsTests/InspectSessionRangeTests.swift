import Foundation
import TapedeckTestSupport
import Testing

@Suite struct InspectSessionRangeTests {
    /// `--session` past the capture's sessions is an error, as in `replay serve`.
    @Test func aSessionTheCaptureDoesNotHoldExitsTwoWithOneLine() throws {
        let fixture = try #require(Fixture.all.first { $0.name == "redis.pcap" })
        let count = try TapedeckBinary.inspectJSON([fixture.path]).count
        let result = try TapedeckBinary.run(["inspect", fixture.path, "--session", String(count + 4)])
        #expect(result.status == 2)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first == "tapedeck: no session \(count + 4) in the capture (tapedeck inspect lists them)")
        #expect(result.standardOutput.isEmpty)
    }
}
