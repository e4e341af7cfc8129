import Logging
import NIOCore
import Recording
import Sockets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pauses a listener for a moment when accepting fails for want of
/// resources (out of file descriptors, of memory), instead of spinning.
///
/// NIO's `AcceptBackoffHandler` only holds back `read()`, and a listening
/// socket with connections pending stays readable, so the event loop still
/// wakes and fails `accept` tens of thousands of times a second. Turning
/// `autoRead` off takes the socket out of epoll until the pause is over.
///
/// The first pause after a connection was accepted is logged, with the
/// cause (`out of file descriptors (the limit is 1024; …)`); the pauses that
/// follow it until a connection is accepted again are not.
final class AcceptPause {
    private let pause: TimeAmount
    private let logger: Logger
    private var paused = false
    private var reported = false

    init(pause: TimeAmount = .milliseconds(100), logger: Logger) {
        self.pause = pause
        self.logger = logger
    }

    private static let resourceErrors: Set<CInt> = [EMFILE, ENFILE, ENOBUFS, ENOMEM]
}

extension AcceptPause: ChannelInboundHandler {
    typealias InboundIn = Channel

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reported = false
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let error = error as? IOError, Self.resourceErrors.contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused else { return }
        paused = true
        if !reported {
            reported = true
            logger.warning("\(PlainReason.errno(error.errnoCode)): not accepting connections for a moment", metadata: ["listener.address": "\(Endpoint(context.channel.localAddress).map(\.description) ?? "?")"])
        }
        let channel = context.channel
        _ = channel.setOption(.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
            self.paused = false
            _ = channel.setOption(.autoRead, value: true)
        }
    }
}

@available(*, unavailable)
extension AcceptPause: Sendable {}
