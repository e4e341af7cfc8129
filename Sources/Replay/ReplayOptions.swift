import Faults
import Recording

/// How recorded time becomes replay time.
public struct ReplayTiming: Sendable, Hashable {
    /// 1 plays at recorded speed, 2 twice as fast; 0 does not wait at all.
    public var speed: Double
    /// Idle periods longer than this are cut to it (nil: none are).
    public var maxGap: Duration?
    /// A turn of the peer ends when its recorded bytes have arrived or,
    /// after some arrived, after this long without more.
    public var turnIdle: Duration
    /// How long to wait for a peer's turn when none of it has arrived.
    public var replyTimeout: Duration

    public init(speed: Double = 1, maxGap: Duration? = nil, turnIdle: Duration = .milliseconds(50), replyTimeout: Duration = .seconds(5)) {
        self.speed = speed
        self.maxGap = maxGap
        self.turnIdle = turnIdle
        self.replyTimeout = replyTimeout
    }

    /// Replay nanoseconds for a recorded interval (0 at speed 0), at most
    /// `Fault.maximumDuration` however small the speed.
    func scaled(_ recorded: Int64) -> Int64 {
        guard speed > 0, recorded > 0 else { return 0 }
        let limit = Fault.maximumDuration.clampedNanoseconds
        let nanoseconds = (Double(recorded) / speed).rounded()
        return nanoseconds < Double(limit) ? Int64(nanoseconds) : limit
    }
}

/// What a strict replay does at the first difference.
public enum MismatchPolicy: String, Sendable, CaseIterable, Codable {
    /// Close the connection (a FIN).
    case close
    /// Reset the connection (an RST).
    case reset
    /// Log it, count it, and go on.
    case `continue`
}

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
