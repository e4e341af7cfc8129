/// Comparing live bytes with the recording.
public struct ReplayComparison: Sendable {
    /// Compare at all (`--strict`): a difference is logged and counted, and
    /// `policy` applies.
    public var strict: Bool
    public var policy: MismatchPolicy
    public var ignore: [IgnoreRule]

    public init(strict: Bool = false, policy: MismatchPolicy = .close, ignore: [IgnoreRule] = []) {
        self.strict = strict
        self.policy = policy
        self.ignore = ignore
    }
}
