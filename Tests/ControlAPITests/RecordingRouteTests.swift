import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import PcapFile
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

@Suite("Recording, sessions and metrics through the API, on real loopback traffic")
struct RecordingRouteTests {
    @Test func recordingStartedAndStoppedThroughTheAPIHoldsTheTrafficByteForByte() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("api.pcap")
        try await RouteHarness.with(recordings: directory.path) { _, client in
            let listen = try await client.createProxy("echo", upstream: echo.endpoint)
            #expect(try await BlockingClient.exchange(listen, send: Array("before".utf8), halfClose: true) == Array("before".utf8))
            try await client.waitForNoSessions("echo")

            let started = try await client.call(.post, "/proxies/echo/recording", #"{"path":"api.pcap"}"#)
            #expect(started.status == .created, "\(started.body)")
            #expect(started.object["recording"] as? Bool == true)
            #expect(started.object["path"] as? String == path)
            let again = try await client.call(.post, "/proxies/echo/recording", #"{"path":"other.pcap"}"#)
            #expect(again.status == .conflict)
            #expect(again.error?.contains("already recording to \(path)") == true, "\(again.body)")
            let state = try await client.call(.get, "/proxies/echo/recording")
            #expect(state.object["recording"] as? Bool == true)
            #expect(state.object["current_file"] as? String == path)

            var generator = SeededGenerator(seed: 4)
            let payloads = [Array("hello recording".utf8), (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }, Array(repeating: 7, count: 3000)]
            for payload in payloads {
                let (received, _) = try await BlockingClient.duplexExchange(listen, send: payload)
                #expect(received == payload)
            }
            try await client.waitForNoSessions("echo")

            let stopped = try await client.call(.delete, "/proxies/echo/recording")
            #expect(stopped.status == .ok, "\(stopped.body)")
            #expect(stopped.object["recording"] as? Bool == false)
            #expect(stopped.object["path"] as? String == path)
            #expect(stopped.object["sessions"] as? Int == 3)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(stopped.object["bytes"] as? Int == size, "the bytes reported are the file's")
            let payloadBytes = payloads.map(\.count).reduce(0, +)
            #expect(stopped.object["bytes_client_to_server"] as? Int == payloadBytes)
            #expect(stopped.object["bytes_server_to_client"] as? Int == payloadBytes)
            #expect(try await client.call(.get, "/proxies/echo/recording").object["recording"] as? Bool == false)

            // Traffic after the stop is not recorded.
            #expect(try await BlockingClient.exchange(listen, send: Array("after".utf8), halfClose: true) == Array("after".utf8))

            let sessions = try ReadBack.sessions([path])
            #expect(sessions.count == 3)
            for (session, payload) in zip(sessions, payloads) {
                #expect(session.server == echo.endpoint)
                #expect(session.clientToServer.count == payload.count && session.clientToServer == payload, "client to server")
                #expect(session.serverToClient.count == payload.count && session.serverToClient == payload, "server to client")
                #expect(session.end == .fin)
            }
            #expect(try Manifest.load(forRecording: path)?.sessions.count == 3)
            #expect(try Manifest.load(forRecording: path)?.properties["proxy"] == "echo")

            let streams = try TShark.followEveryStream(path)
            #expect(streams.count == 3)
            for (session, payload) in zip(sessions, payloads) {
                let stream = try #require(streams.first { $0.nodes.contains(session.client) }, "tshark shows \(session.client)")
                let fromClient = stream.bytes(sentBy: session.client) ?? []
                let fromServer = stream.bytes(sentBy: echo.endpoint) ?? []
                #expect(fromClient.count == payload.count && fromClient == payload, "tshark: what \(session.client) sent")
                #expect(fromServer.count == payload.count && fromServer == payload, "tshark: what the echo sent to \(session.client)")
            }
            #expect(try TShark.problems(path).isEmpty)
        }
    }

    /// A conversation of small messages leaves NIO after 64 reads; its
    /// reads on the splice path, lent to the recording (up to 512 bytes)
    /// or handed over in a buffer (larger), are counted and recorded whole.
    @Test(.timeLimit(.minutes(1)))
    func aConversationOnTheSplicePathIsCountedAndRecordedWhole() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("spliced.pcap")
        try await RouteHarness.with(recordings: directory.path) { _, client in
            let listen = try await client.createProxy("conversation", upstream: echo.endpoint)
            #expect(try await client.call(.post, "/proxies/conversation/recording", #"{"path":"spliced.pcap"}"#).status == .created)
            let socket = try BlockingSocket(connectingTo: listen, timeout: .seconds(20))
            var sent: [UInt8] = []
            var generator = SeededGenerator(seed: 53)
            for index in 0..<200 {
                let message = (0..<1 + (index * 53) % 1200).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let echoed = try await BlockingSocket.onThread {
                    try socket.send(message)
                    return try socket.read(exactly: message.count)
                }
                #expect(echoed == message, "round trip \(index) came back different")
                sent += message
            }
            socket.shutdownWrite()
            #expect(try await BlockingSocket.onThread { try socket.readToEnd() }.isEmpty)
            try await client.waitForNoSessions("conversation")

            let metrics = try await client.metrics()
            let spliced = try #require(metrics[#"tapedeck_proxy_spliced_bytes_total{proxy="conversation"}"#])
            #expect(spliced > 0, "the recorded conversation never left NIO")
            let stopped = try await client.call(.delete, "/proxies/conversation/recording")
            #expect(stopped.object["bytes_client_to_server"] as? Int == sent.count)
            #expect(stopped.object["bytes_server_to_client"] as? Int == sent.count)
            let session = try #require(try ReadBack.sessions([path]).first)
            let bothWays = session.clientToServer == sent && session.serverToClient == sent
            #expect(bothWays, "the recording differs from what was sent")
            #expect(session.end == .fin)
        }
    }

