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
    /// written; `.reset`: each gets an RST at once.
    func close(_ mode: FaultCloseMode) {
        for channel in [client, upstream].compactMap({ $0 }) {
            channel.close(as: mode)
        }
    }
}

@available(*, unavailable)
extension SessionLegs: Sendable {}
