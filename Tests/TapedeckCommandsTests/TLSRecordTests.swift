import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tapedeck record` ending a real client's TLS with a certificate from
/// `tapedeck ca`, and speaking TLS again to a real HTTPS server: curl gets
/// the server's body, and the recording holds HTTP that tshark decodes, not
/// TLS records, with the session's TLS terms in the manifest.
@Suite(.serialized) struct TLSRecordTests {
    /// A CA made and exported with the CLI, an HTTPS upstream with a
    /// certificate from another CA, and a folder with one file to fetch.
    struct Setup {
        let directory: TemporaryDirectory
        let caDirectory: String
        let exportedCA: String
        let upstreamCertificates: TestCertificates
        let upstream: BackgroundProcess
        let upstreamPort: UInt16
        static let body = "hello from behind TLS\n"

        init() throws {
            directory = try TemporaryDirectory()
            caDirectory = directory.file("ca")
            let made = try TapedeckBinary.run(["ca", "init", caDirectory])
            guard made.status == 0 else { throw ChildProcess.Failure(description: "ca init: \(made.standardError)") }
            let exported = try TapedeckBinary.run(["ca", "export", caDirectory])
            guard exported.status == 0 else { throw ChildProcess.Failure(description: "ca export: \(exported.standardError)") }
            exportedCA = directory.file("tapedeck-ca.pem")
            try exported.standardOutput.write(to: URL(fileURLWithPath: exportedCA))
            upstreamCertificates = try TestCertificates(in: directory, name: "upstream")
            let root = directory.file("site")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Self.body.write(toFile: root + "/hello.txt", atomically: true, encoding: .utf8)
            (upstream, upstreamPort) = try HTTPSServer.start(
                root: root, certificateFile: upstreamCertificates.certificateFile, keyFile: upstreamCertificates.keyFile
            )
        }

        func stop() {
            upstream.signal(SIGKILL)
            _ = try? upstream.waitForExit()
            directory.remove()
        }

        /// `tapedeck record` from a TLS listener to the HTTPS upstream.
        func record(to recording: String, _ extra: [String] = []) throws -> (process: BackgroundProcess, port: UInt16) {
            let (process, listen) = try TapedeckProcess.proxy([
                "record", "--listen", "127.0.0.1:0", "--tls-ca", caDirectory,
                "--upstream", "127.0.0.1:\(upstreamPort)", "--upstream-tls", "--upstream-ca", upstreamCertificates.caFile,
                "-w", recording, "--quiet",
            ] + extra)
            return (process, listen.port ?? 0)
        }
    }

    static func curl(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10"] + arguments, timeoutSeconds: 20)
    }

    @Test func curlThroughRecordGetsTheBodyAndTheRecordingHoldsHTTP() async throws {
        let setup = try Setup()
        defer { setup.stop() }
        let recording = setup.directory.file("https.pcap")
        let (proxy, port) = try setup.record(to: recording)

        let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(port)/hello.txt"])
        #expect(fetched.status == 0, "curl: \(fetched.standardError)")
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == Setup.body)
        proxy.stop()

        // tshark reads HTTP in the recording, and no TLS at all.
        let http = try TShark.run(["-r", recording, "-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code"])
        let lines = http.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines == ["/hello.txt", "200"])
        #expect(try TShark.run(["-r", recording, "-Y", "tls"]).isEmpty)

        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        let tls = try #require(manifest.sessions.first?.tls)
        #expect(tls.error == nil)
        #expect(tls.client?.version == "TLSv1.3")
        #expect(tls.client?.sni == "localhost")
        #expect(tls.client?.cipher?.hasPrefix("TLS_") == true)
        #expect(tls.client?.alpn == "http/1.1", "curl offers h2 and http/1.1; the upstream chose http/1.1, and so did the proxy")
        #expect(tls.upstream?.version == "TLSv1.3")
        #expect(tls.upstream?.alpn == "http/1.1")
        #expect(tls.upstream?.peerCertificates?.first?.contains("CN=localhost") == true)
    }

    @Test func replayServeOverTLSGivesCurlTheSameBodyAndDriveTLSPlaysItToTheServer() async throws {
        let setup = try Setup()
        defer { setup.stop() }
        let recording = setup.directory.file("https.pcap")
        let (proxy, port) = try setup.record(to: recording)
        let recorded = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(port)/hello.txt"])
        #expect(recorded.status == 0, "curl: \(recorded.standardError)")
        proxy.stop()

        // The mock server speaks TLS with a certificate from the same CA.
        let (server, listen) = try TapedeckProcess.proxy(["replay", "serve", recording, "--listen", "127.0.0.1:0", "--tls-ca", setup.caDirectory])
        defer { server.stop() }
        let served = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(listen.port ?? 0)/hello.txt"])
        #expect(served.status == 0, "curl: \(served.standardError)")
        #expect(String(decoding: served.standardOutput, as: UTF8.self) == Setup.body)
        // A client that does not trust the CA is refused by its own TLS.
        let untrusted = try Self.curl(["https://localhost:\(listen.port ?? 0)/hello.txt"])
        #expect(untrusted.status == 60, "curl: \(untrusted.standardError)")

        // drive --tls plays the recorded request to the real HTTPS server.
        let driven = try TapedeckBinary.run([
            "replay", "drive", recording, "--target", "localhost:\(setup.upstreamPort)",
            "--tls", "--tls-ca", setup.upstreamCertificates.caFile, "--quiet",
        ])
        let summary = String(decoding: driven.standardOutput, as: UTF8.self)
        #expect(driven.status == 0, "drive: \(driven.standardError)")
        #expect(summary.contains("sessions 1 ·") && summary.contains("failed 0 · connect failures 0"), "\(summary)")
        // Without trusting the server's CA, the handshake fails.
        let refused = try TapedeckBinary.run(["replay", "drive", recording, "--target", "localhost:\(setup.upstreamPort)", "--tls", "--quiet"])
        #expect(refused.standardError.contains("TLS with the target failed: certificate verify failed"), "\(refused.standardError)")
        #expect(String(decoding: refused.standardOutput, as: UTF8.self).contains("received 0 B"))
    }

    @Test func keylogLetsTsharkDecryptACaptureOfTheClientSide() async throws {
        let setup = try Setup()
        defer { setup.stop() }
        let keys = setup.directory.file("keys.log")
        let (proxy, port) = try setup.record(to: setup.directory.file("keylog.pcap"), ["--keylog", keys])
        let capture = setup.directory.file("wire.pcap")
        let tcpdump = try BackgroundProcess("/usr/bin/tcpdump", ["-i", "lo", "-B", "65536", "-Z", "root", "--immediate-mode", "-U", "-w", capture, "tcp port \(port)"])
        _ = try tcpdump.waitForLine(containing: "listening on")
        let fetched = try Self.curl(["--cacert", setup.exportedCA, "https://localhost:\(port)/hello.txt"])
        #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == Setup.body)
        proxy.stop()
        // --immediate-mode and -U wrote each packet as it came; the test
        // runner's children may not see SIGTERM, so it is killed outright.
        usleep(500_000)
        tcpdump.signal(SIGKILL)
        _ = try? tcpdump.waitForExit()

        #expect(try TShark.streamCount(capture) == 1, "tcpdump captured the client's connection")
        let decode = ["-r", capture, "-d", "tcp.port==\(port),tls", "-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code"]
        #expect(try TShark.run(decode).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "without the key log the wire is opaque")
        let decrypted = try TShark.run(["-o", "tls.keylog_file:\(keys)"] + decode)
        #expect(decrypted.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["/hello.txt", "200"])
        // Both legs' secrets are there: the client's session and the upstream's.
        let lines = try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("CLIENT_TRAFFIC_SECRET_0 ") }.count == 2)
    }
}
