/// How often faults acted on one direction of one connection, for logs and
/// metrics. Cumulative; add two with `+` to aggregate.
///
/// A fault acts when it changes what the peers see: a chunk delayed by more
/// than nothing (latency), paced (bandwidth), cut into several writes
/// (slicer), discarded (drop, timeout, reset_peer), the connection closed
/// (limit_data, timeout) or reset (reset_peer), a close delayed
/// (slow_close). A close or a reset is counted when the fault's request
/// leaves the pipeline, not when it is scheduled, so one that another end
/// overtook is not counted.
public struct FaultCounters: Sendable, Hashable {
    /// Times each type of fault acted.
    public var fired: [FaultType: Int] = [:]
    /// Bytes the faults discarded instead of forwarding.
    public var bytesDiscarded = 0
    /// Close requests (FIN) the faults made.
    public var closes = 0
    /// Reset requests (RST) the faults made.
    public var resets = 0
    /// Every fault that acted, by name, with the most it did.
    public var effects: [String: FaultEffect] = [:]

    public init() {}

    /// The number of fires of every type together.
    public var totalFired: Int { fired.values.reduce(0, +) }

    mutating func fire(_ fault: Fault, _ action: FaultAction) {
        fired[fault.kind.type, default: 0] += 1
        let effect = FaultEffect(fault, action: action)
        effects[fault.name] = effects[fault.name].map { $0.strongest(with: effect) } ?? effect
    }

    public static func + (lhs: FaultCounters, rhs: FaultCounters) -> FaultCounters {
        var sum = lhs
        sum.fired.merge(rhs.fired, uniquingKeysWith: +)
        sum.bytesDiscarded += rhs.bytesDiscarded
        sum.closes += rhs.closes
        sum.resets += rhs.resets
        sum.effects.merge(rhs.effects) { $0.strongest(with: $1) }
        return sum
    }
}

/// What a fault did to a connection, from the least to the most.
public enum FaultAction: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Chunks (or the close) delivered later: latency, slow_close.
    case delayed
    /// Chunks paced to a rate: bandwidth.
    case throttled
    /// Chunks cut into several writes: slicer.
    case sliced
    /// Bytes discarded: drop, timeout, and reset_peer before its reset.
    case dropped
    /// The connection closed (FIN) by the fault: limit_data, timeout.
    case closed
    /// The connection reset (RST) by the fault: reset_peer.
    case reset

    public static func < (lhs: FaultAction, rhs: FaultAction) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One fault's mark on one connection: which fault, and the most it did.
public struct FaultEffect: Sendable, Hashable {
    public var type: FaultType
    public var stream: FaultStream
    public var action: FaultAction

    /// What `fault` did: its type and stream, and `action`.
    public init(_ fault: Fault, action: FaultAction) {
        self.type = fault.kind.type
        self.stream = fault.stream
        self.action = action
    }

    /// This effect, or `other` if it did more.
    func strongest(with other: FaultEffect) -> FaultEffect {
        other.action > action ? other : self
    }
}
