/// How a channel's peer ended, from the events NIO gave and the closes we
/// asked for: what the capture tap still has to record when the channel
/// closes.
struct PeerEnd {
    enum Conclusion: Equatable {
        /// Nothing to add: the peer's end was reported already.
        case reported
        /// We closed the channel before its peer ended (its partner was
        /// gone): the recording ends this direction with a FIN too, or the
        /// session would look open for ever.
        case closedByUs
        /// We reset the channel (a fault's reset, or a reset passed on from
        /// the other leg): the peer got an RST, which the recording shows
        /// as sent toward it by the other side of the session.
        case resetByUs
        /// The peer's FIN closed the channel (our output was already shut).
        case halfClose
        /// The channel died without a reported cause while our output was open: a reset.
        case reset
    }

    private var inputEnded = false
    private var outputEnded = false
    private var failed = false
    private var closedLocally = false
    private var resetLocally = false

    mutating func inputClosed() { inputEnded = true }
    mutating func outputClosed() { outputEnded = true }
    /// True for the first error: the one that ends the channel.
    mutating func errorCaught() -> Bool {
        defer { failed = true }
        return !failed
    }
    mutating func closeRequested() { closedLocally = true }
    /// The channel is set to close with an RST (SO_LINGER 0), whoever closes it.
    mutating func resetRequested() { resetLocally = true }

    /// What the channel's close means, once. A reset of ours is recorded
    /// even after the peer's FIN (it still got the RST), but not after the
    /// peer's own reset or an error: its socket was gone already.
    mutating func channelInactive() -> Conclusion {
        defer { failed = true }
        if failed { return .reported }
        if resetLocally { return .resetByUs }
        if inputEnded { return .reported }
        if closedLocally { return .closedByUs }
        return outputEnded ? .halfClose : .reset
    }
}
