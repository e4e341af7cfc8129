/// How often faults acted on one direction of one connection, for logs and
/// metrics. Cumulative; add two with `+` to aggregate.
public struct FaultCounters: Sendable, Hashable {
    /// Times each type of fault changed something: a chunk delayed
    /// (latency), throttled (bandwidth), sliced (slicer) or discarded (drop,
    /// timeout); a limit reached (limit_data); a connection reset
    /// (reset_peer) or timed out (timeout); a close delayed (slow_close).
    public var fired: [FaultType: Int] = [:]
    /// Bytes the faults discarded instead of forwarding.
    public var bytesDiscarded = 0
    /// Close requests (FIN) the faults made.
    public var closes = 0
    /// Reset requests (RST) the faults made.
    public var resets = 0

    public init() {}

    /// The number of fires of every type together.
    public var totalFired: Int { fired.values.reduce(0, +) }

    mutating func fire(_ type: FaultType) {
        fired[type, default: 0] += 1
    }

    public static func + (lhs: FaultCounters, rhs: FaultCounters) -> FaultCounters {
        var sum = lhs
        sum.fired.merge(rhs.fired, uniquingKeysWith: +)
        sum.bytesDiscarded += rhs.bytesDiscarded
        sum.closes += rhs.closes
        sum.resets += rhs.resets
        return sum
    }
}
