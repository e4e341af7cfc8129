import Faults

/// The faults a replay applies, as the proxy applies them: upstream faults
/// to what the client sends, downstream faults to what the server sends.
public struct ReplayFaults: Sendable {
    public var faults: [Fault]
    public var seed: UInt64
    /// Keep fault handlers on every connection even without faults, so
    /// faults set later reach live connections.
    public var canChange: Bool

    public init(faults: [Fault] = [], seed: UInt64 = 0, canChange: Bool = false) {
        self.faults = faults
        self.seed = seed
        self.canChange = canChange
    }
}
