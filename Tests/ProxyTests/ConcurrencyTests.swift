import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import TapedeckTestSupport
import Testing

@Suite struct ConcurrencyTests {
    /// 200 sessions at once with random sizes each way: what each side sent
    /// is what the other received (SHA-256), and the recording holds each
    /// session's exact bytes per direction, ended by FIN both ways.
    @Test func twoHundredConcurrentSessions() async throws {
        try await HeavyTraffic.exclusively { try await twoHundredSessions() }
    }

    private func twoHundredSessions() async throws {
        let server = try await BulkServer.start()
        let harness = try await ProxyHarness.recording([.ip(.loopbackV4, port: 0)], to: server.endpoint)
        defer { harness.remove() }
        let endpoint = try #require(harness.endpoints.first)
        let count = 200
        var generator = SeededGenerator(seed: 42)
        let plans: [(request: BulkServer.Request, body: [UInt8])] = (0..<count).map { index in
            let request = BulkServer.Request(responseBytes: Int.random(in: 0...200_000, using: &generator), seed: UInt64(index + 1000))
            return (request, randomBytes(Int.random(in: 0...200_000, using: &generator), seed: UInt64(index)))
        }
        let results = try await withThrowingTaskGroup(of: (Int, [UInt8], UInt16?).self) { group in
            for (index, plan) in plans.enumerated() {
                group.addTask {
                    let (received, port) = try await BlockingClient.duplexExchange(endpoint, send: plan.request.header + plan.body, timeout: .seconds(30))
                    return (index, received, port)
                }
            }
            var results: [Int: (received: [UInt8], port: UInt16?)] = [:]
            for try await (index, received, port) in group { results[index] = (received, port) }
            return results
        }
        let reports = try await server.reports(count: count)
        try await harness.stop()
        await server.stop()

        var expectedResponse: [Int: String] = [:]
        var indexByPort: [UInt16: Int] = [:]
        for (index, plan) in plans.enumerated() {
            let result = try #require(results[index])
            let expected = sha256Hex(BulkServer.payload(seed: plan.request.seed, count: plan.request.responseBytes))
            expectedResponse[index] = expected
            #expect(sha256Hex(result.received) == expected, "session \(index) response")
            indexByPort[try #require(result.port)] = index
        }
        let receivedBySeed = Dictionary(uniqueKeysWithValues: reports.map { report in
            (report.received.prefix(17).dropFirst(8).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, report)
        })
        for plan in plans {
            let report = try #require(receivedBySeed[plan.request.seed])
            #expect(sha256Hex(report.received) == sha256Hex(plan.request.header + plan.body))
            #expect(!report.endedWithError)
        }

        let sessions = try Recorded.sessions([harness.recordingPath])
        #expect(sessions.count == count)
        for session in sessions {
            guard case .ip(_, let port) = session.client, let index = indexByPort[port] else {
                Issue.record("recorded session \(session.index) from \(session.client) matches no client")
                continue
            }
            let plan = plans[index]
            #expect(sha256Hex(session.clientToServer) == sha256Hex(plan.request.header + plan.body), "session \(index) c2s")
            #expect(sha256Hex(session.serverToClient) == expectedResponse[index], "session \(index) s2c")
            #expect(session.end == .fin)
            #expect(session.gapBytes.values.allSatisfy { $0 == 0 })
        }
        let manifest = try #require(try Manifest.load(forRecording: harness.recordingPath))
        #expect(manifest.sessions.count == count)
        #expect(manifest.sessions.allSatisfy { $0.end == .fin && !$0.hasGap })
        #expect(harness.proxy.statistics.snapshot.totalSessions == count)
        #expect(harness.proxy.statistics.snapshot.liveSessions == 0)
    }
}
