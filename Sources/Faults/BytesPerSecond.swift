/// A data rate in bytes per second.
///
/// Toxiproxy's `rate` attribute is in KB/s with 1 KB = 1000 bytes:
/// `BytesPerSecond.kilobytesPerSecond(1000)` is 1,000,000 bytes per second.
public struct BytesPerSecond: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Bytes per second; at least 1 once validated by ``Fault``.
    public var bytesPerSecond: Int64

    public init(_ bytesPerSecond: Int64) {
        self.bytesPerSecond = bytesPerSecond
    }

    /// A rate in Toxiproxy's unit, KB/s with 1 KB = 1000 bytes.
    public static func kilobytesPerSecond(_ kilobytes: Int64) -> BytesPerSecond {
        BytesPerSecond(kilobytes * 1000)
    }

    /// The rate in Toxiproxy's unit, KB/s (1 KB = 1000 bytes); fractional
    /// when the rate is not a whole number of KB/s.
    public var kilobytesPerSecond: Double { Double(bytesPerSecond) / 1000 }

    public static func < (lhs: BytesPerSecond, rhs: BytesPerSecond) -> Bool {
        lhs.bytesPerSecond < rhs.bytesPerSecond
    }

    public var description: String { "\(bytesPerSecond) B/s" }
}
