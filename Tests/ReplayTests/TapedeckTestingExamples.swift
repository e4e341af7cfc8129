import Faults
import Foundation
import Replay
import SampleServer
import TapedeckTestSupport
import TapedeckTesting
import Testing
import XCTest

// The README's TapedeckTesting examples, as tests: a recorded server for a
// client under test (Swift Testing), and a fault proxy in front of a real
// dependency whose faults change mid-test (XCTest). The client under test
// here is a raw socket; in a user's suite it is their own client.

@Test func aRecordedRedisAnswersTheClientUnderTest() async throws {
    let recording = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Recordings/redis-tcp.pcap").standardized.path
    // Redis's recorded answers, no redis-server needed; asked in another order than recorded.
    let redis = try await MockServer.start(recording: recording)
    let get = try await BlockingClient.exchange(redis.endpoint, send: Array("*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n".utf8), halfClose: true)
    let set = try await BlockingClient.exchange(redis.endpoint, send: Array("*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$20\r\nrecorded by tapedeck\r\n".utf8), halfClose: true)
    #expect(String(decoding: set, as: UTF8.self) == "+OK\r\n")
    #expect(String(decoding: get, as: UTF8.self) == "$20\r\nrecorded by tapedeck\r\n")
    let report = await redis.stop()
    #expect(report.match?.unmatchedCount == 0)        // every request was answered from the recording
    #expect(report.match?.unusedSessions == [2, 3])   // what the app never asked for
}

final class FaultProxyExampleTests: XCTestCase {
    func testAnswersSlowDownWhileALatencyFaultIsOnAndTheSessionIsRecorded() async throws {
        let echo = try await EchoServer.start()   // stands in for the real dependency
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let proxy = try await FaultProxy.start(upstream: echo.endpoint, recordTo: directory.file("chaos.pcap"))

        let socket = try BlockingSocket(connectingTo: proxy.endpoint)
        func roundTrip() async throws -> Double {
            try await BlockingSocket.onThread {
                let start = ContinuousClock.now
                try socket.send(Array("ping".utf8))
                _ = try socket.read(exactly: 4)
                let elapsed = (ContinuousClock.now - start).components
                return Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
            }
        }
        let before = try await roundTrip()
        try await proxy.setFaults([Fault(.latency(latency: .milliseconds(150), jitter: .zero))])
        let during = try await roundTrip()
        await proxy.setFaults([])
        let after = try await roundTrip()
        socket.shutdownWrite()
        _ = try await BlockingSocket.onThread { try socket.readToEnd() }
        await proxy.stop()
        await echo.stop()

        XCTAssertLessThan(before, 100)
        XCTAssertGreaterThanOrEqual(during, 148)
        XCTAssertLessThan(after, 100)
        let recorded = try SessionScript.load(paths: [directory.file("chaos.pcap")])
        XCTAssertEqual(recorded.count, 1)
        XCTAssertEqual(recorded.first.map { String(buffer: $0.bytes(.clientToServer)) }, "pingpingping")
    }
}
