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

    /// Replay nanoseconds for a recorded interval (0 at speed 0).
    func scaled(_ recorded: Int64) -> Int64 {
        guard speed > 0, recorded > 0 else { return 0 }
        return Int64((Double(recorded) / speed).rounded())
    }
}
