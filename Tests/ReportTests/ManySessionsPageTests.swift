import Foundation
import TapedeckTestSupport
import Testing

/// More sessions than SVG should hold: the timeline is drawn on a canvas,
/// and still shows every session `inspect` counts, coloured by how it
/// ended, each one found by a click. (scripts/bench-report measures the
/// same at 100,000 sessions.)
@Suite(.serialized, .enabled(if: Browser.isInstalled))
struct ManySessionsPageTests {
    @Test func fiveThousandSessionsOnACanvas() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let capture = directory.file("many.pcap")
        let generator = Browser.packageRoot.appendingPathComponent("scripts/bench.d/many_sessions.py").path
        let made = try ChildProcess.run("/usr/bin/python3", [generator, capture, "--sessions", "5000"], timeoutSeconds: 120)
        #expect(made.status == 0, "\(made.standardError)")
        let page = directory.file("many.html")
        try Tapedeck.report([capture], to: page)
        let sessions = try Tapedeck.inspect([capture])
        #expect(sessions.count == 5000)
        // The longest session whose bytes the page carries (the first ones, within its budget).
        let target = try #require(sessions.prefix(1000).filter { $0.end == "fin" }.max { a, b in
            a.duration < b.duration
        })

        let shown = try Browser.open(page, click: target.index, screenshot: "many-sessions")
        #expect(shown.mode == "canvas")
        #expect(shown.bars == sessions.count)
        #expect(shown.barElements == 0)
        #expect(shown.facts["sessions"] == "5000 (4920 FIN, 50 RST, 20 gap, 10 still open)", "\(shown.facts)")
        #expect(sessions.filter { $0.end == "rst" }.count == 50)
        #expect(shown.exchangeRows == 500, "the table shows the first 500 of the order chosen")
        let clicked = try #require(shown.clicked)
        #expect(clicked.session == target.index)
        let client = try Tapedeck.dump([capture], session: target.index, side: "client")
        let shownBytes = PageReading.bytes(ofHexDump: try #require(clicked.firstRequestHex))
        #expect(!shownBytes.isEmpty && client.starts(with: shownBytes))
        #expect(clicked.firstRequestText?.contains("PING") == true)
    }
}
