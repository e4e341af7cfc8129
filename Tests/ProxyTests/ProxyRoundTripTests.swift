import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import SampleServer
import TapedeckTestSupport
import Testing

@Suite struct ProxyRoundTripTests {
    @Test func echoThroughTCPProxy() async throws {
        let echo = try await EchoServer.start()
        let proxy = ProxyServer(
            configuration: ProxyConfiguration(listeners: [.ip(.loopbackV4, port: 0)], upstream: echo.endpoint),
            group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test")
        )
        try await proxy.start()
        let endpoint = try #require(proxy.listeningEndpoints.first)
        let reply = try await BlockingClient.exchange(endpoint, send: Array("hello".utf8), halfClose: true)
        #expect(reply == Array("hello".utf8))
        await proxy.shutdown(grace: .seconds(1))
        await echo.stop()
    }
}
