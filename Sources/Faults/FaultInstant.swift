/// A point in time on a fault pipeline's clock: nanoseconds since an
/// arbitrary origin (the handler uses the event loop's `now`, tests a manual
/// clock starting at zero).
///
/// Pure value: the schedulers never read a clock themselves; every event
/// method takes the current instant as an argument.
public struct FaultInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The clock's origin.
    public static let zero = FaultInstant(nanoseconds: 0)

    /// The instant `offset` after the origin.
    public static func after(_ offset: Duration) -> FaultInstant {
        FaultInstant(nanoseconds: offset.clampedNanoseconds)
    }

    public static func < (lhs: FaultInstant, rhs: FaultInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: FaultInstant, rhs: Duration) -> FaultInstant {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.clampedNanoseconds)
        return FaultInstant(nanoseconds: overflow ? (sum < 0 ? Int64.max : Int64.min) : sum)
    }

    public static func - (lhs: FaultInstant, rhs: FaultInstant) -> Duration {
        .nanoseconds(lhs.nanoseconds - rhs.nanoseconds)
    }

    /// The time elapsed since the origin.
    public var sinceOrigin: Duration { .nanoseconds(nanoseconds) }

    public var description: String { "\(sinceOrigin)" }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to `Int64`'s range.
    public var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (secondsPart, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, sumOverflow) = secondsPart.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }
}
