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
        var offsets: [Direction: Int] = [:]
        for step in steps {
            if case .gap = step.action { return (step, offsets[step.direction, default: 0]) }
            offsets[step.direction, default: 0] += step.byteCount
        }
        return nil
    }

    /// The offset of the last step (the session's recorded length).
    public var duration: Int64 { steps.last?.offset ?? 0 }

    /// The same script with every idle period longer than `maximum` cut to
    /// `maximum` (`--max-gap`); later steps move earlier by what was cut.
    public func cappingGaps(at maximum: Duration) -> SessionScript {
        let limit = maximum.clampedNanoseconds
        var copy = self
        var previous: Int64 = 0
        var cut: Int64 = 0
        for index in copy.steps.indices {
            let original = copy.steps[index].offset
            let gap = original - previous
            if gap > limit { cut += gap - limit }
            previous = original
            copy.steps[index].offset = original - cut
        }
        return copy
    }
}

extension SessionScript {
    /// Reads every session of a recording (or a capture Tapedeck did not
    /// make, or a rotated set read as one) into scripts, in the order the
    /// sessions opened. Sessions that carried no bytes at all are kept: a
    /// client that connects and leaves is a session too. A file cut short
    /// part-way through a record (a crash while it was written) is read up
    /// to that record and reported to `truncated`.
    public static func load(
        paths: [String],
        filter: String? = nil,
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        truncated: (PcapError) -> Void = { _ in }
    ) throws -> [SessionScript] {
        let reader = try RecordingReader(paths: paths, filter: filter)
        var open: [Int: SessionScript] = [:]
        var finished: [SessionScript] = []
        try reader.read(progress: progress, truncated: truncated) { event in
            switch event {
            case .opened(let session):
                open[session.index] = SessionScript(session: session, steps: [], end: .open)
            case .event(let index, let sessionEvent):
                guard var script = open[index] else { return }
                let offset = max(0, script.session.opened.duration(to: sessionEvent.time).clampedNanoseconds)
                open[index] = nil
                script.steps.append(Step(offset: offset, direction: sessionEvent.direction, action: sessionEvent.kind))
                open[index] = script
            case .closed(let index, _, let end):
                guard var script = open.removeValue(forKey: index) else { return }
                script.end = end
                finished.append(script)
            }
        }
        finished.append(contentsOf: open.values)
        return finished.sorted { ($0.session.opened, $0.session.index) < ($1.session.opened, $1.session.index) }
    }
}
