import Foundation
import SampleServer
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Recording
import TapedeckTestSupport
import Testing

@Suite("tapedeck server and tapedeck ctl, run as a user would", .serialized)
struct ServerProcessTests {
    /// The real `toxiproxy-python` client, unmodified, drives the server;
    /// the script checks each effect in the traffic through the proxy.
    @Test func toxiproxyPythonClientDrivesTheServer() async throws {
        let python = try await PythonClientEnvironment.prepared()
        let script = try #require(Bundle.module.path(forResource: "toxiproxy_client_check", ofType: "py", inDirectory: "Python"))
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let server = try RunningServer()
        let port = server.port
        let result = try await BlockingSocket.onThread {
            try ChildProcess.run(python, [script, String(port), echo.endpoint.description], timeoutSeconds: 120)
        }
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(result.status == 0, "toxiproxy-python check failed:\n\(output)\n\(result.standardError)\nserver:\n\(server.process.outputLines.joined(separator: "\n"))")
        #expect(output.contains("\nOK"))
        #expect(try server.stop() == 0)
    }

    @Test func ctlManagesProxiesAndToxics() async throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let server = try RunningServer()
        let host = ["--host", "http://127.0.0.1:\(server.port)"]
        func ctl(_ arguments: [String]) async throws -> ChildProcess.Result {
            try await BlockingSocket.onThread { try ChildProcess.run(tapedeck, ["ctl"] + arguments, timeoutSeconds: 30) }
        }
        let created = try await ctl(["create"] + host + ["--listen", "127.0.0.1:0", "--upstream", echo.endpoint.description, "echo"])
        #expect(created.status == 0, "\(created.standardError)")
        let proxy = try #require(try JSONSerialization.jsonObject(with: created.standardOutput) as? [String: Any])
        let listen = try Endpoint(parsing: try #require(proxy["listen"] as? String))

        let added = try await ctl(["toxic", "add"] + host + ["--type", "latency", "--attribute", "latency=100", "echo"])
        #expect(added.status == 0, "\(added.standardError)")
        #expect(try await timedEcho(listen, [1, 2, 3]) >= .milliseconds(100))
        let updated = try await ctl(["toxic", "update"] + host + ["--toxic-name", "latency_downstream", "--toxicity", "0.5", "echo"])
        #expect(updated.status == 0, "\(updated.standardError)")
        #expect(String(decoding: updated.standardOutput, as: UTF8.self).contains("0.5"))

        let list = try await ctl(["list"] + host)
        #expect(String(decoding: list.standardOutput, as: UTF8.self).contains("echo\t\(listen)\t\(echo.endpoint)\ttrue\t1"))
        let hostFirst = try await ctl(host + ["list"])
        #expect(hostFirst.status == 0, "\(hostFirst.standardError)")
        #expect(hostFirst.standardOutput == list.standardOutput)
        let inspected = try await ctl(["inspect"] + host + ["echo"])
        #expect(String(decoding: inspected.standardOutput, as: UTF8.self).contains("latency_downstream"))
        #expect(try await ctl(["toxic", "remove"] + host + ["--toxic-name", "latency_downstream", "echo"]).status == 0)

        #expect(try await ctl(["toggle"] + host + ["echo"]).status == 0)
        #expect(throws: BlockingClient.Failure.self) { close(try BlockingClient.connect(listen, timeout: .seconds(2))) }
        #expect(try await ctl(["toggle"] + host + ["echo"]).status == 0)
        #expect(try await BlockingClient.exchange(listen, send: [4], halfClose: true) == [4])

        #expect(try await ctl(["delete"] + host + ["echo"]).status == 0)
        let missing = try await ctl(["inspect"] + host + ["echo"])
        #expect(missing.status == 2)
        #expect(missing.errorLines.count == 1 && missing.errorLines.first?.contains("proxy not found") == true, "\(missing.standardError)")
        #expect(try server.stop() == 0)
    }

