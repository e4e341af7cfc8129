import Faults
import Recording

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a proxy listens on and where it forwards; the rest has defaults,
/// set on the value before the proxy starts.
public struct ProxyConfiguration: Sendable {
    /// One or more listeners: TCP (IPv4 or IPv6) or Unix socket paths.
    public var listeners: [Endpoint]
    public var upstream: Endpoint
    /// How long to wait for the upstream before resetting the client.
    public var connectTimeout: Duration = .seconds(5)
    /// Permissions of Unix listener sockets.
    public var socketMode: mode_t = 0o600
    /// Faults applied to every session; with `canChange`, fault handlers
    /// stand on every session so `ProxyServer.setFaults` reaches live ones
    /// (the control API's proxies).
    public var faults: FaultSettings
    /// TLS on either leg (nil: bytes pass as they come, TLS or not).
    public var tls: ProxyTLS?
    /// Sessions no fault (and no TLS) needs to see move their bytes socket
    /// to socket with `splice(2)`, outside NIO, and come back to NIO when a
    /// fault is set live (Linux only; elsewhere it does nothing). Recorded
    /// sessions move too, and are copied there, each read recorded.
    #if os(Linux)
    public var splice = true
    #else
    public var splice = false
    #endif
    /// A session starts on NIO and moves to the splice path once it has
    /// moved this many bytes (both ways together), as HAProxy's
    /// `splice-auto` splices only what streams: short sessions never pay
    /// for the move. 0: from its first byte.
    public var spliceAfterBytes = 256 << 10
    /// A session that has made this many reads on NIO (both ways together)
    /// moves to the splice path too, however little it moved: a
    /// long-lived conversation (a pooled database or cache connection)
    /// costs less there, where its small reads are copied with two system
    /// calls a hop and no pipeline. A one-request connection never does.
    public var spliceAfterReads = 64
    /// A session on NIO that reads nothing for this long (between one and
    /// two of it) moves to the splice path as well: an idle pooled
    /// connection then holds its two sockets and little else. nil: never.
    public var parkIdleAfter: Duration? = .seconds(1)

    public init(listeners: [Endpoint], upstream: Endpoint, faults: FaultSettings = FaultSettings()) {
        self.listeners = listeners
        self.upstream = upstream
        self.faults = faults
    }
}
