import Protocols

/// What a recorded answer does once every recording of a request has been used.
public enum ReusePolicy: String, Sendable, Hashable, CaseIterable {
    /// Answer with the last recorded answer again (the default).
    case repeatLast = "last"
    /// Start over from the first recorded answer (`--reuse`).
    case cycle
    /// Treat the request as unmatched (`--once`).
    case once
}

/// What a request with no recorded answer gets (`--on-unmatched`).
public enum UnmatchedPolicy: String, Sendable, Hashable, CaseIterable {
    /// An error in the protocol's own terms naming the nearest recorded
    /// request: HTTP 502, a Redis `-ERR`, a PostgreSQL ErrorResponse.
    case error
    /// The nearest recorded exchange of the same shape (same route,
    /// command or statement), or the error when there is none.
    case nearest
    /// Close the connection.
    case close
    /// Reset the connection.
    case reset
}

/// How `--match request` answers: the protocol, the masks, and the policies.
public struct RequestMatching: Sendable {
    /// Nil: detected from the recording's first bytes.
    public var protocolKind: ProtocolKind?
    public var masking: RequestMasking
    public var reuse: ReusePolicy
    public var onUnmatched: UnmatchedPolicy
    /// Move HTTP `Date`, `Expires`, `Last-Modified` and cookie expiry in
    /// answers by the time since the recording (`--no-refresh` turns it off).
    public var refreshDates: Bool

    public init(
        protocolKind: ProtocolKind? = nil,
        masking: RequestMasking = .none,
        reuse: ReusePolicy = .repeatLast,
        onUnmatched: UnmatchedPolicy = .error,
        refreshDates: Bool = true
    ) {
        self.protocolKind = protocolKind
        self.masking = masking
        self.reuse = reuse
        self.onUnmatched = onUnmatched
        self.refreshDates = refreshDates
    }
}
