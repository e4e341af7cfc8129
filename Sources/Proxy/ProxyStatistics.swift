import Atomics

/// Live counters of one proxy, updated from every event loop and read by
/// the status line and metrics.
public final class ProxyStatistics: Sendable {
    public let liveSessions = ManagedAtomic<Int>(0)
    public let totalSessions = ManagedAtomic<Int>(0)
    public let bytesClientToServer = ManagedAtomic<Int>(0)
    public let bytesServerToClient = ManagedAtomic<Int>(0)
    public let upstreamFailures = ManagedAtomic<Int>(0)
    /// Faults that acted on a session, each counted once per session
    /// however often it acted (see `FaultCounters` for what acting is): a
    /// reset connection counts one. Recorded sessions list them in their
    /// manifest entries.
    public let faultsFired = ManagedAtomic<Int>(0)
    /// TLS handshakes that failed, on either leg (a client that spoke no
    /// TLS to a TLS listener among them); each such session is recorded
    /// with the reason.
    public let tlsFailures = ManagedAtomic<Int>(0)
    /// Of the bytes each way, those moved with `splice(2)` (counted in
    /// `bytesClientToServer` and `bytesServerToClient` too).
    public let bytesSpliced = ManagedAtomic<Int>(0)
    /// Times a session moved onto the splice path (at its start or later).
    public let splicesStarted = ManagedAtomic<Int>(0)
    /// Times a spliced session moved back to the NIO path (a fault set live).
    public let splicesHandedBack = ManagedAtomic<Int>(0)

    public init() {}

    public struct Snapshot: Sendable, Equatable {
        public var liveSessions: Int
        public var totalSessions: Int
        public var bytesClientToServer: Int
        public var bytesServerToClient: Int
        public var upstreamFailures: Int
        public var faultsFired: Int
        public var tlsFailures: Int
        public var bytesSpliced: Int
    }

    public var snapshot: Snapshot {
        Snapshot(
            liveSessions: liveSessions.load(ordering: .relaxed),
            totalSessions: totalSessions.load(ordering: .relaxed),
            bytesClientToServer: bytesClientToServer.load(ordering: .relaxed),
            bytesServerToClient: bytesServerToClient.load(ordering: .relaxed),
            upstreamFailures: upstreamFailures.load(ordering: .relaxed),
            faultsFired: faultsFired.load(ordering: .relaxed),
            tlsFailures: tlsFailures.load(ordering: .relaxed),
            bytesSpliced: bytesSpliced.load(ordering: .relaxed)
        )
    }
}