    @Test func ctlRecordsAProxyAndListsItsSessions() async throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let server = try RunningServer()
        let host = ["--host", "http://127.0.0.1:\(server.port)"]
        func ctl(_ arguments: [String]) async throws -> ChildProcess.Result {
            try await BlockingSocket.onThread { try ChildProcess.run(tapedeck, ["ctl"] + arguments, timeoutSeconds: 30) }
        }
        func json(_ result: ChildProcess.Result) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: result.standardOutput)) as? [String: Any] ?? [:]
        }
        func waitForNoSessions() async throws {
            for _ in 0..<500 {
                let listed = try await ctl(["sessions", "--json"] + host + ["echo"])
                if (try? JSONSerialization.jsonObject(with: listed.standardOutput) as? [Any])?.isEmpty == true { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw ChildProcess.Failure(description: "echo still has live sessions")
        }
        let created = try await ctl(["create"] + host + ["--upstream", echo.endpoint.description, "echo"])
        let listen = try Endpoint(parsing: try #require(json(created)["listen"] as? String))

        let path = directory.file("ctl.pcap")
        let started = try await ctl(["record", "start"] + host + ["--path", path, "echo"])
        #expect(started.status == 0, "\(started.standardError)")
        #expect(json(started)["recording"] as? Bool == true)
        #expect(json(started)["path"] as? String == path)
        let twice = try await ctl(["record", "start"] + host + ["--path", path, "echo"])
        #expect(twice.status == 2)
        #expect(twice.errorLines.count == 1 && twice.errorLines.first?.contains("409: proxy is already recording") == true, "\(twice.standardError)")

        let socket = try await BlockingSocket.onThread { try BlockingSocket(connectingTo: listen) }
        let live = Array("live".utf8)
        #expect(try await BlockingSocket.onThread { try socket.send(live); return try socket.read(exactly: live.count) } == live)
        let sessions = try await ctl(["sessions"] + host + ["echo"])
        let table = String(decoding: sessions.standardOutput, as: UTF8.self)
        #expect(table.hasPrefix("ID\tCLIENT\tUPSTREAM\tOPENED\tC→S\tS→C\tRECORDING\n"))
        #expect(table.contains("\t127.0.0.1:\(socket.localPort ?? 0)\t\(echo.endpoint)\t"), "\(table)")
        #expect(table.contains("\t4\t4\ttrue\n"), "\(table)")
        let rest = try await BlockingSocket.onThread { socket.shutdownWrite(); return try socket.readToEnd() }
        #expect(rest.isEmpty)
        #expect(try await BlockingClient.exchange(listen, send: Array("second".utf8), halfClose: true) == Array("second".utf8))
        try await waitForNoSessions()

        let status = try await ctl(["record", "status"] + host + ["echo"])
        #expect(json(status)["sessions"] as? Int == 2)
        let stopped = try await ctl(["record", "stop"] + host + ["echo"])
        #expect(stopped.status == 0, "\(stopped.standardError)")
        #expect(json(stopped)["sessions"] as? Int == 2)
        #expect(json(stopped)["path"] as? String == path)
        #expect(json(stopped)["bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        let again = try await ctl(["record", "stop"] + host + ["echo"])
        #expect(again.status == 2)
        #expect(again.errorLines.first?.contains("proxy is not recording") == true, "\(again.standardError)")
        let recorded = try ReadBack.sessions([path])
        #expect(recorded.map(\.clientToServer) == [live, Array("second".utf8)])
        #expect(recorded.map(\.serverToClient) == [live, Array("second".utf8)])
        #expect(try TShark.streamCount(path) == 2)
        #expect(try TShark.problems(path).isEmpty)

        // A recording still running when the server stops is closed cleanly.
        let last = directory.file("at-shutdown.pcap")
        #expect(try await ctl(["record", "start"] + host + ["-w", last, "echo"]).status == 0)
        #expect(try await BlockingClient.exchange(listen, send: [1, 2, 3], halfClose: true) == [1, 2, 3])
        try await waitForNoSessions()
        #expect(try server.stop() == 0)
        #expect(try ReadBack.sessions([last]).map(\.clientToServer) == [[1, 2, 3]])
        #expect(try Manifest.load(forRecording: last)?.sessions.count == 1)
    }

    @Test func configFileMayHoldToxics() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let config = directory.file("proxies.json")
        try Data("""
            [{"name": "slow", "listen": "127.0.0.1:0", "upstream": "\(echo.endpoint)",
              "toxics": [{"type": "latency", "attributes": {"latency": 100}}]}]
            """.utf8).write(to: URL(fileURLWithPath: config))
        let server = try RunningServer(["--config", config])
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/proxies/slow")!)
        let proxy = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((proxy["toxics"] as? [[String: Any]])?.first?["name"] as? String == "latency_downstream")
        let listen = try Endpoint(parsing: try #require(proxy["listen"] as? String))
        #expect(try await timedEcho(listen, [1]) >= .milliseconds(100))
        #expect(try server.stop() == 0)
    }

    @Test func bindFailureIsOneLineAndExitTwo() async throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let result = try await BlockingSocket.onThread {
            try ChildProcess.run(tapedeck, ["server", "--api", echo.endpoint.description], timeoutSeconds: 30)
        }
        #expect(result.status == 2)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.contains("cannot serve the API on \(echo.endpoint)") == true, "\(result.standardError)")
    }
}

