import NIOCore

/// What a handler that sets a connection up reports (a ClientHello read, a
/// handshake watched, an SSLRequest answered): the first result only, so
/// the channel closing or the handler leaving afterwards changes nothing.
///
/// A class: completing the promise runs its callbacks at once, and they may
/// come back to the handler (and ask `isSettled`) while `settle` is running.
package final class SetupOutcome<Value: Sendable> {
    package let future: EventLoopFuture<Value>
    private let promise: EventLoopPromise<Value>
    package private(set) var isSettled = false

    package init(eventLoop: EventLoop) {
        promise = eventLoop.makePromise()
        future = promise.futureResult
    }

    package func settle(_ result: Result<Value, Error>) {
        guard !isSettled else { return }
        isSettled = true
        promise.completeWith(result)
    }
}

/// A set-up handler that issues its own reads, on a channel whose autoRead
/// is off while it is set up (the handlers after it may be holding theirs):
/// it reads once it is in the pipeline of an active channel, and once the
/// channel turns active; leaving the pipeline unsettled is a failure.
package protocol SelfReadingSetupHandler: AnyObject, _ChannelInboundHandler {
    associatedtype Outcome: Sendable
    var context: ChannelHandlerContext? { get set }
    var outcome: SetupOutcome<Outcome> { get }
}

extension SelfReadingSetupHandler {
    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { context.read() }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        outcome.settle(.failure(ChannelError.ioOnClosedChannel))
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.read()
    }
}
