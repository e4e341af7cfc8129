import Faults
import Foundation
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults applied by the real proxy on loopback sockets. Timing bounds are
/// loose enough for a loaded 2-core machine; precision is measured by the
/// benchmarks, not here.
@Suite(.serialized) struct FaultProxyTests {
    private static func echoHarness(_ faults: [Fault], seed: UInt64 = 1, upstream: Endpoint? = nil) async throws -> (EchoServer, ProxyHarness) {
        let echo = try await EchoServer.start(on: upstream ?? .ip(.loopbackV4, port: 0))
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, faults: faults, seed: seed)
        return (echo, harness)
    }

    /// Round trip of one small message through the proxy, in milliseconds.
    private static func roundTrip(_ endpoint: Endpoint, count: Int = 3) async throws -> [Double] {
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            var times: [Double] = []
            for index in 0..<count {
                let start = ContinuousClock.now
                try socket.send([UInt8(index)])
                _ = try socket.read(exactly: 1)
                let elapsed = start.duration(to: .now)
                times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            return times
        }
    }

    @Test func latencyOneWayAndBothWays() async throws {
        let oneWay = try await Self.echoHarness([try Fault(.latency(latency: .milliseconds(100)), stream: .upstream)])
        for time in try await Self.roundTrip(oneWay.1.endpoints[0]) {
            #expect(time >= 100 && time < 180, "one-way latency 100 ms: round trip \(time) ms")
        }
        try await oneWay.1.stop()
        await oneWay.0.stop()

        let bothWays = try await Self.echoHarness([
            try Fault(.latency(latency: .milliseconds(100)), stream: .upstream),
            try Fault(.latency(latency: .milliseconds(100)), stream: .downstream),
        ])
        for time in try await Self.roundTrip(bothWays.1.endpoints[0]) {
            #expect(time >= 200 && time < 300, "100 ms each way: round trip \(time) ms")
        }
        try await bothWays.1.stop()
        await bothWays.0.stop()
    }

    @Test func twoLatencyFaultsAddUp() async throws {
        let (echo, harness) = try await Self.echoHarness([
            try Fault(.latency(latency: .milliseconds(250)), stream: .upstream, name: "first"),
            try Fault(.latency(latency: .milliseconds(250)), stream: .upstream, name: "second"),
        ])
        let times = try await Self.roundTrip(harness.endpoints[0], count: 1)
        #expect(times[0] >= 500 && times[0] < 620, "two 250 ms faults: \(times[0]) ms")
        try await harness.stop()
        await echo.stop()
    }

    @Test func bandwidthPacesAndKeepsBytesExact() async throws {
        let bulk = try await BulkServer.start()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: bulk.endpoint,
            faults: [try Fault(.bandwidth(rate: .kilobytesPerSecond(1000)), stream: .downstream)]
        )
        let request = BulkServer.Request(responseBytes: 480_000, seed: 9)
        let endpoint = harness.endpoints[0]
        let (received, elapsed) = try await BlockingSocket.onThread { () -> ([UInt8], Duration) in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
            let start = ContinuousClock.now
            try socket.send(request.header)
            let received = try socket.readToEnd()
            return (received, start.duration(to: .now))
        }
        #expect(received == BulkServer.payload(seed: 9, count: 480_000))
        #expect(elapsed >= .milliseconds(470) && elapsed < .milliseconds(800), "480,000 bytes at 1000 KB/s took \(elapsed)")
        try await harness.stop()
        await bulk.stop()
    }

    @Test func limitDataForwardsExactlyThenCloses() async throws {
        let bulk = try await BulkServer.start()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)], upstream: bulk.endpoint,
            faults: [try Fault(.limitData(bytes: 100), stream: .downstream)]
        )
        let request = BulkServer.Request(responseBytes: 150, seed: 4)
        let received = try await BlockingClient.exchange(harness.endpoints[0], send: request.header, halfClose: true)
        #expect(received == Array(BulkServer.payload(seed: 4, count: 150).prefix(100)))
        try await harness.stop()
        await bulk.stop()
    }

    @Test func resetPeerResetsTheClient() async throws {
        let (echo, harness) = try await Self.echoHarness([try Fault(.resetPeer(timeout: .milliseconds(50)), stream: .upstream)])
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: harness.endpoints[0], timeout: .seconds(5))
            try socket.send(Array("hello".utf8))
            do {
                return "clean end, \(try socket.readToEnd().count) bytes"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome.contains("reset by peer"), "\(outcome)")
        try await eventually(timeout: .seconds(5), "the reset is counted") { harness.proxy.statistics.snapshot.faultsFired > 0 }
        try await harness.stop()
        await echo.stop()
    }

    @Test func timeoutZeroStopsDataAndKeepsTheConnectionOpen() async throws {
        let (echo, harness) = try await Self.echoHarness([try Fault(.timeout(timeout: .zero), stream: .upstream)])
        let outcome = try await BlockingSocket.onThread { () -> String in
            let socket = try BlockingSocket(connectingTo: harness.endpoints[0], timeout: .milliseconds(400))
            try socket.send(Array("anyone?".utf8))
            do {
                return "read \(try socket.read(upTo: 100).count) bytes"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome.contains("temporarily unavailable"), "no data and no close, so the read times out: \(outcome)")
        try await harness.stop(grace: .milliseconds(100))
        await echo.stop()
    }

    @Test func seededDropsAreTheSameInTwoRuns() async throws {
        func run() async throws -> [UInt8] {
            let (echo, harness) = try await Self.echoHarness([try Fault(.drop(probability: 0.5), stream: .upstream)], seed: 42)
            let endpoint = harness.endpoints[0]
            let received = try await BlockingSocket.onThread { () -> [UInt8] in
                // Each message is its own chunk: the next goes only once the
                // previous one came back or evidently was dropped.
                let socket = try BlockingSocket(connectingTo: endpoint, timeout: .milliseconds(100))
                var received: [UInt8] = []
                for value in 0..<24 {
                    try socket.send([UInt8(value)])
                    if let echoed = try? socket.read(exactly: 1) { received += echoed }
                }
                return received
            }
            try await harness.stop()
            await echo.stop()
            return received
        }
        let first = try await run()
        let second = try await run()
        #expect(first == second)
        #expect(first.count > 3 && first.count < 21, "about half of 24 chunks pass: \(first.count)")
    }

    @Test func halfCloseAndUnixSocketsWorkWithLatency() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start(on: .unix(path: directory.file("echo.sock")))
        let harness = try await ProxyHarness(
            listeners: [.unix(path: directory.file("proxy.sock"))], upstream: echo.endpoint,
            faults: [
                try Fault(.latency(latency: .milliseconds(20)), stream: .upstream),
                try Fault(.latency(latency: .milliseconds(20)), stream: .downstream),
            ]
        )
        let payload = randomBytes(300_000, seed: 2)
        let reply = try await BlockingClient.exchange(harness.endpoints[0], send: payload, halfClose: true)
        #expect(reply == payload)
        try await harness.stop()
        await echo.stop()
    }
}
