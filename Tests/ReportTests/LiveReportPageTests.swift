import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tapedeck server` serves a live proxy's report at `/proxies/{name}/report`:
/// the sessions its recording holds so far, the open ones it does not, in a
/// page that refreshes itself. Opened in headless Chromium.
@Suite(.serialized, .enabled(if: Browser.isInstalled && RedisServer.isInstalled))
struct LiveReportPageTests {
    @Test func serverShowsAProxysSessionsSoFarAndRefreshes() throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let redis = try RedisServer(directory: directory.path)
        defer { redis.stop() }
        let server = try BackgroundProcess(tapedeck, ["server", "--api", "127.0.0.1:0", "--recordings-dir", directory.path])
        defer { if server.process.isRunning { server.signal(SIGKILL) } }
        let line = try server.waitForLine(containing: "api listening")
        let port = try #require(line.range(of: #"api\.address=127\.0\.0\.1:\d+"#, options: .regularExpression).map { line[$0].split(separator: ":").last.map(String.init) ?? "" })
        let host = ["--host", "http://127.0.0.1:\(port)"]
        func ctl(_ arguments: [String]) throws -> [String: Any] {
            let result = try ChildProcess.run(tapedeck, ["ctl"] + arguments, timeoutSeconds: 30)
            #expect(result.status == 0, "ctl \(arguments): \(result.standardError)")
            return (try? JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any]) ?? [:]
        }
        let created = try ctl(["create"] + host + ["--upstream", "127.0.0.1:\(redis.port)", "cache"])
        let listen = try Endpoint(parsing: try #require(created["listen"] as? String))
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8), pong = Array("+PONG\r\n".utf8)

        // Open before the recording starts: shown as open, without bytes.
        let before = try BlockingSocket(connectingTo: listen)
        try before.send(ping)
        #expect(try before.read(exactly: pong.count) == pong)
        _ = try ctl(["record", "start"] + host + ["--path", "live.pcap", "cache"])
        #expect(try RedisServer.cli(["-p", "\(listen.port ?? 0)", "SET", "live", "page"]) == "OK")
        let during = try BlockingSocket(connectingTo: listen)
        try during.send(ping)
        #expect(try during.read(exactly: pong.count) == pong)
        usleep(300_000)  // the recorder flushes every 100 ms

        let url = "http://127.0.0.1:\(port)/proxies/cache/report"
        let shown = try Browser.open(url, click: 0, screenshot: "live-proxy", waitForRefresh: true)
        #expect(shown.bars == 3)
        #expect(shown.barList.map(\.end).sorted() == ["fin", "open", "open"], "\(shown.barList)")
        #expect(shown.title.hasPrefix("proxy cache: "))
        let clicked = try #require(shown.clicked)
        #expect(clicked.firstRequestText?.contains("SET") == true, "\(clicked.text)")
        let refreshed = try #require(shown.afterRefresh)
        #expect(refreshed.bars == 3)

        // Not found is the API's 404, a browser or not.
        let missing = try ChildProcess.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "Mozilla/5.0", "http://127.0.0.1:\(port)/proxies/nope/report"], timeoutSeconds: 20)
        #expect(String(decoding: missing.standardOutput, as: UTF8.self) == "404")
        // A browser may read the page, but nothing else of the API.
        let other = try ChildProcess.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "Mozilla/5.0", "http://127.0.0.1:\(port)/proxies/cache/sessions"], timeoutSeconds: 20)
        #expect(String(decoding: other.standardOutput, as: UTF8.self) == "403")
        before.reset()
        during.reset()
        server.signal(SIGTERM)
        #expect(try server.waitForExit() == 0)
    }
}
