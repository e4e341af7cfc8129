import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Recording
import Sockets
import Testing

/// An upstream given by a host name: every address tried in order, the one
/// that answered preferred, the name resolved again when none answers —
/// on real loopback sockets, with the resolver injected.
@Suite struct UpstreamConnectorTests {
    /// Hands out the address lists it was given, one per lookup (the last
    /// one again when they run out), and counts the lookups.
    final class ScriptedResolver: HostResolver {
        private let answers: [[SocketAddress]]
        private let delay: Duration
        private let lookups = NIOLockedValueBox(0)

        init(_ answers: [[SocketAddress]], delay: Duration = .zero) {
            self.answers = answers
            self.delay = delay
        }

        var lookupCount: Int { lookups.withLockedValue { $0 } }

        func addresses(of name: String, port: UInt16) async throws -> [SocketAddress] {
            let count = lookups.withLockedValue { count in
                count += 1
                return count
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            return answers[min(count, answers.count) - 1]
        }
    }

    /// Keeps the messages and metadata of what was logged.
    final class LogLines: Sendable {
        private let lines = NIOLockedValueBox<[String]>([])
        var all: [String] { lines.withLockedValue { $0 } }

        var logger: Logger {
            Logger(label: "test") { _ in Handler(lines: self) }
        }

        struct Handler: LogHandler {
            let lines: LogLines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                let pairs = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                lines.lines.withLockedValue { $0.append(([event.message.description] + pairs).joined(separator: " ")) }
            }
        }
    }

