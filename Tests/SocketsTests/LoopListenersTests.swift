import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Recording
import Sockets
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on every event loop, one port: each connection is served
/// on the loop whose listener accepted it, the port stays the listeners'
/// alone, and closing every channel frees it.
@Suite struct LoopListenersTests {
    /// A bootstrap whose accepted channels note which loop they run on.
    static func bootstrap(_ loop: EventLoop, _ children: EventLoopGroup, seen: NIOLockedValueBox<[(accepting: ObjectIdentifier, serving: ObjectIdentifier)]>) -> ServerBootstrap {
        ServerBootstrap(group: loop, childGroup: children)
            .childChannelInitializer { channel in
                seen.withLockedValue { $0.append((ObjectIdentifier(loop), ObjectIdentifier(channel.eventLoop))) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
    }

    @Test func everyLoopAcceptsAndServesWhatItAccepted() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let seen = NIOLockedValueBox<[(accepting: ObjectIdentifier, serving: ObjectIdentifier)]>([])
        let channels = try await LoopListeners.bind(.ip(.loopbackV4, port: 0), socketMode: nil, backlog: 128, group: group) { loop, children in
            Self.bootstrap(loop, children, seen: seen)
        }
        #expect(channels.count == 2)
        #expect(Set(channels.map { ObjectIdentifier($0.eventLoop) }).count == 2, "one channel on each loop")
        let ports = Set(channels.compactMap { $0.localAddress?.port })
        #expect(ports.count == 1, "the same port on both channels")
        let port = try #require(ports.first)

        for _ in 0..<200 {
            close(try BlockingClient.connect(.ip(.loopbackV4, port: UInt16(port)), timeout: .seconds(2)))
        }
        var accepted: [(accepting: ObjectIdentifier, serving: ObjectIdentifier)] = []
        for _ in 0..<200 {
            accepted = seen.withLockedValue { $0 }
            if accepted.count == 200 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(accepted.count == 200)
        #expect(accepted.allSatisfy { $0.accepting == $0.serving }, "each connection served on the loop that accepted it")
        #expect(Set(accepted.map(\.accepting)).count == 2, "both loops accepted some of 200 connections")

        for channel in channels { try await channel.close() }
        // The port is free again once every channel is closed.
        let again = try await LoopListeners.bind(.ip(.loopbackV4, port: UInt16(port)), socketMode: nil, backlog: 128, group: group) { loop, children in
            Self.bootstrap(loop, children, seen: seen)
        }
        for channel in again { try await channel.close() }
        try await group.shutdownGracefully()
    }

    @Test func aTakenPortIsStillTaken() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let seen = NIOLockedValueBox<[(accepting: ObjectIdentifier, serving: ObjectIdentifier)]>([])
        let first = try await LoopListeners.bind(.ip(.loopbackV4, port: 0), socketMode: nil, backlog: 128, group: group) { loop, children in
            Self.bootstrap(loop, children, seen: seen)
        }
        let port = try #require(first.first?.localAddress?.port)

        do {
            let second = try await LoopListeners.bind(.ip(.loopbackV4, port: UInt16(port)), socketMode: nil, backlog: 128, group: group) { loop, children in
                Self.bootstrap(loop, children, seen: seen)
            }
            for channel in second { try await channel.close() }
            Issue.record("a second listener took port \(port)")
        } catch {
            #expect("\(error)" == "cannot listen on 127.0.0.1:\(port): address already in use")
        }
        // Nor does a plain socket get the port while they listen.
        let plain = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(plain) }
        var one: CInt = 1
        setsockopt(plain, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        #expect(address.withSockAddr { bind(plain, $0, socklen_t($1)) } == -1 && errno == EADDRINUSE)
        for channel in first { try await channel.close() }
        try await group.shutdownGracefully()
    }

    @Test func aUnixPathIsOneListenerServingEveryLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let endpoint = Endpoint.unix(path: directory.file("shared.sock"))
        let seen = NIOLockedValueBox<[(accepting: ObjectIdentifier, serving: ObjectIdentifier)]>([])
        let channels = try await LoopListeners.bind(endpoint, socketMode: nil, backlog: 128, group: group) { loop, children in
            Self.bootstrap(loop, children, seen: seen)
        }
        #expect(channels.count == 1)

        for _ in 0..<20 {
            close(try BlockingClient.connect(endpoint, timeout: .seconds(2)))
        }
        for _ in 0..<200 where seen.withLockedValue({ $0.count }) < 20 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Set(seen.withLockedValue { $0.map(\.serving) }).count == 2, "a Unix listener's sessions are spread over the loops")
        for channel in channels { try await channel.close() }
        try await group.shutdownGracefully()
    }
}
