import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A recording `tapedeck record` made with a fault: the faults its manifest
/// lists are marked on their sessions' bars.
@Suite(.serialized, .enabled(if: Browser.isInstalled && RedisServer.isInstalled))
struct FaultRecordingPageTests {
    @Test func faultsFromTheManifestAreMarkedOnTheirBars() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let recording = directory.file("faults.pcap")
        // Half the sessions (seeded) are reset 200 ms in; the others answer PING and close.
        let (recorder, listen) = try TapedeckProcess.proxy([
            "record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(redis.port)", "-w", recording,
            "--reset-after", "200ms", "--toxicity", "0.5", "--seed", "3", "--quiet",
        ])
        var answered = 0
        for _ in 0..<6 {
            let socket = try BlockingSocket(connectingTo: listen)
            try socket.send(Array("*1\r\n$4\r\nPING\r\n".utf8))
            if (try? socket.read(exactly: 7)) == Array("+PONG\r\n".utf8) {
                answered += 1
                socket.shutdownWrite()
            }
            _ = try? socket.readToEnd()
        }
        recorder.stop()

        let sessions = try Tapedeck.inspect([recording])
        #expect(sessions.count == 6)
        let faulted = sessions.filter { $0.faults > 0 }
        #expect(faulted.count == 6 - answered)
        #expect(!faulted.isEmpty && answered > 0, "seed 3 resets some sessions and spares others")
        let page = directory.file("page.html")
        try Tapedeck.report([recording], to: page)
        let shown = try Browser.open(page, screenshot: "faults")
        #expect(shown.bars == 6)
        #expect(shown.faultMarks == faulted.count)
        for session in faulted {
            #expect(shown.barList.first { $0.session == session.index }?.end == "rst")
        }
        #expect(shown.facts["faults"]?.contains("reset") == true, "\(shown.facts)")
    }
}
