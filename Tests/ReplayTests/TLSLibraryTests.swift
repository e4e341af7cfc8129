import Faults
import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTLS
import TapedeckTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The test library over TLS, as a user's suite would use it: a throw-away
/// CA, a `FaultProxy` ending curl's TLS and speaking TLS to a real HTTPS
/// server, faults acting on the plaintext, and a `MockServer` answering
/// the recording over TLS.
@Suite(.serialized) struct TLSLibraryTests {
    static let body = String(repeating: "0123456789", count: 100) + "\n"

    static func curl(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10"] + arguments, timeoutSeconds: 20)
    }

    @Test func faultProxyOverTLSRecordsAndLimitsPlaintextAndMockServerAnswersOverTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstreamCertificates = try TestCertificates(in: directory, name: "upstream")
        let root = directory.file("site")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Self.body.write(toFile: root + "/body.txt", atomically: true, encoding: .utf8)
        let (upstream, port) = try HTTPSServer.start(root: root, certificateFile: upstreamCertificates.certificateFile, keyFile: upstreamCertificates.keyFile)
        defer {
            upstream.signal(SIGKILL)
            _ = try? upstream.waitForExit()
        }
        let ca = try TestCertificateAuthority()
        let caFile = directory.file("test-ca.pem")
        try ca.writeCertificate(to: caFile)
        let trustUpstream = TLSOrigination(trustedCertificates: try TLSOrigination.certificates(inFile: upstreamCertificates.caFile))
        let recording = directory.file("tls.pcap")
        let proxy = try await FaultProxy.start(
            upstream: .ip(.loopbackV4, port: port),
            recordTo: recording,
            tls: try ca.proxying(upstream: trustUpstream)
        )
        let url = "https://localhost:\(proxy.endpoint.port ?? 0)/body.txt"
        let fetched = try Self.curl(["--cacert", caFile, url])
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == Self.body, "\(fetched.standardError)")

        // limit_data counts plaintext: the client gets exactly 100 bytes of
        // the HTTP answer, inside TLS, then the connection ends.
        try await proxy.setFaults([Fault(.limitData(bytes: 100), stream: .downstream)])
        let limited = try Self.curl(["--cacert", caFile, "-D", "-", url])
        let received = limited.standardOutput
        #expect(received.count <= 100 && received.count > 0, "got \(received.count) bytes: \(limited.standardError)")
        #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        await proxy.stop()
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        #expect(manifest.sessions.count == 2)
        // The recording holds what the upstream sent (the whole answer, in
        // plaintext), and says the fault cut it short.
        #expect((manifest.sessions.last?.serverToClient.bytes ?? 0) > 1000)
        #expect(manifest.sessions.last?.faults?.first?.type == "limit_data")
        #expect(manifest.sessions.allSatisfy { $0.tls?.client?.sni == "localhost" })

        // The first session, served over TLS by a MockServer with the same CA.
        let server = try await MockServer.start(recording: recording, tls: try ca.serving())
        let served = try Self.curl(["--cacert", caFile, "https://localhost:\(server.endpoint.port ?? 0)/body.txt"])
        #expect(String(decoding: served.standardOutput, as: UTF8.self) == Self.body, "\(served.standardError)")
        let report = await server.stop()
        #expect(report.match?.unmatchedCount == 0)
    }
}
