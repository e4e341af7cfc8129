/// The faults a proxy or a replay applies, as Toxiproxy applies toxics:
/// upstream faults to what the client sends, downstream faults to what the
/// server sends.
public struct FaultSettings: Sendable {
    /// Faults applied to every connection, in the order they were added.
    public var faults: [Fault]
    /// Fixes every random choice of the faults (toxicity, jitter, drops).
    public var seed: UInt64
    /// Install fault handlers on every connection even with no faults yet,
    /// so faults set later reach live connections (the control API's
    /// proxies, `MockServer.setFaults`). Without it, a connection with no
    /// faults has no fault stage at all.
    public var canChange: Bool

    public init(faults: [Fault] = [], seed: UInt64 = 0, canChange: Bool = false) {
        self.faults = faults
        self.seed = seed
        self.canChange = canChange
    }
}
