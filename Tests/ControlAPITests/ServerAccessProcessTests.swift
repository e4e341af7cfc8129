import Foundation
import SampleServer
import Recording
import TapedeckTestSupport
import Testing

@Suite("tapedeck server with a token and an idle timeout, run as a user would", .serialized)
struct ServerAccessProcessTests {
    @Test func tokenIsRequiredAndSentByCtlAndToxiproxyPythonAndIdleConnectionsClose() async throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tokenFile = directory.file("token")
        try Data("s3cret\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let server = try RunningServer(["--api-token-file", tokenFile, "--api-idle-timeout", "1", "--recordings-dir", directory.file("rec")])
        let host = "http://127.0.0.1:\(server.port)"
        let without = try await BlockingSocket.onThread { try ChildProcess.run(tapedeck, ["ctl", "--host", host, "list"], timeoutSeconds: 30) }
        #expect(without.status == 2)
        #expect(without.errorLines.count == 1 && without.errorLines.first?.contains("401: missing or wrong API token") == true, "\(without.standardError)")
        let with = try await BlockingSocket.onThread { try ChildProcess.run(tapedeck, ["ctl", "--host", host, "--api-token-file", tokenFile, "list"], timeoutSeconds: 30) }
        #expect(with.status == 0, "\(with.standardError)")

        // toxiproxy-python cannot add headers; requests sends a ~/.netrc password as Basic auth.
        let python = try await PythonClientEnvironment.prepared()
        let script = try #require(Bundle.module.path(forResource: "toxiproxy_client_check", ofType: "py", inDirectory: "Python"))
        let netrc = directory.file("netrc")
        try Data("machine 127.0.0.1 login tapedeck password s3cret\n".utf8).write(to: URL(fileURLWithPath: netrc))
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let port = server.port
        let result = try await BlockingSocket.onThread {
            try ChildProcess.run("/usr/bin/env", ["NETRC=\(netrc)", python, script, String(port), echo.endpoint.description], timeoutSeconds: 120)
        }
        #expect(result.status == 0, "\(String(decoding: result.standardOutput, as: UTF8.self))\n\(result.standardError)")

        // A connection that never finishes its request head is closed after the idle timeout.
        let socket = try await BlockingSocket.onThread { try BlockingSocket(connectingTo: .ip(.loopbackV4, port: UInt16(port))) }
        try socket.send(Array("GET /version HTTP/1.1\r\nHo".utf8))
        let started = ContinuousClock.now
        let rest = try await BlockingSocket.onThread { try socket.readToEnd() }
        #expect(rest.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try server.stop() == 0)
    }
}
