import Foundation
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

/// Binding listeners as every Tapedeck listener does: a live Unix socket
/// is never taken over, a stale one is replaced, and every failure names
/// the endpoint and the cause in plain words.
@Suite struct ListenerBindingTests {
    static func bootstrap(_ group: EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap.smallServer(group: group) { _ in }
    }

    /// The message of what `body` threw, or nil when it threw nothing.
    static func failure(_ body: () async throws -> Channel) async -> String? {
        do {
            let channel = try await body()
            try? await channel.close()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aLiveUnixSocketIsLeftToItsOwner() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let endpoint = Endpoint.unix(path: directory.file("live.sock"))
        let accepted = NIOLockedValueBox(0)
        let first = try await ServerBootstrap.smallServer(group: group) { _ in accepted.withLockedValue { $0 += 1 } }.bind(to: endpoint)

        let message = await Self.failure { try await Self.bootstrap(group).bind(to: endpoint) }

        #expect(message == "cannot listen on \(endpoint): already in use by a running process")
        #expect(FileManager.default.fileExists(atPath: directory.file("live.sock")))
        let client = try BlockingClient.connect(endpoint, timeout: .seconds(2))
        close(client)
        try await Task.sleep(for: .milliseconds(100))
        #expect(accepted.withLockedValue { $0 } == 1, "the owner saw only the test's client: Linux's socket list answered, not a probe")
        try await first.close()
        try await group.shutdownGracefully()
    }

    @Test func aStaleUnixSocketIsReplaced() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("stale.sock")
        // A socket file whose process is gone: bound, never unlinked.
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let address = try SocketAddress(unixDomainSocketPath: path)
        #expect(address.withSockAddr { bind(descriptor, $0, socklen_t($1)) } == 0)
        close(descriptor)
        #expect(FileManager.default.fileExists(atPath: path))

        let channel = try await Self.bootstrap(group).bind(to: .unix(path: path))

        let client = try BlockingClient.connect(.unix(path: path), timeout: .seconds(2))
        close(client)
        try await channel.close()
        try await group.shutdownGracefully()
    }

    @Test func aFileThatIsNotASocketIsNotRemoved() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("notes.txt")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))

        let message = await Self.failure { try await Self.bootstrap(group).bind(to: .unix(path: path)) }

        #expect(message == "cannot listen on unix:\(path): the path exists and is not a socket; remove it or choose another path")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
        try await group.shutdownGracefully()
    }

    @Test func aTakenPortIsNamedWithTheAddress() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Bound without SO_REUSEADDR being enough: a listening socket holds the port.
        let first = try await ServerBootstrap(group: group).bind(to: .ip(.loopbackV4, port: 0))
        let port = try #require(first.localAddress?.port)

        let message = await Self.failure { try await Self.bootstrap(group).bind(to: .ip(.loopbackV4, port: UInt16(port))) }

        #expect(message == "cannot listen on 127.0.0.1:\(port): address already in use")
        try await first.close()
        try await group.shutdownGracefully()
    }

    @Test func aUnixPathTooLongSaysHowLong() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let path = "/tmp/" + String(repeating: "d", count: 150) + ".sock"

        let message = await Self.failure { try await Self.bootstrap(group).bind(to: .unix(path: path)) }

        #expect(message == "cannot listen on unix:\(path): the path is \(path.utf8.count) bytes long; a Unix socket path may have at most \(PlainReason.maximumUnixPathBytes)")
        try await group.shutdownGracefully()
    }

    @Test func aListenerTakesLocalhostButNoOtherName() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await Self.bootstrap(group).bind(to: .host("localhost", port: 0))
        #expect(Endpoint(channel.localAddress)?.description.hasPrefix("127.0.0.1:") == true)
        #expect(Endpoint.host("localhost", port: 0).bound(by: channel) == Endpoint(channel.localAddress))
        try await channel.close()

        let message = await Self.failure { try await Self.bootstrap(group).bind(to: .host("api.internal", port: 80)) }
        #expect(message == "cannot listen on api.internal:80: 'api.internal' is a host name; a listener takes an IP address (or localhost, or :PORT) or unix:/path")
        try await group.shutdownGracefully()
    }

    @Test(arguments: [
        ("api.internal:443", Endpoint.host("api.internal", port: 443)),
        ("LocalHost:80", .host("localhost", port: 80)),
        ("ip6-localhost:80", .host("ip6-localhost", port: 80)),
        ("10.0.0.5:5432", .ip(IPAddress("10.0.0.5")!, port: 5432)),
        (":6379", .ip(.loopbackV4, port: 6379)),
    ])
    func endpointsMayNameAHost(_ text: String, _ expected: Endpoint) throws {
        #expect(try Endpoint(parsing: text) == expected)
    }

    @Test func aHostThatIsNoNameIsRefused() {
        #expect(throws: EndpointParseError.self) { try Endpoint(parsing: "api internal:80") }
        #expect(throws: EndpointParseError.self) { try Endpoint(parsing: "-x:80") }
    }
}
