/// What one direction of one connection makes its fault pipeline from,
/// besides the faults in force and the instant it starts: the stream it
/// faults, what fixes its random draws, and how much it may hold.
public struct FaultPlan: Sendable, Hashable {
    /// The direction faulted: `.upstream` for what the client sends,
    /// `.downstream` for what the server sends.
    public var stream: FaultStream
    /// The run's seed; with `connectionID` and the fault names it fixes
    /// every toxicity decision and random draw.
    public var seed: UInt64
    /// Unique per connection within a run (the session id).
    public var connectionID: UInt64
    /// Reads pause while this many bytes are held; it caps throughput at
    /// `heldByteLimit ÷ delay` (see ``FaultPipeline/defaultHeldByteLimit``).
    public var heldByteLimit = FaultPipeline.defaultHeldByteLimit

    public init(_ stream: FaultStream, seed: UInt64, connection connectionID: UInt64) {
        self.stream = stream
        self.seed = seed
        self.connectionID = connectionID
    }
}
