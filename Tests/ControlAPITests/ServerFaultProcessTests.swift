import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

@Suite("Faults through tapedeck server and tapedeck ctl, recorded", .serialized)
struct ServerFaultProcessTests {
    /// The same resets as `tapedeck record --reset-after` makes, added as
    /// Toxiproxy toxics with `tapedeck ctl` to a proxy the server records:
    /// what the clients saw, the manifest, tshark's RSTs and the fired
    /// counter in `/metrics` agree.
    @Test func resetToxicsAreSeenRecordedListedAndCountedOnce() async throws {
        let tapedeck = try TapedeckExecutable.located.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        guard case .ip(_, let upstreamPort) = echo.endpoint else { throw ChildProcess.Failure(description: "echo is not on TCP") }
        let server = try RunningServer(["--recordings-dir", directory.path, "--seed", "7"])
        let host = ["--host", "http://127.0.0.1:\(server.port)"]
        func ctl(_ arguments: [String]) async throws -> ChildProcess.Result {
            let result = try await BlockingSocket.onThread { try ChildProcess.run(tapedeck, ["ctl"] + arguments, timeoutSeconds: 30) }
            #expect(result.status == 0, "ctl \(arguments.joined(separator: " ")): \(result.standardError)")
            return result
        }
        let created = try await ctl(["create"] + host + ["--listen", "127.0.0.1:0", "--upstream", echo.endpoint.description, "echo"])
        let proxy = try #require(try JSONSerialization.jsonObject(with: created.standardOutput) as? [String: Any])
        let listen = try Endpoint(parsing: try #require(proxy["listen"] as? String))
        _ = try await ctl(["record", "start"] + host + ["--path", "faults.pcap", "echo"])
        for stream in ["--upstream", "--downstream"] {
            _ = try await ctl(["toxic", "add"] + host + ["--type", "reset_peer", stream, "--toxicity", "0.3", "--attribute", "timeout=1000", "echo"])
        }
        let predicted = try ResetAccount.predicted(seed: 7, toxicity: 0.3, connections: 8)

        let clients = try await HeldClients.run(listen, count: 8, hold: .seconds(2))
        for _ in 0..<500 {
            let listed = try await ctl(["sessions", "--json"] + host + ["echo"])
            if (try? JSONSerialization.jsonObject(with: listed.standardOutput) as? [Any])?.isEmpty == true { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/metrics")!)
        let fired = String(decoding: metrics, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(#"tapedeck_proxy_faults_fired_total{proxy="echo"}"#) }
        _ = try await ctl(["record", "stop"] + host + ["echo"])
        #expect(try server.stop() == 0)

        let resetPorts = Set(clients.filter { $0.outcome == .reset }.map(\.port))
        #expect(resetPorts.count == predicted, "\(clients.map { "\($0.port) \($0.outcome)" })")
        #expect(clients.filter { $0.outcome != .reset }.allSatisfy { $0.outcome == .held && $0.received == $0.sent })
        let account = try ResetAccount(recording: directory.file("faults.pcap"), upstreamPort: upstreamPort)
        #expect(account.markedReset == resetPorts)
        #expect(account.touched == resetPorts)
        #expect(account.listed.count == predicted, "\(account.listed)")
        #expect(account.untouchedEnds == Array(repeating: .fin, count: 8 - predicted))
        #expect(account.resetCount == 2 * predicted)
        #expect(account.eachWayOnce(resetPorts), "\(account.resets)")
        #expect(fired?.split(separator: " ").last == "\(predicted)", "\(fired ?? "no faults_fired line")")
    }
}
