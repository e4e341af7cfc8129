import Faults
import NIOCore
import PcapFile
import Recording

/// One recorded session as a script to play: what each side sent, in order,
/// with when it sent it, and how each side ended.
///
/// Times are offsets from the session's opening (its SYN, or its first
/// captured frame when the capture started mid-flow), in nanoseconds.
public struct SessionScript: Sendable {
    public struct Step: Sendable {
        /// What the side did: sent bytes, half-closed, reset, or (a gap)
        /// sent bytes the capture lost, past which the session cannot be played.
        public typealias Action = SessionEvent.Kind

        /// Nanoseconds since the session opened.
        public var offset: Int64
        public var direction: Direction
        public var action: Action

        public init(offset: Int64, direction: Direction, action: Action) {
            self.offset = offset
            self.direction = direction
            self.action = action
        }

        public var byteCount: Int {
            if case .data(let buffer) = action { return buffer.readableBytes }
            return 0
        }
    }

    public var session: Session
    public var steps: [Step]
    /// How the recording saw the session end.
    public var end: SessionEnd

    public init(session: Session, steps: [Step], end: SessionEnd) {
        self.session = session
        self.steps = steps
        self.end = end
    }

    /// Everything one side sent, in one buffer (what the other side must see).
    public func bytes(_ direction: Direction) -> ByteBuffer {
        var all = ByteBuffer()
        all.reserveCapacity(byteCount(direction))
        for step in steps where step.direction == direction {
            if case .data(var buffer) = step.action { all.writeBuffer(&buffer) }
        }
        return all
    }

    public func byteCount(_ direction: Direction) -> Int {
        steps.lazy.filter { $0.direction == direction }.reduce(0) { $0 + $1.byteCount }
    }

    /// The first step where the capture lost bytes, if any.
    public var firstGap: (step: Step, streamOffset: Int)? {
        steps.firstGap.map { (steps[$0.position], $0.streamOffset) }
    }

    /// The offset of the last step (the session's recorded length).
    public var duration: Int64 { steps.last?.offset ?? 0 }

    /// The same script with every idle period longer than `maximum` cut to
    /// `maximum` (`--max-gap`); later steps move earlier by what was cut.
    public func cappingGaps(at maximum: Duration) -> SessionScript {
        var copy = self
        copy.steps.capGaps(at: maximum.clampedNanoseconds)
        return copy
    }
}
