import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tls` settings on a proxy made through the API: curl speaks TLS to the
/// proxy and the proxy to a real HTTPS server; a proxy without them is a
/// Toxiproxy proxy as before; a file that is not a certificate is a 400.
@Suite(.serialized) struct TLSRouteTests {
    @Test func aProxyWithTLSSettingsEndsAndBeginsTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ours = try TestCertificates(in: directory, name: "proxy")
        let theirs = try TestCertificates(in: directory, name: "upstream")
        let root = directory.file("site")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "through the API\n".write(toFile: root + "/a.txt", atomically: true, encoding: .utf8)
        let (upstream, port) = try HTTPSServer.start(root: root, certificateFile: theirs.certificateFile, keyFile: theirs.keyFile)
        defer {
            upstream.signal(SIGKILL)
            _ = try? upstream.waitForExit()
        }
        let missing = directory.file("nothing.pem")
        try await RouteHarness.with { _, client in
            let tls = #"{"cert":"\#(ours.certificateFile)","key":"\#(ours.keyFile)","upstream_tls":true,"upstream_ca":"\#(theirs.caFile)"}"#
            let created = try await client.call(.post, "/proxies", #"{"name":"web","upstream":"127.0.0.1:\#(port)","tls":\#(tls)}"#)
            #expect(created.status == .created, "\(created.body)")
            let shown = try #require(created.object["tls"] as? [String: Any])
            #expect(shown["upstream_tls"] as? Bool == true)
            let listen = try Endpoint(parsing: try #require(created.object["listen"] as? String))

            let fetched = try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", ours.caFile, "https://localhost:\(listen.port ?? 0)/a.txt"])
            #expect(String(decoding: fetched.standardOutput, as: UTF8.self) == "through the API\n", "\(fetched.standardError)")
            let plain = try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(listen.port ?? 0)/a.txt"])
            #expect(plain.status != 0)

            let metrics = try await client.call(.get, "/metrics").body
            #expect(metrics.contains(#"tapedeck_proxy_tls_failures_total{proxy="web"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"tapedeck_proxy_sessions_total{proxy="web"} 1"#))

            // A plain proxy shows no tls at all (what Toxiproxy clients read).
            let plainProxy = try await client.call(.post, "/proxies", #"{"name":"plain","upstream":"127.0.0.1:\#(port)"}"#)
            #expect(plainProxy.object["tls"] == nil)

            let bad = try await client.call(.post, "/proxies", #"{"name":"bad","upstream":"127.0.0.1:\#(port)","tls":{"cert":"\#(missing)","key":"\#(ours.keyFile)"}}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.body.contains("does not exist"), "\(bad.body)")
        }
    }
}
