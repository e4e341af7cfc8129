import NIOCore
import NIOPosix
import Recording
import Synchronization

/// A TCP server on loopback that reads everything and notes, on NIO's
/// clock, when each connection opened and each read arrived; it answers
/// nothing. It runs on an event loop of its own, so it is not held up by
/// the client it listens to.
final class ArrivalServer: Sendable {
    struct Arrival: Sendable {
        /// The connection, numbered in the order accepted.
        var connection: Int
        var at: NIODeadline
        var text: String
    }

    /// What the connections' readers share.
    private final class Log: Sendable {
        let arrivals = Mutex<[Arrival]>([])
        let accepted = Mutex<[Arrival]>([])
    }

    let endpoint: Endpoint
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let log: Log

    private init(endpoint: Endpoint, group: MultiThreadedEventLoopGroup, channel: Channel, log: Log) {
        self.endpoint = endpoint
        self.group = group
        self.channel = channel
        self.log = log
    }

    static func start() async throws -> ArrivalServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let log = Log()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let at = NIODeadline.now()
                let number = log.accepted.withLock { accepted in
                    accepted.append(Arrival(connection: accepted.count, at: at, text: ""))
                    return accepted.count - 1
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Reader(connection: number, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = UInt16(channel.localAddress?.port ?? 0)
        return ArrivalServer(endpoint: .ip(.loopbackV4, port: port), group: group, channel: channel, log: log)
    }

    /// Every read so far, in the order they arrived.
    var arrivals: [Arrival] { log.arrivals.withLock { $0 } }
    /// Every connection so far, when it was accepted (`text` empty).
    var accepted: [Arrival] { log.accepted.withLock { $0 } }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Reader: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let connection: Int
        let log: Log

        init(connection: Int, log: Log) {
            self.connection = connection
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let at = NIODeadline.now()
            let text = String(buffer: unwrapInboundIn(data))
            log.arrivals.withLock { $0.append(Arrival(connection: connection, at: at, text: text)) }
        }
    }
}
