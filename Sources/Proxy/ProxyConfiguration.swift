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
    /// Faults applied to every session; with `canChange`, fault handlers
    /// stand on every session so `ProxyServer.setFaults` reaches live ones
    /// (the control API's proxies).
    public var faults: FaultSettings
    /// TLS on either leg (nil: bytes pass as they come, TLS or not).
    public var tls: ProxyTLS?

    public init(
        listeners: [Endpoint],
        upstream: Endpoint,
        connectTimeout: Duration = .seconds(5),
        socketMode: mode_t = 0o600,
        faults: FaultSettings = FaultSettings(),
        tls: ProxyTLS? = nil
    ) {
        self.listeners = listeners
        self.upstream = upstream
        self.connectTimeout = connectTimeout
        self.socketMode = socketMode
        self.faults = faults
        self.tls = tls
    }
}
