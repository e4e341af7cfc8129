import Faults
import NIOCore

/// A session's two channels, for closing both at a fault's request.
///
/// Threading: the session's event loop.
final class SessionLegs {
    let client: Channel
    /// Set once the upstream channel exists.
    var upstream: Channel?

    init(client: Channel) {
        self.client = client
    }

    /// `.fin`: each leg gets a FIN once what is queued for it has been
    /// written; `.reset`: each gets an RST at once. Both legs are set to
    /// reset before either closes: closing one makes the glue close the
    /// other, and that close must be an RST too.
    func close(_ mode: FaultCloseMode) {
        let channels = [client, upstream].compactMap { $0 }
        switch mode {
        case .fin:
            for channel in channels {
                channel.close(as: .fin)
            }
        case .reset:
            let prepared = channels.map(prepareReset)
            EventLoopFuture.andAllComplete(prepared, on: client.eventLoop).whenComplete { _ in
                for channel in channels {
                    channel.close(promise: nil)
                }
            }
        }
    }
}

@available(*, unavailable)
extension SessionLegs: Sendable {}
