import Atomics
import NIOConcurrencyHelpers
import NIOCore
import PcapFile
import Recording

/// A live session as the control API lists it.
package struct LiveSession: Sendable, Equatable {
    public var id: UInt64
    public var client: Endpoint
    public var upstream: Endpoint
    public var opened: Timestamp
    public var bytesClientToServer: Int
    public var bytesServerToClient: Int
    /// True while the session reports to the proxy's current sink.
    public var recording: Bool
}

/// One accepted session's byte counts, for the live-session list, and the
/// sink the proxy had when the session was accepted (if any).
///
/// Kept apart from the sink so a proxy that records nothing builds no
/// session event per chunk: counting is two relaxed atomic adds.
final class LiveSessionTally: Sendable {
    let sink: SessionSink?
    private let session = NIOLockedValueBox<Session?>(nil)
    private let bytesClientToServer = ManagedAtomic<Int>(0)
    private let bytesServerToClient = ManagedAtomic<Int>(0)

    init(sink: SessionSink?) {
        self.sink = sink
    }

    /// Both legs are connected.
    func opened(_ session: Session) {
        self.session.withLockedValue { $0 = session }
    }

    func count(_ bytes: Int, _ direction: Direction) {
        let counter = direction == .clientToServer ? bytesClientToServer : bytesServerToClient
        counter.wrappingIncrement(by: bytes, ordering: .relaxed)
    }

    /// The session, once both its legs are connected.
    func snapshot(currentSink: SessionSink?) -> LiveSession? {
        guard let session = session.withLockedValue({ $0 }) else { return nil }
        return LiveSession(
            id: session.id,
            client: session.client,
            upstream: session.server,
            opened: session.opened,
            bytesClientToServer: bytesClientToServer.load(ordering: .relaxed),
            bytesServerToClient: bytesServerToClient.load(ordering: .relaxed),
            recording: sink != nil && sink === currentSink
        )
    }
}
