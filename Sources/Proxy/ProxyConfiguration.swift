import Faults
import Recording

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a proxy listens on and where it forwards.
public struct ProxyConfiguration: Sendable {
    /// One or more listeners: TCP (IPv4 or IPv6) or Unix socket paths.
    public var listeners: [Endpoint]
    public var upstream: Endpoint
    /// How long to wait for the upstream before resetting the client.
    public var connectTimeout: Duration
    /// Permissions of Unix listener sockets (default 0600).
    public var socketMode: mode_t
    /// Faults applied to every connection, in the order they were added.
    public var faults: [Fault]
    /// Fixes every random choice of the faults (toxicity, jitter, drops).
    public var seed: UInt64
    /// Install fault handlers on every session even with no faults yet, so
    /// `ProxyServer.setFaults` reaches live sessions (the control API's
    /// proxies). Without it, a proxy with no faults forwards with no fault
    /// stage at all.
    public var faultsCanChange: Bool
    /// TLS on either leg (nil: bytes pass as they come, TLS or not).
    public var tls: ProxyTLS?

    public init(
        listeners: [Endpoint],
        upstream: Endpoint,
        connectTimeout: Duration = .seconds(5),
        socketMode: mode_t = 0o600,
        faults: [Fault] = [],
        seed: UInt64 = 0,
        faultsCanChange: Bool = false,
        tls: ProxyTLS? = nil
    ) {
        self.listeners = listeners
        self.upstream = upstream
        self.connectTimeout = connectTimeout
        self.socketMode = socketMode
        self.faults = faults
        self.seed = seed
        self.faultsCanChange = faultsCanChange
        self.tls = tls
    }
}
