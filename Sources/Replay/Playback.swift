import Faults

/// How a replay plays, serving (``ServeConfiguration``) or driving
/// (``DriveConfiguration``): when it sends, what it compares with the
/// recording, and the faults on its connections.
public struct Playback: Sendable {
    public var timing: ReplayTiming
    public var comparison: ReplayComparison
    public var faults: FaultSettings

    public init(timing: ReplayTiming = ReplayTiming(), comparison: ReplayComparison = ReplayComparison(), faults: FaultSettings = FaultSettings()) {
        self.timing = timing
        self.comparison = comparison
        self.faults = faults
    }
}
