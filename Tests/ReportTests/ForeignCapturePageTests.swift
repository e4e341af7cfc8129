import Foundation
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A capture Tapedeck did not make: tcpdump on loopback while a real
/// redis-cli talks to a real redis-server, and a client that resets its
/// connection; the page opened in headless Chromium.
@Suite(.serialized, .enabled(if: Browser.isInstalled && RedisServer.isInstalled))
struct ForeignCapturePageTests {
    /// A client that sends PING, reads the answer and closes with SO_LINGER 0: an RST.
    static let resettingClient = """
        import socket, struct, sys
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        s.sendall(b"*1\\r\\n$4\\r\\nPING\\r\\n")
        answer = b""
        while not answer.endswith(b"\\r\\n"): answer += s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        """

    /// Captures redis-cli's SET and GET, and a reset session, with tcpdump.
    static func capture(in directory: TemporaryDirectory, redis: RedisServer) throws -> String {
        let path = directory.file("redis-cli.pcap")
        // The test runner's blocked or ignored signals would be tcpdump's too: reset them first.
        let unblocked = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM]); "
            + "signal.signal(signal.SIGINT, signal.SIG_DFL); signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
        let tcpdump = try BackgroundProcess("/usr/bin/python3", ["-c", unblocked, "/usr/bin/tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", path, "tcp port \(redis.port)"])
        _ = try tcpdump.waitForLine(containing: "listening on")
        #expect(try redis.cli(["SET", "greeting", "hello from the report"]) == "OK")
        #expect(try redis.cli(["GET", "greeting"]) == "hello from the report")
        let reset = try ChildProcess.run("/usr/bin/python3", ["-c", resettingClient, "\(redis.port)"], timeoutSeconds: 20)
        #expect(reset.status == 0, "\(reset.standardError)")
        #expect(try redis.cli(["LPUSH", "list", "a", "b", "c"]) == "3")
        usleep(500_000)
        tcpdump.signal(SIGINT)
        #expect(try tcpdump.waitForExit() == 0)
        #expect(tcpdump.outputLines.contains { $0.hasSuffix("packets captured") && !$0.hasPrefix("0 ") }, "\(tcpdump.outputLines)")
        return path
    }

    @Test func redisCliCaptureWithAResetSession() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let capture = try Self.capture(in: directory, redis: redis)
        let page = directory.file("page.html")
        try Tapedeck.report([capture], to: page, ["--title", "redis-cli under tcpdump"])

        let sessions = try Tapedeck.inspect([capture])
        #expect(sessions.count == 4)
        let reset = try #require(sessions.first { $0.end == "rst" }, "inspect sees the reset session")
        let shown = try Browser.open(page, click: 0, screenshot: "foreign-redis-cli")
        #expect(shown.bars == sessions.count)
        #expect(shown.barElements == sessions.count)
        #expect(shown.title == "redis-cli under tcpdump")
        let resetBar = try #require(shown.barList.first { $0.session == reset.index })
        #expect(resetBar.end == "rst")
        #expect(resetBar.fill == SampleRecordingPageTests.colors["rst"])
        let legendRST = try #require(shown.legend.first { $0.label == "RST" })
        #expect(resetBar.color == legendRST.color, "the bar is drawn in the legend's RST colour")
        #expect(shown.barList.filter { $0.end == "rst" }.count == 1)
        #expect(shown.barList.filter { $0.end == "fin" }.count == 3)
        #expect(shown.facts["protocols"]?.contains("redis 4") == true, "\(shown.facts)")
        #expect(shown.exchangesTitle == "Exchanges")
        #expect(shown.exchangeRows == 4, "SET, GET, PING and LPUSH")

        let clicked = try #require(shown.clicked)
        #expect(clicked.session == 0)
        let text = try #require(clicked.firstRequestText)
        #expect(text.contains("SET") && text.contains("greeting") && text.contains("hello from the report"), "\(text)")
        #expect(clicked.firstAnswerText?.contains("+OK") == true, "\(clicked.firstAnswerText ?? "nil")")
    }

    /// `replay drive` against the same server, its report compared on the page.
    @Test func replayDriveReportIsCompared() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let capture = try Self.capture(in: directory, redis: redis)
        // The list grew: LPUSH now answers 6, not 3.
        let report = directory.file("drive.json")
        let drive = try Tapedeck.run(["replay", "drive", capture, "--target", "127.0.0.1:\(redis.port)", "--report", report, "--quiet"])
        #expect(FileManager.default.fileExists(atPath: report), "\(drive.standardError)")
        let page = directory.file("compare.html")
        try Tapedeck.report([capture], to: page, ["--replay", report])
        let shown = try Browser.open(page, screenshot: "replay-drive")
        #expect(!shown.replayHidden)
        #expect(shown.replayText.contains("replay drive report"), "\(shown.replayText)")
        #expect(shown.replayText.contains("LPUSH"), "the differing exchange is listed: \(shown.replayText)")
        #expect(shown.replayText.contains("Send-time error"), "\(shown.replayText)")
    }

    /// `replay serve --match request` answering redis-cli from a sample
    /// recording: what matched, what did not, what was never used.
    @Test func replayServeReportIsCompared() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = SampleRecordingPageTests.path("redis-tcp.pcap")
        let report = directory.file("serve.json")
        let tapedeck = try TapedeckExecutable.located.get()
        let serve = try BackgroundProcess(tapedeck, ["replay", "serve", recording, "--listen", "127.0.0.1:0", "--match", "request", "--report", report])
        let line = try serve.waitForLine(containing: "listener.address=")
        let port = try #require(line.split(separator: " ").first { $0.hasPrefix("listener.address=") }?.split(separator: ":").last.map(String.init))
        #expect(try RedisServer.cli(["-p", port, "GET", "greeting"]) == "recorded by tapedeck")
        _ = try RedisServer.cli(["-p", port, "GET", "nothing"])
        serve.signal(SIGINT)
        _ = try serve.waitForExit()
        let page = directory.file("compare.html")
        try Tapedeck.report([recording], to: page, ["--replay", report])
        // Both carry the recording's requests, so both are as private as it is.
        #expect(try Self.permissions(report) == 0o600)
        #expect(try Self.permissions(page) == 0o600)
        let shown = try Browser.open(page, screenshot: "replay-serve")
        #expect(!shown.replayHidden)
        #expect(shown.replayText.contains("replay serve report"), "\(shown.replayText)")
        #expect(shown.replayText.contains("Unmatched requests (1)") && shown.replayText.contains("GET nothing"), "\(shown.replayText)")
        #expect(shown.replayText.contains("Recorded exchanges never used (3)"), "\(shown.replayText)")
    }

    @Test func aFileThatIsNotAReplayReportIsOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bogus = directory.file("bogus.json")
        try Data("{\"hello\": 1}".utf8).write(to: URL(fileURLWithPath: bogus))
        let result = try Tapedeck.run(["report", SampleRecordingPageTests.path("redis.pcap"), "-o", directory.file("x.html"), "--replay", bogus])
        #expect(result.status == 2)
        #expect(result.errorLines == ["tapedeck: \(bogus) is not a report of replay serve or drive (written by --report FILE.json)"])
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.html")))
    }

    private static func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }
}
