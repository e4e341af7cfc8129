import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TLS gone wrong, as users get it wrong: an upstream whose certificate is
/// not trusted, a plaintext client on a TLS listener, certificate and key
/// files that are not what they should be. The proxy says why, counts it,
/// records the reason and keeps serving; bad files stop it at start with one line.
@Suite(.serialized) struct TLSBadInputTests {
    static func curl(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10"] + arguments, timeoutSeconds: 20)
    }

    @Test func anUntrustedUpstreamIsRefusedWithAClearLineAndTheProxyKeepsServing() async throws {
        let setup = try TLSRecordTests.Setup()
        defer { setup.stop() }
        let recording = setup.directory.file("refused.pcap")
        // No --upstream-ca: the upstream's certificate is from a CA no one trusts.
        let (proxy, listen) = try TapedeckProcess.proxy([
            "record", "--listen", "127.0.0.1:0", "--tls-ca", setup.caDirectory,
            "--upstream", "127.0.0.1:\(setup.upstreamPort)", "--upstream-tls", "-w", recording, "--quiet",
        ])
        let url = "https://localhost:\(listen.port ?? 0)/hello.txt"
        // With ALPN (the upstream's handshake comes first) and without (both at once).
        for alpn in [[], ["--no-alpn"]] {
            let refused = try Self.curl(alpn + ["--cacert", setup.exportedCA, url])
            #expect(refused.status != 0, "curl must not get a body: \(String(decoding: refused.standardOutput, as: UTF8.self))")
        }
        let line = try proxy.waitForLine(containing: "TLS handshake with the upstream failed")
        #expect(line.contains("certificate verify failed"), "\(line)")
        proxy.stop()
        let stopped = proxy.outputLines.first { $0.contains("stopped") } ?? ""
        #expect(stopped.contains("tls.failures=2"), "\(stopped)")
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        #expect(manifest.sessions.count == 2)
        #expect(manifest.sessions.allSatisfy { $0.tls?.error?.hasPrefix("upstream: certificate verify failed") == true && $0.clientToServer.bytes == 0 })

        // --upstream-insecure accepts it.
        let (insecure, insecureListen) = try TapedeckProcess.proxy([
            "proxy", "--listen", "127.0.0.1:0", "--tls-ca", setup.caDirectory,
            "--upstream", "127.0.0.1:\(setup.upstreamPort)", "--upstream-tls", "--upstream-insecure", "--quiet",
        ])
        defer { insecure.stop() }
        let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(insecureListen.port ?? 0)/hello.txt"])
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == TLSRecordTests.Setup.body)
    }

    @Test func aPlaintextClientOnATLSListenerIsClosedAndCounted() async throws {
        let setup = try TLSRecordTests.Setup()
        defer { setup.stop() }
        let (proxy, port) = try setup.record(to: setup.directory.file("mixed.pcap"))
        let plain = try Self.curl(["http://127.0.0.1:\(port)/hello.txt"])
        #expect(plain.status == 52 || plain.status == 56, "curl: \(plain.standardError)")
        let line = try proxy.waitForLine(containing: "TLS handshake with the client failed")
        #expect(line.contains("not a TLS client"), "\(line)")
        // The next client, speaking TLS, is served.
        let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(port)/hello.txt"])
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == TLSRecordTests.Setup.body)
        proxy.stop()
        let stopped = proxy.outputLines.first { $0.contains("stopped") } ?? ""
        #expect(stopped.contains("tls.failures=1") && stopped.contains("sessions.total=1"), "\(stopped)")
    }

    /// A client that does not trust Tapedeck's CA is told apart in the log,
    /// under TLS 1.2 (an alert) and 1.3 (where curl's alert cannot be read).
    @Test(arguments: ["1.2", "1.3"])
    func aClientThatDoesNotTrustTheCAIsSaidToNeedIt(version: String) async throws {
        let setup = try TLSRecordTests.Setup()
        defer { setup.stop() }
        let (proxy, port) = try setup.record(to: setup.directory.file("untrusted.pcap"))
        let refused = try Self.curl(["--tls-max", version, "https://localhost:\(port)/hello.txt"])
        #expect(refused.status == 60, "curl: \(refused.standardError)")
        let line = try proxy.waitForLine(containing: "TLS handshake with the client failed")
        #expect(line.contains("does not trust our certificate: give it the CA"), "\(line)")
        proxy.stop()
    }

    @Test func garbageCertificatesAndKeysAreOneLineAtStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory)
        let other = try TestCertificates(in: directory, name: "other")
        let garbage = directory.file("garbage.pem")
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--tls-cert", garbage, "--tls-key", certificates.keyFile], "\(garbage) is not a PEM certificate"),
            (["--tls-cert", certificates.certificateFile, "--tls-key", garbage], "\(garbage) is not a PEM private key"),
            (["--tls-cert", certificates.certificateFile, "--tls-key", other.keyFile], "\(other.keyFile) is not the private key of \(certificates.certificateFile)"),
            (["--tls-cert", directory.file("missing.pem"), "--tls-key", certificates.keyFile], "certificate \(directory.file("missing.pem")) does not exist"),
            (["--tls-ca", directory.path], "CA certificate \(directory.file("ca.pem")) does not exist; make one with `tapedeck ca init \(directory.path)`"),
            (["--upstream-tls", "--upstream-ca", garbage], "\(garbage) holds no PEM certificate"),
            (["--tls-cert", certificates.certificateFile], "--tls-cert and --tls-key go together"),
            (["--postgres-tls"], "--postgres-tls needs a certificate"),
        ]
        for (arguments, message) in cases {
            let result = try TapedeckBinary.run(["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--quiet"] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.errorLines.count == 1 || result.standardError.contains("Usage"), "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
        // ca init refuses to replace a CA.
        #expect(try TapedeckBinary.run(["ca", "init", directory.file("ca")]).status == 0)
        let again = try TapedeckBinary.run(["ca", "init", directory.file("ca")])
        #expect(again.status == 2 && again.standardError.contains("already holds a CA"), "\(again.standardError)")
    }

    /// `--keylog` naming a stream: a FIFO whose reader takes one line and
    /// leaves, and standard error. Each is written as it is (it used to
    /// crash the proxy at start); a reader that left costs the key log,
    /// never the proxy or its clients.
    @Test func aKeyLogThatIsAStreamIsWrittenAndAReaderThatLeavesCostsNothingElse() async throws {
        let setup = try TLSRecordTests.Setup()
        defer { setup.stop() }
        let fifo = setup.directory.file("keys.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try BackgroundProcess("/usr/bin/head", ["-n", "1", fifo])
        let (proxy, port) = try setup.record(to: setup.directory.file("fifo.pcap"), ["--keylog", fifo])
        for _ in 0..<3 {
            let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(port)/hello.txt"])
            #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == TLSRecordTests.Setup.body, "\(fetched.standardError)")
        }
        #expect(try reader.waitForExit() == 0)
        #expect(reader.outputLines.count == 1 && reader.outputLines[0].split(separator: " ").count == 3, "\(reader.outputLines)")
        #expect(proxy.process.isRunning)
        proxy.stop()

        // Standard error: the secrets come out among the log lines.
        let (logged, loggedPort) = try setup.record(to: setup.directory.file("stderr.pcap"), ["--keylog", "/dev/stderr"])
        let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(loggedPort)/hello.txt"])
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == TLSRecordTests.Setup.body, "\(fetched.standardError)")
        _ = try logged.waitForLine(containing: "CLIENT_TRAFFIC_SECRET_0 ")
        logged.stop()
        #expect(logged.outputLines.filter { $0.hasPrefix("CLIENT_TRAFFIC_SECRET_0 ") }.count == 2, "\(logged.outputLines)")
    }
}
