import Foundation
import TapedeckTestSupport
import Testing

/// `tapedeck report` on the sample recordings in Recordings/, each page
/// opened in headless Chromium and read back from its DOM.
@Suite(.serialized, .enabled(if: Browser.isInstalled))
struct SampleRecordingPageTests {
    static let recordings = ["redis.pcap", "redis-tcp.pcap", "redis-unix.pcap", "http.pcap", "http-proxy.pcap"]
    static let colors = ["fin": "#3f9a5a", "rst": "#d7263d", "gap": "#e8a317", "open": "#2f6fd0", "mid": "#8a5cc2"]

    static func path(_ name: String) -> String {
        Browser.packageRoot.appendingPathComponent("Recordings/\(name)").path
    }

    /// Every session `inspect` counts is one bar, coloured by how it ended;
    /// a click on the first bar with client bytes shows that session, and
    /// its first request's bytes are the first bytes its client sent.
    @Test(arguments: recordings)
    func barsAreInspectsSessionsAndAClickShowsTheFirstRequest(name: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = Self.path(name)
        let page = directory.file("page.html")
        try Tapedeck.report([recording], to: page)
        let sessions = try Tapedeck.inspect([recording])
        let target = try #require(sessions.first { $0.clientBytes > 0 })

        let shown = try Browser.open(page, click: target.index, screenshot: "sample-\(name)")
        #expect(shown.bars == sessions.count)
        #expect(shown.barElements == sessions.count)
        #expect(shown.mode == "svg")
        #expect(shown.externalResources.isEmpty, "the page loads nothing: \(shown.externalResources)")
        #expect(shown.title == name)
        #expect(shown.facts["sessions"]?.hasPrefix("\(sessions.count)") == true, "\(shown.facts)")
        #expect(Set(shown.barList.map(\.session)) == Set(sessions.map(\.index)))
        for bar in shown.barList {
            #expect(bar.fill == Self.colors[bar.end], "session \(bar.session): \(bar.end) drawn \(bar.fill)")
            let inspected = try #require(sessions.first { $0.index == bar.session })
            #expect((bar.end == "rst") == (inspected.end == "rst"), "session \(bar.session)")
            #expect((bar.end == "open") == (inspected.end == "open"), "session \(bar.session)")
        }
        #expect(shown.exchangeRows > 0)
        #expect(shown.latencyStats.contains("p50") && shown.latencyStats.contains("p99"), "\(shown.latencyStats)")

        let clicked = try #require(shown.clicked)
        #expect(!clicked.hidden)
        #expect(clicked.session == target.index)
        #expect(clicked.title == "Session #\(target.index)")
        let client = try Tapedeck.dump([recording], session: target.index, side: "client")
        let firstRequest = PageReading.bytes(ofHexDump: try #require(clicked.firstRequestHex))
        #expect(!firstRequest.isEmpty)
        #expect(client.starts(with: firstRequest), "the first request shown is the first bytes the client sent")
        let text = try #require(clicked.firstRequestText)
        let expectedWord = name.hasPrefix("http") ? "HTTP/1.1" : "*"
        #expect(text.contains(expectedWord), "\(text)")
    }
}
