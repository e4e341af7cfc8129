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

/// Issue 4's load numbers on real loopback sockets: many fault changes
/// around short connections, and throughput under latency.
@Suite(.serialized) struct FaultLoadTests {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// 1,000 cycles of add a fault / connect / close / remove it through one
    /// proxy, the connections ending every way (after the echo, with bytes
    /// still held by the fault, with a reset, after the fault was removed
    /// from the live connection): no crash, no hang, no session left over,
    /// and the proxy still forwards byte-exact afterwards.
    @Test(.timeLimit(.minutes(4)))
    func thousandAddConnectCloseRemoveCycles() async throws {
        let echo = try await EchoServer.start()
        let harness = try await ProxyHarness(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint, seed: 5)
        let endpoint = harness.endpoints[0]
        let choices: [Fault] = [
            try Fault(.latency(latency: .milliseconds(2)), stream: .upstream),
            try Fault(.latency(latency: .milliseconds(2), jitter: .milliseconds(1)), stream: .downstream),
            try Fault(.slicer(averageSize: 4, sizeVariation: 2, delay: .microseconds(200)), stream: .downstream),
            try Fault(.bandwidth(rate: .kilobytesPerSecond(1000)), stream: .upstream),
            try Fault(.slowClose(delay: .milliseconds(1)), stream: .downstream),
            try Fault(.drop(probability: 0.5), stream: .upstream),
        ]
        let start = ContinuousClock.now
        var echoedExactly = 0
        for cycle in 0..<1000 {
            let fault = choices[cycle % choices.count]
            await harness.proxy.setFaults([fault])
            let message = Array("cycle \(cycle) ".utf8)
            let variant = cycle % 4
            if variant == 3 {
                // Remove the fault while the connection is live.
                let socket = try await BlockingSocket.onThread { () -> BlockingSocket in
                    let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
                    try socket.send(message)
                    return socket
                }
                await harness.proxy.setFaults([])
                let reply = try await BlockingSocket.onThread { () -> [UInt8] in
                    socket.shutdownWrite()
                    return try socket.readToEnd()
                }
                if case .drop = fault.kind {
                    #expect(reply.isEmpty || reply == message, "cycle \(cycle): \(reply.count) bytes")
                } else {
                    #expect(reply == message, "cycle \(cycle): \(reply.count) bytes")
                    echoedExactly += 1
                }
            } else {
                let dropping = if case .drop = fault.kind { true } else { false }
                let reply = try await BlockingSocket.onThread { () -> [UInt8]? in
                    let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
                    try socket.send(message)
                    switch variant {
                    case 0 where !dropping:
                        socket.shutdownWrite()
                        return try socket.readToEnd()
                    case 2:
                        socket.reset()
                        return nil
                    default:
                        // Close while the fault may still hold the bytes.
                        return nil
                    }
                }
                if let reply {
                    #expect(reply == message, "cycle \(cycle): \(reply.count) bytes")
                    echoedExactly += 1
                }
            }
            await harness.proxy.setFaults([])
        }
        let elapsed = Self.seconds(start.duration(to: .now))
        #expect(elapsed < 120, "1,000 cycles took \(elapsed) s")
        #expect(echoedExactly > 200)
        #expect(await harness.proxy.waitForSessions(timeout: .seconds(10)), "every session ended")
        // The proxy still works, byte-exact.
        let payload = randomBytes(100_000, seed: 21)
        #expect(try await BlockingClient.exchange(endpoint, send: payload, halfClose: true) == payload)
        try await harness.stop()
        await echo.stop()
        print("1,000 add/connect/close/remove cycles: \(String(format: "%.1f", elapsed)) s")
    }

    /// With 100 ms of downstream latency a fast stream still moves: the
    /// latency delays the bytes, it does not throttle them (up to the held
    /// byte bound, 16 MiB ÷ 100 ms ≈ 168 MB/s). The issue asks for ≥ 100
    /// MB/s; `scripts/bench-faults` measures the real figure (release build).
    /// Asserted here: ≥ 50 MB/s, which a loaded 2-core machine running a
    /// debug build holds with room to spare.
    @Test(.timeLimit(.minutes(2)))
    func fastStreamUnderLatencyKeepsItsThroughput() async throws {
        try await HeavyTraffic.exclusively {
            let bulk = try await BulkServer.start()
            let harness = try await ProxyHarness(
                listeners: [.ip(.loopbackV4, port: 0)], upstream: bulk.endpoint,
                faults: [try Fault(.latency(latency: .milliseconds(100)), stream: .downstream)]
            )
            let total = 256 << 20
            let request = BulkServer.Request(responseBytes: total, seed: 8)
            let endpoint = harness.endpoints[0]
            let (count, sent, first, end) = try await BlockingSocket.onThread { () -> (Int, ContinuousClock.Instant, ContinuousClock.Instant, ContinuousClock.Instant) in
                let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(10))
                let sent = ContinuousClock.now
                try socket.send(request.header)
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var count = 0
                var first: ContinuousClock.Instant?
                while true {
                    let read = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
                    guard read >= 0 else { throw ChildProcess.Failure(description: "read failed: \(String(cString: strerror(errno)))") }
                    if read == 0 { break }
                    if first == nil { first = .now }
                    count += read
                }
                return (count, sent, first ?? .now, .now)
            }
            let streaming = Self.seconds(first.duration(to: end))
            let rate = Double(count) / streaming / 1e6
            let overall = Double(count) / Self.seconds(sent.duration(to: end)) / 1e6
            print("256 MiB under 100 ms latency: \(String(format: "%.0f", rate)) MB/s once streaming, \(String(format: "%.0f", overall)) MB/s overall")
            #expect(count == total)
            #expect(Self.seconds(sent.duration(to: first)) >= 0.095, "the first byte waited out the latency")
            #expect(rate >= 50, "\(rate) MB/s under a 100 ms latency")
            try await harness.stop()
            await bulk.stop()
        }
    }
}
