/// A TCP connection's 4-tuple, the same for both directions: side A is the
/// endpoint that sorts first.
struct FlowKey: Hashable {
    private var aHigh: UInt64
    private var aLow: UInt64
    private var bHigh: UInt64
    private var bLow: UInt64
    private var aPort: UInt16
    private var bPort: UInt16
    private var isIPv6: Bool

    /// The key of `segment`'s connection, and whether its sender is side A.
    init(_ segment: TCPSegment) {
        let source = Self.words(segment.source)
        let destination = Self.words(segment.destination)
        let sourceFirst = (source.high, source.low, segment.sourcePort) <= (destination.high, destination.low, segment.destinationPort)
        if sourceFirst {
            (aHigh, aLow, aPort) = (source.high, source.low, segment.sourcePort)
            (bHigh, bLow, bPort) = (destination.high, destination.low, segment.destinationPort)
        } else {
            (aHigh, aLow, aPort) = (destination.high, destination.low, segment.destinationPort)
            (bHigh, bLow, bPort) = (source.high, source.low, segment.sourcePort)
        }
        isIPv6 = segment.source.isIPv6
    }

    /// True when `segment` (of this flow) was sent by side A.
    func isSentByA(_ segment: TCPSegment) -> Bool {
        let source = Self.words(segment.source)
        return (source.high, source.low, segment.sourcePort) == (aHigh, aLow, aPort)
    }

    private static func words(_ address: IPAddress) -> (high: UInt64, low: UInt64) {
        switch address {
        case .v4(let value): return (0, UInt64(value))
        case .v6(let high, let low): return (high, low)
        }
    }
}
