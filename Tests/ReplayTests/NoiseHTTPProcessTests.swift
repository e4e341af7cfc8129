import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Masks learned and used end to end, with the real `tapedeck`: a small
/// Python HTTP/1.1 server that stamps every answer with a fresh
/// X-Request-Id, a Date and a JSON `requestId`; the same scenario recorded
/// twice through a recording proxy; `tapedeck noise` on the two; then
/// `replay drive --strict` against the live server, which fails without
/// the masks and passes with them, and a mock server matching with them.
@Suite(.serialized)
struct NoiseHTTPProcessTests {
    /// Answers GET with JSON naming the path and a fresh request id.
    static let server = """
        import http.server, json, sys, uuid
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                request_id = str(uuid.uuid4())
                body = json.dumps({"path": self.path, "requestId": request_id, "ok": True}).encode()
                self.send_response(200)
                self.send_header("X-Request-Id", request_id)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """

    /// http.client: GETs each path over one keep-alive connection, as host
    /// api.test, with a request id of its own; prints "path status" per line.
    static let client = """
        import http.client, sys, uuid
        connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
        for path in sys.argv[2].split(","):
            connection.request("GET", path, headers={"Host": "api.test", "X-Request-Id": str(uuid.uuid4())})
            response = connection.getresponse()
            response.read()
            print(path, response.status)
        """

    static let paths = ["/users/7", "/users/8", "/orders?user=7"]

    static func fetch(port: UInt16) throws -> [String] {
        let result = try ChildProcess.run("/usr/bin/env", ["python3", "-c", client, "\(port)", paths.joined(separator: ",")], timeoutSeconds: 30)
        guard result.status == 0 else { throw ChildProcess.Failure(description: "the HTTP client failed: \(result.standardError)") }
        return String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The live server, and the scenario recorded twice (in two different seconds, so the Dates differ).
    static func recordTwice(in directory: TemporaryDirectory) async throws -> (server: BackgroundProcess, port: UInt16, recordings: [String]) {
        let port = try freeLoopbackPort()
        let server = try BackgroundProcess("/usr/bin/env", ["python3", "-c", Self.server, "\(port)"])
        do {
            try waitUntilAccepting(port)
            var recordings: [String] = []
            for run in 1...2 {
                if run == 2 { try await Task.sleep(for: .seconds(1.1)) }
                let recording = directory.file("run\(run).pcap")
                let proxy = try await FaultProxy.start(upstream: .ip(.loopbackV4, port: port), recordTo: recording)
                let fetched = try fetch(port: try #require(proxy.endpoint.port))
                await proxy.stop()
                #expect(fetched == paths.map { "\($0) 200" })
                recordings.append(recording)
            }
            return (server, port, recordings)
        } catch {
            server.signal(SIGKILL)
            _ = try? server.waitForExit()
            throw error
        }
    }

    static func tapedeck(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let result = try ChildProcess.run(try TapedeckExecutable.located.get(), arguments, timeoutSeconds: 60)
        #expect(!result.crashed, "tapedeck \(arguments.joined(separator: " ")): \(result.standardError)")
        return (result.status, String(decoding: result.standardOutput, as: UTF8.self), result.standardError)
    }

    @Test func noiseProposesTheStampedFieldsAndDriveFailsWithoutThemAndPassesWith() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (server, port, recordings) = try await Self.recordTwice(in: directory)
        defer {
            // SIGTERM through the pyenv shim does not end python.
            server.signal(SIGKILL)
            _ = try? server.waitForExit()
        }

        let masksFile = directory.file("masks.json")
        let noise = try Self.tapedeck(["noise", recordings[0], recordings[1], "-o", masksFile])
        #expect(noise.status == 0, "\(noise.error)")
        #expect(noise.output.contains("3 exchanges paired session by session, in order, 0 unpaired"), "\(noise.output)")
        #expect(noise.output.contains("3 masks proposed"), "\(noise.output)")
        let masks = try Masks.load(path: masksFile)
        // Exactly what the server stamps: the client's own X-Request-Id is the same header.
        #expect(masks.http.headers.sorted() == ["Date", "X-Request-Id"])
        #expect(masks.http.json == [try JSONPath(parsing: "$.requestId")])
        #expect(masks.count == 3, "nothing else: \(String(decoding: masks.json, as: UTF8.self))")

        let unmasked = try Self.tapedeck(["replay", "drive", recordings[0], "--target", "127.0.0.1:\(port)", "--strict", "--speed", "0"])
        #expect(unmasked.status == 1, "\(unmasked.output)\(unmasked.error)")
        for path in Self.paths {
            #expect(unmasked.output.contains("GET \(path): header Date: "), "\(unmasked.output)")
            #expect(unmasked.output.contains("$.requestId: \""), "\(unmasked.output)")
        }
        let masked = try Self.tapedeck(["replay", "drive", recordings[0], "--target", "127.0.0.1:\(port)", "--strict", "--speed", "0", "--masks", masksFile, "--report", directory.file("drive.json")])
        #expect(masked.status == 0, "\(masked.output)\(masked.error)")
        #expect(masked.output.contains("mismatches 0"), "\(masked.output)")
        let report = try JSONDecoder().decode(DriveReport.self, from: Data(contentsOf: URL(fileURLWithPath: directory.file("drive.json"))))
        #expect(report.differences.isEmpty)
        #expect(report.bytesReceived > 0)

        // A mock server with the masks answers a new client run (new X-Request-Ids) in the masked tier.
        let mock = try await MockServer.start(recording: recordings[0], answering: .requests(RequestMatching(masking: try Masks.load(path: masksFile).requestMasking)))
        #expect(try Self.fetch(port: try #require(mock.endpoint.port)) == Self.paths.map { "\($0) 200" })
        let served = await mock.stop()
        #expect(served.match?.answered["masked"] == 3)
        #expect(served.match?.unmatchedCount == 0)
    }

    @Test func badInputIsOneLineAndANonZeroExit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let garbage = directory.file("garbage.pcap")
        try Data("not a capture".utf8).write(to: URL(fileURLWithPath: garbage))
        for arguments in [
            ["noise", garbage],
            ["noise", garbage, garbage, "-o", directory.file("m.json")],
            ["noise", directory.file("missing.pcap"), garbage],
        ] {
            let result = try Self.tapedeck(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.error.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.contains("--help") && !$0.isEmpty }
            #expect(lines.count == 1, "\(arguments): \(result.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("m.json")))
    }
}
