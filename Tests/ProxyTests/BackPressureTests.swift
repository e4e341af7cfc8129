import Crypto
import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import TapedeckTestSupport
import Testing

@Suite(.serialized) struct BackPressureTests {
    /// An upstream pushing 128 MB through the real `tapedeck proxy` process
    /// to a client that reads slowly: the proxy's resident memory stays flat
    /// (it holds at most a write buffer's worth per direction). Measured on
    /// the proxy's own process, so nothing else the tests do counts.
    @Test func slowClientKeepsProxyMemoryFlat() async throws {
        let server = try await BulkServer.start()
        defer { Task { await server.stop() } }
        let (proxy, endpoint) = try TapedeckProcess.proxy(["proxy", "--listen", "127.0.0.1:0", "--upstream", server.endpoint.description, "--quiet"])
        defer { proxy.stop() }
        let pid = proxy.process.processIdentifier

        let total = 128 << 20
        let warmUp = 8 << 20
        let request = BulkServer.Request(responseBytes: total, seed: 5)
        let (count, baseline, peak) = try await BlockingSocket.onThread { () -> (Int, Int, Int) in
            let socket = try BlockingSocket(connectingTo: endpoint, timeout: .seconds(30), receiveBufferSize: 64 << 10)
            try socket.send(request.header)
            socket.shutdownWrite()
            var count = 0
            var baseline = 0
            var peak = 0
            var reads = 0
            while true {
                let chunk = try socket.read(upTo: 64 << 10)
                if chunk.isEmpty { break }
                count += chunk.count
                reads += 1
                if baseline == 0, count >= warmUp { baseline = Self.residentBytes(of: pid) }
                if baseline > 0, reads % 32 == 0 { peak = max(peak, Self.residentBytes(of: pid)) }
                if reads % 2 == 0 { usleep(1000) }
            }
            return (count, baseline, peak)
        }
        #expect(count == total)
        #expect(baseline > 0)
        let growth = peak - baseline
        #expect(growth < 16 << 20, "the proxy's RSS grew \(growth >> 20) MB while a slow client read \(total >> 20) MB")
    }

    /// VmRSS of a process, in bytes.
    private static func residentBytes(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kib * 1024
    }

    private func transfer(policy: RecorderConfiguration.BacklogPolicy) async throws -> (harness: ProxyHarness, sent: [UInt8], received: [UInt8], response: [UInt8]) {
        try await HeavyTraffic.exclusively { try await transferAlone(policy: policy) }
    }

    private func transferAlone(policy: RecorderConfiguration.BacklogPolicy) async throws -> (harness: ProxyHarness, sent: [UInt8], received: [UInt8], response: [UInt8]) {
        let server = try await BulkServer.start()
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0)],
            upstream: server.endpoint,
            recording: { path in
                var configuration = RecorderConfiguration(output: .file(path: path))
                configuration.backlogPolicy = policy
                configuration.queueCapacity = 16 << 10
                return configuration
            }
        )
        let request = BulkServer.Request(responseBytes: 24 << 20, seed: 11)
        let sent = request.header + randomBytes(4 << 20, seed: 12)
        let (received, _) = try await BlockingClient.duplexExchange(harness.endpoints[0], send: sent, timeout: .seconds(30))
        let report = try #require(try await server.reports(count: 1).first)
        #expect(report.received == sent)
        try await harness.stop()
        await server.stop()
        return (harness, sent, received, BulkServer.payload(seed: 11, count: 24 << 20))
    }

    /// A tiny recorder queue with `backpressure`: traffic slows, nothing is lost.
    @Test func backpressureIsLossless() async throws {
        let (harness, sent, received, response) = try await transfer(policy: .backpressure)
        defer { harness.remove() }
        #expect(received == response)
        #expect(harness.recorder!.droppedBytes.load(ordering: .relaxed) == 0)
        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.clientToServer == sent)
        #expect(session.serverToClient == response)
        #expect(session.gapBytes.values.allSatisfy { $0 == 0 })
        #expect(session.end == .fin)
        let verification = try ChecksumVerification.verify(path: harness.recordingPath)
        #expect(verification.passed, "\(verification.problems)")
    }

    /// A tiny recorder queue with `drop`: traffic is untouched, the recording
    /// shows gaps, counted in `droppedBytes` and the manifest, whose
    /// checksums are those of the bytes the file holds.
    @Test func dropKeepsTrafficAndRecordsGaps() async throws {
        let (harness, sent, received, response) = try await transfer(policy: .drop)
        defer { harness.remove() }
        #expect(received == response)
        let dropped = harness.recorder!.droppedBytes.load(ordering: .relaxed)
        #expect(dropped > 0)
        let manifest = try #require(try Manifest.load(forRecording: harness.recordingPath))
        let summary = try #require(manifest.sessions.first)
        #expect(summary.clientToServer.gapBytes + summary.serverToClient.gapBytes == dropped)
        #expect(summary.clientToServer.bytes + summary.clientToServer.gapBytes == sent.count)
        #expect(summary.serverToClient.bytes + summary.serverToClient.gapBytes == response.count)
        let session = try #require(try Recorded.sessions([harness.recordingPath]).first)
        #expect(session.gapBytes[.clientToServer]! + session.gapBytes[.serverToClient]! == dropped)
        #expect(session.clientToServer.count + session.gapBytes[.clientToServer]! == sent.count)
        // The manifest's XXH3 is of what the file holds: dropped bytes are
        // taken back out of the digest each read's is carried with.
        let verification = try ChecksumVerification.verify(path: harness.recordingPath)
        #expect(verification.passed, "\(verification.problems)")
    }
}
