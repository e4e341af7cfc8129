/// Comparing live bytes with the recording.
public struct ReplayComparison: Sendable {
    /// Compare at all (`--strict`): a difference is logged and counted, and
    /// `policy` applies.
    public var strict: Bool
    public var policy: MismatchPolicy
    public var ignore: [IgnoreRule]
    /// `replay drive`: compare the answers exchange by exchange with this
    /// (HTTP, Redis, PostgreSQL), rather than as one byte stream with `ignore`.
    public var exchanges: ExchangeComparator?

    public init(strict: Bool = false, policy: MismatchPolicy = .close, ignore: [IgnoreRule] = [], exchanges: ExchangeComparator? = nil) {
        self.strict = strict
        self.policy = policy
        self.ignore = ignore
        self.exchanges = exchanges
    }
}