/// `tapedeck server --api 127.0.0.1:0` in the background, its port read from its log.
final class RunningServer {
    let process: BackgroundProcess
    let port: Int

    init(_ arguments: [String] = []) throws {
        let tapedeck = try TapedeckExecutable.located.get()
        process = try BackgroundProcess(tapedeck, ["server", "--api", "127.0.0.1:0", "--seed", "1"] + arguments)
        let line = try process.waitForLine(containing: "api listening")
        guard let range = line.range(of: #"api\.address=127\.0\.0\.1:\d+"#, options: .regularExpression),
              let port = Int(line[range].split(separator: ":").last ?? "")
        else {
            throw ChildProcess.Failure(description: "no port in '\(line)'")
        }
        self.port = port
    }

    /// SIGTERM, then the exit status.
    func stop() throws -> Int32 {
        process.signal(SIGTERM)
        return try process.waitForExit(timeout: .seconds(10))
    }

    deinit {
        if process.process.isRunning { process.signal(SIGKILL) }
    }
}

/// A virtualenv with `toxiproxy-python` from PyPI, made once and kept in the
/// user's cache directory (or `$TAPEDECK_PYTHON_VENV`). Any failure to make it
/// fails the test with the reason; nothing is skipped.
enum PythonClientEnvironment {
    static func prepared() async throws -> String {
        try await BlockingSocket.onThread { try prepare() }
    }

    private static func prepare() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        let directory = environment["TAPEDECK_PYTHON_VENV"] ?? cache + "/tapedeck/toxiproxy-python-venv"
        let python = directory + "/bin/python"
        if FileManager.default.isExecutableFile(atPath: python),
           (try? ChildProcess.run(python, ["-c", "import toxiproxy"]))?.status == 0 {
            return python
        }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let venv = try ChildProcess.run("/usr/bin/env", ["python3", "-m", "venv", directory], timeoutSeconds: 120)
        guard venv.status == 0 else {
            throw ChildProcess.Failure(description: "python3 -m venv \(directory) failed (install python3-venv): \(venv.standardError)")
        }
        let pip = try ChildProcess.run(directory + "/bin/pip", ["install", "--disable-pip-version-check", "--quiet", "toxiproxy-python"], timeoutSeconds: 300)
        guard pip.status == 0 else {
            throw ChildProcess.Failure(description: "pip install toxiproxy-python into \(directory) failed: \(pip.standardError)")
        }
        return python
    }
}
