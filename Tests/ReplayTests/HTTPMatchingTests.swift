import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--match request` against real HTTP: Python's http.client recorded
/// fetching several paths from `python3 -m http.server` over one keep-alive
/// connection, then served to clients asking in another order, over other
/// connections, with a header that changes every run.
@Suite(.serialized)
struct HTTPMatchingTests {
    static let paths = ["/a.txt", "/b.txt", "/c.txt"]

    /// http.client: GETs each path (one connection for all, or one each),
    /// with an X-Request-Id that differs every run; prints "path status body" per line.
    static let client = """
        import http.client, sys, uuid
        port, paths, mode = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
        connection = None
        for path in paths:
            if connection is None or mode == "each":
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers={"X-Request-Id": str(uuid.uuid4())})
            response = connection.getresponse()
            body = response.read().decode().strip().replace("\\n", "|")
            print(path, response.status, response.getheader("Date") is not None, body)
        """

    static func fetch(port: UInt16, _ paths: [String], mode: String) throws -> [String] {
        let result = try ChildProcess.run("/usr/bin/env", ["python3", "-c", client, "\(port)", paths.joined(separator: ","), mode], timeoutSeconds: 30)
        guard result.status == 0 else { throw ChildProcess.Failure(description: "the HTTP client failed: \(result.standardError)") }
        return String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Records the client fetching every path over one connection from
    /// `python3 -m http.server --protocol HTTP/1.1`; returns the recording.
    static func record(in directory: TemporaryDirectory) async throws -> String {
        let root = directory.file("site")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for path in paths { try "body of \(path)\n".write(toFile: root + path, atomically: true, encoding: .utf8) }
        let port = try freeLoopbackPort()
        let server = try BackgroundProcess("/usr/bin/env", ["python3", "-m", "http.server", "--protocol", "HTTP/1.1", "--bind", "127.0.0.1", "--directory", root, "\(port)"])
        defer {
            server.signal(SIGKILL)
            _ = try? server.waitForExit()
        }
        try waitUntilAccepting(port)
        let recording = directory.file("http.pcap")
        let proxy = try await FaultProxy.start(upstream: .ip(.loopbackV4, port: port), recordTo: recording)
        let fetched = try fetch(port: try #require(proxy.endpoint.port), paths, mode: "one")
        await proxy.stop()
        #expect(fetched == paths.map { "\($0) 200 True body of \($0)" })
        return recording
    }

    @Test func reverseOrderOverThreeConnectionsGetsEachPathsOwnBody() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)

        let server = try await MockServer.start(recording: recording)
        let port = try #require(server.endpoint.port)
        let reversed = Array(Self.paths.reversed())
        #expect(try Self.fetch(port: port, reversed, mode: "each") == reversed.map { "\($0) 200 True body of \($0)" })
        // Another client, another order, one connection: curl asks for b then a.
        let curl = try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(port)/b.txt", "http://127.0.0.1:\(port)/a.txt"])
        #expect(String(decoding: curl.standardOutput, as: UTF8.self) == "body of /b.txt\nbody of /a.txt\n")

        let report = await server.stop()
        let match = try #require(report.match)
        #expect(match.protocolName == "http")
        #expect(match.unmatchedCount == 0)
        #expect(match.answeredCount == 5)
        #expect(match.answered["key"] == 5, "every request differs in its X-Request-Id, so none matches byte for byte")
        #expect(match.unusedExchangeCount == 0)
        #expect(report.connections == 4)
    }

    @Test func anUnrecordedPathGetsA502NamingTheNearestRecordedRequest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        let server = try await MockServer.start(recording: recording)
        let port = try #require(server.endpoint.port)

        let result = try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/c.txtx?x=1"])
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(output.hasSuffix("\n502"))
        #expect(output.contains("tapedeck: no recorded answer for GET /c.txtx?x=1; nearest recorded: GET /c.txt (path /c.txtx, recorded /c.txt; query differs in x)"))

        let report = await server.stop()
        #expect(report.match?.unmatchedCount == 1)
        #expect(report.match?.unmatched.first?.nearest == "GET /c.txt")
        #expect(report.match?.unusedSessions == [0])
    }

    @Test func recordedDatesAreMovedToNowUnlessRefreshIsOff() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        // Served "later": the recorded Date is moved by the time since the recording.
        try await Task.sleep(for: .seconds(2.2))
        for refresh in [true, false] {
            let server = try await MockServer.start(recording: recording, answering: .requests(RequestMatching(refreshDates: refresh)))
            let port = try #require(server.endpoint.port)
            let before = Int64(Date().timeIntervalSince1970)
            let result = try ChildProcess.run("/usr/bin/curl", ["-sS", "-D", "-", "-o", "/dev/null", "--max-time", "10", "http://127.0.0.1:\(port)/a.txt"])
            let head = String(decoding: result.standardOutput, as: UTF8.self)
            let date = try #require(head.split(separator: "\r\n").first { $0.hasPrefix("Date: ") }?.dropFirst(6))
            let served = try #require(IMFDateReading.seconds(String(date)))
            if refresh {
                #expect(abs(served - before) <= 1, "Date \(date) is now")
            } else {
                #expect(before - served >= 2, "Date \(date) is as recorded")
            }
            await server.stop()
        }
    }

    @Test func theCommandExitsOneWhenARequestWentUnmatchedAndZeroWhenNone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)
        for (paths, status) in [(["/b.txt", "/a.txt"], Int32(0)), (["/b.txt", "/nope"], 1)] {
            let (serve, endpoint) = try TapedeckProcess.proxy(["replay", "serve", recording, "--listen", "127.0.0.1:0", "--report", directory.file("report.json")])
            let port = try #require(endpoint.port)
            _ = try Self.fetch(port: port, paths, mode: "one")
            serve.signal(SIGTERM)
            #expect(try serve.waitForExit() == status)
            let summary = serve.outputLines.joined(separator: "\n")
            #expect(summary.contains("http requests answered \(status == 0 ? 2 : 1) ("))
            let report = try JSONDecoder().decode(ServeReport.self, from: Data(contentsOf: URL(fileURLWithPath: directory.file("report.json"))))
            #expect(report.match?.unmatchedCount == Int(status))
            #expect(report.match?.partlyUsedSessions == [0])
        }
    }
}

/// Reads an IMF-fixdate the way a client would, with Foundation.
enum IMFDateReading {
    static func seconds(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}

/// Waits (bounded) until something accepts on 127.0.0.1:`port`.
func waitUntilAccepting(_ port: UInt16, timeout: Duration = .seconds(15)) throws {
    let deadline = ContinuousClock.now + timeout
    while !loopbackAccepts(port) {
        guard ContinuousClock.now < deadline else {
            throw ChildProcess.Failure(description: "nothing accepted on 127.0.0.1:\(port) within \(timeout)")
        }
        usleep(20_000)
    }
}