    /// A loopback listener that accepts and holds connections, and its address.
    static func liveServer(group: EventLoopGroup) async throws -> (Channel, SocketAddress) {
        let channel = try await ServerBootstrap.smallServer(group: group) { _ in }.bind(to: .ip(.loopbackV4, port: 0))
        return (channel, try #require(channel.localAddress))
    }

    /// Addresses nothing listens on: connecting is refused at once.
    static let refusedV4 = try! SocketAddress(ipAddress: "127.0.0.1", port: 1)
    static let refusedV6 = try! SocketAddress(ipAddress: "::1", port: 1)
    static let refusedOther = try! SocketAddress(ipAddress: "127.0.0.2", port: 1)

    /// Connects through `connector`, recording each address attempted.
    static func connect(_ connector: UpstreamConnector, group: EventLoopGroup, attempts: NIOLockedValueBox<[SocketAddress]>) async throws -> (Channel, SocketAddress) {
        let loop = group.next()
        return try await connector.connect(on: loop) { address in
            attempts.withLockedValue { $0.append(address) }
            return ClientBootstrap(group: loop).connectTimeout(.seconds(2)).connect(to: address)
        }.get()
    }

    @Test func everyAddressIsTriedInOrderAndTheOneThatAnsweredGoesFirst() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (server, live) = try await Self.liveServer(group: group)
        let resolver = ScriptedResolver([[Self.refusedV6, Self.refusedV4, Self.refusedOther, live]])
        let connector = UpstreamConnector(endpoint: .host("api.internal", port: 1), role: "upstream", resolver: resolver, attemptDelay: .seconds(2), logger: Logger(label: "test"))
        try await connector.prepare()
        let attempts = NIOLockedValueBox<[SocketAddress]>([])

        let (first, firstAddress) = try await Self.connect(connector, group: group, attempts: attempts)
        try await first.close()
        #expect(firstAddress == live)
        #expect(attempts.withLockedValue { $0 } == [Self.refusedV6, Self.refusedV4, Self.refusedOther, live])

        attempts.withLockedValue { $0 = [] }
        let (second, _) = try await Self.connect(connector, group: group, attempts: attempts)
        try await second.close()
        #expect(attempts.withLockedValue { $0 } == [live], "the address that answered is tried first")
        #expect(resolver.lookupCount == 1, "no lookup while an address answers")

        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func theNameIsResolvedAgainWhenEveryAddressFailsAndTheNewAddressesAreLogged() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (server, live) = try await Self.liveServer(group: group)
        let resolver = ScriptedResolver([[Self.refusedV4, Self.refusedV6], [live]])
        let log = LogLines()
        let connector = UpstreamConnector(endpoint: .host("api.internal", port: 1), role: "upstream", resolver: resolver, logger: log.logger)
        try await connector.prepare()
        let attempts = NIOLockedValueBox<[SocketAddress]>([])

        let (channel, address) = try await Self.connect(connector, group: group, attempts: attempts)
        try await channel.close()

        #expect(address == live)
        #expect(attempts.withLockedValue { $0 } == [Self.refusedV4, Self.refusedV6, live])
        #expect(resolver.lookupCount == 2)
        #expect(connector.addresses == [live])
        let liveText = try #require(Endpoint(live)).description
        #expect(log.all.contains("upstream resolved upstream.address=api.internal:1 upstream.addresses=127.0.0.1:1 [::1]:1"), "\(log.all)")
        #expect(log.all.contains("upstream resolved again, to other addresses upstream.address=api.internal:1 upstream.addresses=\(liveText)"), "\(log.all)")
        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func whenNoAddressAnswersTheFailureSaysWhy() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let resolver = ScriptedResolver([[Self.refusedV4, Self.refusedOther]])
        let connector = UpstreamConnector(endpoint: .host("api.internal", port: 1), role: "upstream", resolver: resolver, logger: Logger(label: "test"))
        try await connector.prepare()
        let attempts = NIOLockedValueBox<[SocketAddress]>([])

        await #expect {
            _ = try await Self.connect(connector, group: group, attempts: attempts)
        } throws: { error in
            PlainReason.of(error) == "connection refused (nothing listens there)"
        }
        // Tried once each; the same addresses again after the lookup are not retried.
        #expect(attempts.withLockedValue { $0 } == [Self.refusedV4, Self.refusedOther])
        #expect(resolver.lookupCount == 2)
        try await group.shutdownGracefully()
    }

    @Test func anAddressThatDoesNotAnswerIsOvertakenAfterTheAttemptDelay() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let (server, live) = try await Self.liveServer(group: group)
        let silent = try SocketAddress(ipAddress: "192.0.2.1", port: 9)
        let resolver = ScriptedResolver([[silent, live]])
        let connector = UpstreamConnector(endpoint: .host("api.internal", port: 1), role: "upstream", resolver: resolver, attemptDelay: .milliseconds(50), logger: Logger(label: "test"))
        try await connector.prepare()
        // The silent address's attempt never completes until the test ends it.
        let hanging = loop.makePromise(of: Channel.self)
        let started = ContinuousClock.now

        let (channel, address) = try await connector.connect(on: loop) { address in
            address == silent ? hanging.futureResult : ClientBootstrap(group: loop).connect(to: address)
        }.get()
        let took = ContinuousClock.now - started

        #expect(address == live)
        #expect(took >= .milliseconds(50) && took < .seconds(2), "took \(took)")
        hanging.fail(ChannelError.connectTimeout(.seconds(1)))
        try await channel.close()
        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func connectionsFailingTogetherShareOneLookup() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let resolver = ScriptedResolver([[Self.refusedV4]], delay: .milliseconds(200))
        let connector = UpstreamConnector(endpoint: .host("api.internal", port: 1), role: "upstream", resolver: resolver, logger: Logger(label: "test"))
        try await connector.prepare()

        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<8 {
                tasks.addTask {
                    let attempts = NIOLockedValueBox<[SocketAddress]>([])
                    _ = try? await Self.connect(connector, group: group, attempts: attempts)
                }
            }
        }

        #expect(resolver.lookupCount == 2, "one lookup at start, one for all eight failures")
        try await group.shutdownGracefully()
    }

    @Test func aLiteralIsNeverLookedUp() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (server, live) = try await Self.liveServer(group: group)
        let resolver = ScriptedResolver([[Self.refusedV4]])
        let endpoint = try #require(Endpoint(live))
        let connector = UpstreamConnector(endpoint: endpoint, role: "upstream", resolver: resolver, logger: Logger(label: "test"))
        try await connector.prepare()
        let attempts = NIOLockedValueBox<[SocketAddress]>([])

        let (channel, address) = try await Self.connect(connector, group: group, attempts: attempts)

        #expect(address == live)
        #expect(resolver.lookupCount == 0)
        try await channel.close()
        try await server.close()
        await #expect(throws: (any Error).self) {
            _ = try await Self.connect(connector, group: group, attempts: attempts)
        }
        #expect(resolver.lookupCount == 0, "a literal that refuses is not looked up either")
        try await group.shutdownGracefully()
    }

    @Test func theSystemResolverFindsLocalhostAndNamesAnUnknownHost() async throws {
        let found = try await SystemResolver().addresses(of: "localhost", port: 80)
        #expect(found.compactMap(Endpoint.init).contains(.ip(.loopbackV4, port: 80)), "\(found)")

        // RFC 6761: no name under .invalid resolves, whatever the network.
        let connector = UpstreamConnector(endpoint: .host("no-such-host.invalid", port: 80), role: "upstream", logger: Logger(label: "test"))
        await #expect {
            try await connector.prepare()
        } throws: { error in
            "\(error)".hasPrefix("cannot resolve upstream no-such-host.invalid:80: ")
        }
    }

    @Test func familiesAreInterleavedKeepingEachOnesOrder() throws {
        let v6a = try SocketAddress(ipAddress: "::1", port: 1)
        let v6b = try SocketAddress(ipAddress: "::2", port: 1)
        let v4a = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        let v4b = try SocketAddress(ipAddress: "127.0.0.2", port: 1)
        let v4c = try SocketAddress(ipAddress: "127.0.0.3", port: 1)
        #expect(SystemResolver.interleavingFamilies([v6a, v6b, v4a, v4b, v4c]) == [v6a, v4a, v6b, v4b, v4c])
        #expect(SystemResolver.interleavingFamilies([v4a, v4b, v6a]) == [v4a, v6a, v4b])
        #expect(SystemResolver.interleavingFamilies([]) == [])
    }
}
