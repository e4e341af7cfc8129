import NIOCore
import NIOSSL

/// TLS on a server's listener (`replay serve`, `MockServer`): every
/// accepted connection starts with a TLS handshake (after PostgreSQL's
/// SSLRequest when `postgres`), and the handlers after it see plaintext.
public struct ServingTLS: Sendable {
    public let termination: TLSTermination
    /// Answer a client's SSLRequest with `S` before its TLS.
    public let postgres: Bool
    /// The protocols offered to ALPN (empty: no ALPN; clients fall back to their default).
    public let applicationProtocols: [String]
    private let contexts: ServerTLSContexts

    /// Throws a `TLSError` when the certificate or key cannot be used.
    public init(termination: TLSTermination, postgres: Bool = false, applicationProtocols: [String] = []) throws {
        self.termination = termination
        self.postgres = postgres
        self.applicationProtocols = applicationProtocols
        self.contexts = try termination.contexts()
        _ = try contexts.context(applicationProtocols: applicationProtocols)
    }

    /// Puts the TLS handlers at the front of a new connection's pipeline
    /// (on its event loop, before its first read).
    package func addHandlers(to channel: Channel) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(NIOSSLServerHandler(context: try contexts.context(applicationProtocols: applicationProtocols)), position: .first)
        if postgres {
            try sync.addHandler(PostgresSSLRequestAnswer(eventLoop: channel.eventLoop), position: .first)
        }
    }
}

/// TLS toward a server from a client Tapedeck plays (`replay drive --tls`).
public struct ConnectingTLS: Sendable {
    public let origination: TLSOrigination
    private let contexts: ClientTLSContexts

    public init(origination: TLSOrigination) throws {
        self.origination = origination
        self.contexts = try origination.contexts()
    }

    /// Puts a TLS client handler at the front of a connected channel's
    /// pipeline; `hostName` is the target's name when it has one (SNI and
    /// the certificate's check, unless `serverName` says otherwise).
    package func addHandlers(to channel: Channel, hostName: String?) throws {
        let handler = try NIOSSLClientHandler(
            context: try contexts.context(applicationProtocols: []),
            serverHostname: contexts.serverName(fallback: hostName)
        )
        try channel.pipeline.syncOperations.addHandler(handler, position: .first)
    }
}
