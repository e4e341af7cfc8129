import Foundation
import NIOCore
import NIOPosix
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

/// Every pairing — TCP (IPv4, IPv6) and Unix listeners in one proxy, to a
/// TCP or Unix upstream — byte-exact both ways, and recorded byte-exact.
@Suite struct PairingTests {
    enum Upstream: String, CaseIterable, CustomTestStringConvertible {
        case ipv4, ipv6, unix
        var testDescription: String { rawValue }
    }

    @Test(arguments: Upstream.allCases)
    func everyListenerToUpstream(_ kind: Upstream) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstreamEndpoint: Endpoint
        switch kind {
        case .ipv4: upstreamEndpoint = .ip(.loopbackV4, port: 0)
        case .ipv6: upstreamEndpoint = .ip(IPAddress("::1")!, port: 0)
        case .unix: upstreamEndpoint = .unix(path: directory.file("upstream.sock"))
        }
        let echo = try await EchoServer.start(on: upstreamEndpoint)
        let unixListener = directory.file("proxy.sock")
        let harness = try await ProxyHarness(
            listeners: [.ip(.loopbackV4, port: 0), .ip(IPAddress("::1")!, port: 0), .unix(path: unixListener)],
            upstream: echo.endpoint,
            directory: directory,
            recording: { RecorderConfiguration(output: .file(path: $0)) }
        )
        let endpoints = harness.endpoints
        #expect(endpoints.count == 3)

        var sent: [Int: [UInt8]] = [:]
        for (index, endpoint) in endpoints.enumerated() {
            let payload = randomBytes(150_000 + index * 1000, seed: UInt64(index + 1))
            let (received, _) = try await BlockingClient.duplexExchange(endpoint, send: payload)
            #expect(received.count == payload.count, "through \(endpoint)")
            #expect(received == payload, "through \(endpoint)")
            sent[payload.count] = payload
        }
        try await harness.stop()
        await echo.stop()

        let sessions = try Recorded.sessions([harness.recordingPath])
        #expect(sessions.count == 3)
        for session in sessions {
            let payload = try #require(sent[session.clientToServer.count])
            #expect(session.clientToServer == payload)
            #expect(session.serverToClient == payload)
            #expect(session.end == .fin)
            #expect(session.server == echo.endpoint)
        }
        #expect(sessions.contains { $0.client == .unix(path: unixListener) })
        let manifest = try #require(try Manifest.load(forRecording: harness.recordingPath))
        #expect(manifest.sessions.count == 3)
        #expect(manifest.sessions.allSatisfy { $0.end == .fin && $0.clientToServer.xxh3 != nil && $0.clientToServer.xxh3 == $0.serverToClient.xxh3 })
        // tshark: valid checksums, no malformed frames, no analysis flags.
        #expect(try TShark.problems(harness.recordingPath) == [])
        let streams = try TShark.followEveryStream(harness.recordingPath)
        #expect(streams.count == 3)
        for stream in streams {
            #expect(stream.sent[0] == stream.sent[1])
            #expect(sent[stream.sent[0].count] == stream.sent[0])
        }
    }
}
