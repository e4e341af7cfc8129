import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

@Suite("A proxy made through the API may name its upstream by host name")
struct NamedUpstreamTests {
    @Test func anUpstreamByHostNameForwardsAndSessionsShowTheAddressConnectedTo() async throws {
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let port = try #require(echo.endpoint.port)
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"named","upstream":"localhost:\#(port)"}"#)
            #expect(created.status == .created, "\(created.body)")
            #expect(created.object["upstream"] as? String == "localhost:\(port)")
            let listen = try Endpoint(parsing: try #require(created.object["listen"] as? String))

            let socket = try BlockingSocket(connectingTo: listen, timeout: .seconds(5))
            try socket.send(Array("by name".utf8))
            #expect(try socket.read(exactly: 7) == Array("by name".utf8))
            let sessions = try await client.call(.get, "/proxies/named/sessions")
            let live = try #require(sessions.json as? [[String: Any]])
            #expect(live.first?["upstream"] as? String == "127.0.0.1:\(port)", "\(sessions.body)")
            socket.shutdownWrite()
            #expect(try socket.readToEnd() == [])
        }
    }
}
