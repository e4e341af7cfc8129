import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

@Suite("A proxy made through the API carries traffic and its toxics")
struct TrafficTests {
    @Test func latencyToxicDisableAndEnableShowInTheTraffic() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"echo","upstream":"\#(echo.endpoint)"}"#)
            #expect(created.status == .created)
            let listen = try Endpoint(parsing: try #require(created.object["listen"] as? String))
            let message = Array("hello through tapedeck".utf8)

            let fast = try await timedEcho(listen, message)
            #expect(fast < .milliseconds(50))

            let added = try await client.call(.post, "/proxies/echo/toxics", #"{"type":"latency","attributes":{"latency":100}}"#)
            #expect(added.status == .ok)
            let slow = try await timedEcho(listen, message)
            #expect(slow >= .milliseconds(100) && slow < .milliseconds(300), "took \(slow)")

            #expect(try await client.call(.delete, "/proxies/echo/toxics/latency_downstream").status == .noContent)
            #expect(try await timedEcho(listen, message) < .milliseconds(50))

            #expect(try await client.call(.post, "/proxies/echo", #"{"enabled":false}"#).status == .ok)
            #expect(throws: BlockingClient.Failure.self) {
                let socket = try BlockingClient.connect(listen, timeout: .seconds(2))
                close(socket)
            }
            #expect(try await client.call(.post, "/proxies/echo", #"{"enabled":true}"#).status == .ok)
            #expect(try await timedEcho(listen, message) < .milliseconds(50))

            let metrics = try await client.call(.get, "/metrics").body
            #expect(metrics.contains(#"tapedeck_proxy_sessions_total{proxy="echo"} 4"#), "\(metrics)")
            #expect(metrics.contains(#"tapedeck_proxy_bytes_total{proxy="echo",direction="upstream"} \#(4 * message.count)"#))
        }
    }

    /// A session that streams leaves NIO for splice(2) after its first
    /// 256 KiB; the metrics say how much went that way, and every byte
    /// still comes back.
    @Test func aStreamingSessionIsSplicedAndTheMetricsSaySo() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"bulk","upstream":"\#(echo.endpoint)"}"#)
            #expect(created.status == .created)
            let listen = try Endpoint(parsing: try #require(created.object["listen"] as? String))
            let chunks = 64
            let mismatches = try await BlockingSocket.onThread {
                let socket = try BlockingSocket(connectingTo: listen)
                var mismatches = 0
                for index in 0..<chunks {
                    let chunk = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ $0 >> 8) }
                    try socket.send(chunk)
                    if try socket.read(exactly: chunk.count) != chunk { mismatches += 1 }
                }
                socket.shutdownWrite()
                #expect(try socket.readToEnd().isEmpty)
                return mismatches
            }
            #expect(mismatches == 0)
            let metrics = try await client.call(.get, "/metrics").body
            #expect(metrics.contains(#"tapedeck_proxy_bytes_total{proxy="bulk",direction="upstream"} \#(chunks << 16)"#), "\(metrics)")
            let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix(#"tapedeck_proxy_spliced_bytes_total{proxy="bulk"}"#) })
            let spliced = try #require(Int(line.split(separator: " ").last ?? ""))
            // Both ways, less what went on NIO before the move (256 KiB, the two ways together).
            #expect(spliced > 0 && spliced <= 2 * (chunks << 16) - (256 << 10), "\(spliced)")
        }
    }

    @Test func unixSocketsOnBothSides() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start(on: .unix(path: directory.path + "/echo.sock"))
        defer { Task { await echo.stop() } }
        let listen = directory.path + "/proxy.sock"
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"u","listen":"unix:\#(listen)","upstream":"\#(echo.endpoint)"}"#)
            #expect(created.status == .created, "\(created.body)")
            let reply = try await BlockingClient.exchange(.unix(path: listen), send: Array("abc".utf8), halfClose: true)
            #expect(reply == Array("abc".utf8))
        }
    }
}

/// Sends `message`, reads the echo, then half-closes and reads to the end;
/// returns the time from connect to the echo. (A client that half-closes at
/// once would let the upstream's FIN follow the data, which today makes a
/// downstream latency deliver early; see the report.)
func timedEcho(_ endpoint: Endpoint, _ message: [UInt8]) async throws -> Duration {
    try await BlockingSocket.onThread {
        let clock = ContinuousClock()
        let start = clock.now
        let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(5))
        try socket.send(message)
        let echoed = try socket.read(exactly: message.count)
        let elapsed = clock.now - start
        socket.shutdownWrite()
        _ = try socket.readToEnd()
        guard echoed == message else { throw ChildProcess.Failure(description: "echo came back as \(echoed)") }
        return elapsed
    }
}
