import NIOCore

/// How serve's and drive's per-session handlers meet their channel: the
/// work starts once the channel is active — at once when the handler is
/// added to a channel already connected, as `ReplayDriver` does — and the
/// handler lets go of its context when removed, since the two would
/// otherwise keep each other, and the session's bytes, alive after the
/// connection closed.
protocol StartsWhenActive: ChannelInboundHandler {
    var context: ChannelHandlerContext? { get set }
    /// Starts the session's work; a second call does nothing.
    func start(context: ChannelHandlerContext)
}

extension StartsWhenActive {
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }
}
