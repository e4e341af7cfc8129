import Proxy

/// A proxy's counters summed over the servers it has run (a disabled and
/// re-enabled proxy runs a new one) and over its recordings.
struct ProxyCounters: Sendable, Equatable {
    var liveSessions = 0
    var totalSessions = 0
    var bytesClientToServer = 0
    var bytesServerToClient = 0
    var upstreamFailures = 0
    var faultsFired = 0
    var tlsFailures = 0
    /// Of the bytes forwarded both ways, those moved with `splice(2)`.
    var bytesSpliced = 0
    /// Bytes written to the proxy's recordings, finished and current.
    var recordedBytes = 0
    /// Payload the proxy's recordings lost because writing failed (a full disk).
    var unrecordedBytes = 0
    /// True while the proxy records.
    var recording = false

    init() {}

    init(_ snapshot: ProxyStatistics.Snapshot?) {
        guard let snapshot else { return }
        liveSessions = snapshot.liveSessions
        totalSessions = snapshot.totalSessions
        bytesClientToServer = snapshot.bytesClientToServer
        bytesServerToClient = snapshot.bytesServerToClient
        upstreamFailures = snapshot.upstreamFailures
        faultsFired = snapshot.faultsFired
        tlsFailures = snapshot.tlsFailures
        bytesSpliced = snapshot.bytesSpliced
    }

    static func + (lhs: Self, rhs: Self) -> Self {
        var sum = Self()
        sum.liveSessions = lhs.liveSessions + rhs.liveSessions
        sum.totalSessions = lhs.totalSessions + rhs.totalSessions
        sum.bytesClientToServer = lhs.bytesClientToServer + rhs.bytesClientToServer
        sum.bytesServerToClient = lhs.bytesServerToClient + rhs.bytesServerToClient
        sum.upstreamFailures = lhs.upstreamFailures + rhs.upstreamFailures
        sum.faultsFired = lhs.faultsFired + rhs.faultsFired
        sum.tlsFailures = lhs.tlsFailures + rhs.tlsFailures
        sum.bytesSpliced = lhs.bytesSpliced + rhs.bytesSpliced
        sum.recordedBytes = lhs.recordedBytes + rhs.recordedBytes
        sum.unrecordedBytes = lhs.unrecordedBytes + rhs.unrecordedBytes
        sum.recording = lhs.recording || rhs.recording
        return sum
    }
}