    @Test func aSessionLiveAtTheStopIsRecordedUpToTheStopAndListedWithItsBytes() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("live.pcap")
        try await RouteHarness.with(recordings: directory.path) { _, client in
            let listen = try await client.createProxy("echo", upstream: echo.endpoint)
            #expect(try await client.call(.get, "/proxies/echo/sessions").array.isEmpty)
            #expect(try await client.call(.post, "/proxies/echo/recording", #"{"path":"live.pcap"}"#).status == .created)

            let socket = try await BlockingSocket.onThread { try BlockingSocket(connectingTo: listen) }
            let first = Array("first part".utf8)
            let echoed = try await BlockingSocket.onThread { try socket.send(first); return try socket.read(exactly: first.count) }
            #expect(echoed == first)

            let live = try await client.call(.get, "/proxies/echo/sessions").array
            #expect(live.count == 1)
            let session = try #require(live.first)
            #expect(session["client"] as? String == "127.0.0.1:\(socket.localPort ?? 0)")
            #expect(session["upstream"] as? String == echo.endpoint.description)
            #expect(session["bytes_client_to_server"] as? Int == first.count)
            #expect(session["bytes_server_to_client"] as? Int == first.count)
            #expect(session["recording"] as? Bool == true)
            let openedText = try #require(session["opened"] as? String)
            let opened = try #require(Timestamp(rfc3339: openedText))
            #expect(abs(opened.duration(to: .now()).components.seconds) < 10)

            let stopped = try await client.call(.delete, "/proxies/echo/recording")
            #expect(stopped.object["sessions"] as? Int == 1)

            // The proxy goes on carrying the session; it is no longer recorded.
            let second = Array("second part".utf8)
            #expect(try await BlockingSocket.onThread { try socket.send(second); return try socket.read(exactly: second.count) } == second)
            let after = try #require(try await client.call(.get, "/proxies/echo/sessions").array.first)
            #expect(after["recording"] as? Bool == false)
            #expect(after["bytes_client_to_server"] as? Int == first.count + second.count)
            _ = try await BlockingSocket.onThread { socket.shutdownWrite(); return try socket.readToEnd() }
            try await client.waitForNoSessions("echo")

            let sessions = try ReadBack.sessions([path])
            #expect(sessions.count == 1)
            #expect(sessions.first?.clientToServer == first)
            #expect(sessions.first?.serverToClient == first)
            #expect(sessions.first?.end == .open, "marked open: it outlived the recording")
            #expect(try Manifest.load(forRecording: path)?.sessions.first?.end == .open)
        }
    }

    @Test func perSessionFilesWithRedactionAndARecordingThatOutlivesADisable() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sessionsDirectory = directory.file("sessions")
        try await RouteHarness.with(recordings: directory.path) { _, client in
            let listen = try await client.createProxy("echo", upstream: echo.endpoint)
            let body = #"{"per_session_dir":"sessions","redact":["secret-[0-9]+","token=\\w+"]}"#
            let started = try await client.call(.post, "/proxies/echo/recording", body)
            #expect(started.status == .created, "\(started.body)")
            #expect(started.object["per_session_dir"] as? String == sessionsDirectory)

            let first = Array("AUTH secret-1234 ok".utf8)
            #expect(try await BlockingClient.exchange(listen, send: first, halfClose: true) == first, "traffic is untouched")
            try await client.waitForNoSessions("echo")
            #expect(try await client.call(.post, "/proxies/echo", #"{"enabled":false}"#).status == .ok)
            #expect(try await client.call(.post, "/proxies/echo", #"{"enabled":true}"#).status == .ok)
            let second = Array("token=abc def".utf8)
            #expect(try await BlockingClient.exchange(listen, send: second, halfClose: true) == second)
            try await client.waitForNoSessions("echo")

            let stopped = try await client.call(.delete, "/proxies/echo/recording")
            #expect(stopped.object["sessions"] as? Int == 2, "\(stopped.body)")
            let files = try FileManager.default.contentsOfDirectory(atPath: sessionsDirectory).filter { $0.hasSuffix(".pcap") }.sorted()
            #expect(files.count == 2)
            let recorded = try files.map { try ReadBack.sessions([sessionsDirectory + "/" + $0]) }
            #expect(recorded.map(\.count) == [1, 1])
            #expect(recorded.first?.first?.clientToServer == Array("AUTH *********** ok".utf8))
            #expect(recorded.last?.first?.serverToClient == Array("********* def".utf8))
            let manifest = try Manifest.load(forRecording: sessionsDirectory + "/" + files[0])
            #expect(manifest?.redact == ["secret-[0-9]+", #"token=\w+"#], "the manifest lists the patterns")
        }
    }

    @Test(arguments: [
        ("{}", "missing required field: path (or per_session_dir)"),
        (#"{"path":"/etc/passwd"}"#, "path must be a file name inside the recordings directory"),
        (#"{"path":"../escape.pcap"}"#, "without '/' or '..'"),
        (#"{"path":".."}"#, "without '/' or '..'"),
        (#"{"per_session_dir":"/tmp/elsewhere"}"#, "per_session_dir must be a file name inside the recordings directory"),
        (#"{"per_session_dir":"a/../.."}"#, "without '/' or '..'"),
        (#"{"path":"a.pcap","per_session_dir":"b"}"#, "exclude each other"),
        (#"{"path":"a.pcap","enabled":false}"#, "to stop recording, send DELETE"),
        (#"{"path":"a.pcap","rotate":5}"#, "unknown field: rotate"),
        (#"{"path":5}"#, "\"path\" must be a string"),
        (#"{"path":"a.pcap","redact":["("]}"#, "not a valid regular expression"),
        (#"{"path":"a.pcap","redact":["ok","x*"]}"#, "redact 'x*' can match the empty string"),
        (#"{"path":"a.pcap","rotate_seconds":1e300}"#, "rotate_seconds must be a number of seconds over 0 and up to 8640000 (100 days)"),
        (#"{"path":"a.pcap","ring_size":3}"#, "add rotate_bytes or rotate_seconds"),
        (#"{"path":"a.pcap","rotate_bytes":0}"#, "rotate_bytes must be a positive"),
        (#"{"per_session_dir":"b","rotate_bytes":100}"#, "per_session_dir already writes one file per session"),
        (#"{"path":"a.pcap","on_backlog":"panic"}"#, "on_backlog must be backpressure or drop"),
        ("not json", "not valid JSON"),
    ])
    func badRecordingRequestsAreExplained(body: String, says: String) async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.createProxy("p", upstream: .ip(.loopbackV4, port: 1))
            let reply = try await client.call(.post, "/proxies/p/recording", body)
            #expect(reply.status == .badRequest)
            #expect(reply.object["status"] as? Int == 400)
            #expect(reply.error?.contains(says) == true, "\(reply.body)")
            #expect(try await client.call(.get, "/proxies/p/recording").object["recording"] as? Bool == false)
        }
    }

    @Test func unknownProxiesAndAStopWithoutARecording() async throws {
        try await RouteHarness.with { _, client in
            for (method, path) in [(HTTPRequest.Method.get, "recording"), (.post, "recording"), (.delete, "recording"), (.get, "sessions")] {
                let reply = try await client.call(method, "/proxies/nope/\(path)", #"{"path":"x.pcap"}"#)
                #expect(reply.status == .notFound, "\(method) \(path)")
                #expect(reply.error == "proxy not found")
            }
            _ = try await client.createProxy("p", upstream: .ip(.loopbackV4, port: 1))
            let stop = try await client.call(.delete, "/proxies/p/recording")
            #expect(stop.status == .notFound)
            #expect(stop.error == "proxy is not recording")
        }
    }

    @Test func metricsCountKnownTrafficFailuresFaultsAndRecordingBytes() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("metrics.pcap")
        try await RouteHarness.with(recordings: directory.path) { _, client in
            let listen = try await client.createProxy("m", upstream: echo.endpoint)
            let refused = try await client.createProxy("refused", upstream: .ip(.loopbackV4, port: 1))
            #expect(try await client.call(.post, "/proxies/m/recording", #"{"path":"metrics.pcap"}"#).status == .created)
            for size in [1000, 2500] {
                #expect(try await BlockingClient.duplexExchange(listen, send: Array(repeating: 1, count: size)).received.count == size)
            }
            _ = try? await BlockingClient.exchange(refused, send: [1], halfClose: true, timeout: .seconds(5))
            _ = try await client.call(.post, "/proxies/m/toxics", #"{"type":"latency","attributes":{"latency":1}}"#)
            #expect(try await BlockingClient.exchange(listen, send: Array(repeating: 2, count: 10), halfClose: true).count == 10)
            try await client.waitForNoSessions("m")

            var metrics = try await client.metrics()
            #expect(metrics.text.contains("# TYPE tapedeck_proxy_sessions_live gauge"))
            #expect(metrics.text.contains("# HELP tapedeck_proxy_sessions_total "))
            #expect(metrics.text.contains("# TYPE tapedeck_proxy_recorded_bytes_total counter"))
            #expect(metrics[#"tapedeck_proxy_sessions_total{proxy="m"}"#] == 3)
            #expect(metrics[#"tapedeck_proxy_sessions_live{proxy="m"}"#] == 0)
            #expect(metrics[#"tapedeck_proxy_bytes_total{proxy="m",direction="upstream"}"#] == 3510)
            #expect(metrics[#"tapedeck_proxy_bytes_total{proxy="m",direction="downstream"}"#] == 3510)
            #expect(metrics[#"tapedeck_proxy_upstream_failures_total{proxy="m"}"#] == 0)
            #expect(metrics[#"tapedeck_proxy_upstream_failures_total{proxy="refused"}"#] == 1)
            #expect(metrics[#"tapedeck_proxy_sessions_total{proxy="refused"}"#] == 0)
            #expect((metrics[#"tapedeck_proxy_faults_fired_total{proxy="m"}"#] ?? 0) >= 1, "\(metrics.text)")
            #expect(metrics[#"tapedeck_proxy_faults_fired_total{proxy="refused"}"#] == 0)
            #expect(metrics[#"tapedeck_proxy_recording{proxy="m"}"#] == 1)
            #expect(metrics[#"tapedeck_proxy_recording{proxy="refused"}"#] == 0)

            let stopped = try await client.call(.delete, "/proxies/m/recording")
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(stopped.object["bytes"] as? Int == size)
            metrics = try await client.metrics()
            #expect(metrics[#"tapedeck_proxy_recorded_bytes_total{proxy="m"}"#] == Double(size))
            #expect(metrics[#"tapedeck_proxy_recording{proxy="m"}"#] == 0)

            // A disable and enable keeps the counts (a new server underneath).
            _ = try await client.call(.post, "/proxies/m", #"{"enabled":false}"#)
            _ = try await client.call(.post, "/proxies/m", #"{"enabled":true}"#)
            #expect(try await BlockingClient.exchange(listen, send: [3], halfClose: true) == [3])
            try await client.waitForNoSessions("m")
            metrics = try await client.metrics()
            #expect(metrics[#"tapedeck_proxy_sessions_total{proxy="m"}"#] == 4)
            #expect(metrics[#"tapedeck_proxy_bytes_total{proxy="m",direction="upstream"}"#] == 3511)
            #expect(metrics[#"tapedeck_proxy_recorded_bytes_total{proxy="m"}"#] == Double(size))

            // A deleted proxy's series go away.
            #expect(try await client.call(.delete, "/proxies/refused").status == .noContent)
            #expect(!(try await client.metrics().text.contains(#"proxy="refused""#)))
        }
    }

    @Test func twoServersInOneProcessKeepTheirOwnMetrics() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        try await RouteHarness.with { _, first in
            try await RouteHarness.with { _, second in
                let listen = try await first.createProxy("same", upstream: echo.endpoint)
                _ = try await second.createProxy("same", upstream: echo.endpoint)
                #expect(try await BlockingClient.exchange(listen, send: [1, 2], halfClose: true) == [1, 2])
                try await first.waitForNoSessions("same")
                #expect(try await first.metrics()[#"tapedeck_proxy_sessions_total{proxy="same"}"#] == 1)
                #expect(try await second.metrics()[#"tapedeck_proxy_sessions_total{proxy="same"}"#] == 0)
            }
        }
    }
}

/// The samples of a Prometheus text page, by `name{labels}`.
struct MetricsPage {
    var text: String
    var samples: [String: Double] = [:]

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
    }

    subscript(series: String) -> Double? { samples[series] }
}

extension TestClientProtocol {
    /// Creates a proxy on a free loopback port and returns where it listens.
    func createProxy(_ name: String, upstream: Endpoint) async throws -> Endpoint {
        let created = try await call(.post, "/proxies", #"{"name":"\#(name)","listen":"127.0.0.1:0","upstream":"\#(upstream)"}"#)
        guard created.status == .created, let listen = created.object["listen"] as? String else {
            throw ChildProcess.Failure(description: "creating \(name) failed: \(created.body)")
        }
        return try Endpoint(parsing: listen)
    }

    /// Waits (up to 5 s) until the proxy has no live session: the last
    /// close has reached the recording and the counters.
    func waitForNoSessions(_ proxy: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if try await call(.get, "/proxies/\(proxy)/sessions").array.isEmpty { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ChildProcess.Failure(description: "\(proxy) still has live sessions after 5 s")
    }

    func metrics() async throws -> MetricsPage {
        MetricsPage(try await call(.get, "/metrics").body)
    }
}

/// Sessions read back from recordings with `RecordingReader`.
enum ReadBack {
    struct Session {
        var client: Endpoint
        var server: Endpoint
        var clientToServer: [UInt8] = []
        var serverToClient: [UInt8] = []
        var end: SessionEnd = .open
    }

    static func sessions(_ paths: [String]) throws -> [Session] {
        var sessions: [Int: Session] = [:]
        try RecordingReader(paths: paths).read { event in
            switch event {
            case .opened(let session):
                sessions[session.index] = Session(client: session.client, server: session.server)
            case .event(let index, let event):
                guard case .data(let buffer) = event.kind else { return }
                if event.direction == .clientToServer {
                    sessions[index]?.clientToServer += buffer.readableBytesView
                } else {
                    sessions[index]?.serverToClient += buffer.readableBytesView
                }
            case .closed(let index, _, let end):
                sessions[index]?.end = end
            }
        }
        return sessions.sorted { $0.key < $1.key }.map(\.value)
    }
}
