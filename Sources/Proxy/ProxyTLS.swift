import TapedeckTLS

/// TLS on a proxy's two legs: ended at the listener (`termination`), begun
/// toward the upstream (`origination`), and PostgreSQL's in-protocol
/// upgrade (SSLRequest) on both when `postgres`. Either leg alone is
/// allowed; the recording holds the plaintext.
public struct ProxyTLS: Sendable {
    public let termination: TLSTermination?
    public let origination: TLSOrigination?
    /// Answer a client's SSLRequest with `S` before its TLS, and send one
    /// to the upstream before ours. Needs `termination`.
    public let postgres: Bool
    package let serverContexts: ServerTLSContexts?
    package let clientContexts: ClientTLSContexts?

    /// Throws a `TLSError` when a certificate or key cannot be used (so a
    /// command fails at start, not at its first client).
    public init(termination: TLSTermination? = nil, origination: TLSOrigination? = nil, postgres: Bool = false) throws {
        if postgres, termination == nil {
            throw TLSError("PostgreSQL's TLS upgrade needs a certificate to answer with (--tls-cert/--tls-key or --tls-ca)")
        }
        self.termination = termination
        self.origination = origination
        self.postgres = postgres
        self.serverContexts = try termination?.contexts()
        self.clientContexts = try origination?.contexts()
    }
}
