import NIOCore

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
final class AcceptPause {
    private let pause: TimeAmount
    private var paused = false

    init(pause: TimeAmount = .milliseconds(100)) {
        self.pause = pause
    }

    private static let resourceErrors: Set<CInt> = [EMFILE, ENFILE, ENOBUFS, ENOMEM]
}

extension AcceptPause: ChannelInboundHandler {
    typealias InboundIn = Channel

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let error = error as? IOError, Self.resourceErrors.contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused else { return }
        paused = true
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
