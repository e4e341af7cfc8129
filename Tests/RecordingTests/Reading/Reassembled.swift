import TapedeckTestSupport
import NIOCore
import PcapFile
import Recording

/// Everything a reassembler reported, gathered per session.
struct Reassembled {
    /// One thing a session reported, comparable in tests.
    enum Step: Equatable, CustomStringConvertible {
        case data(Direction, [UInt8])
        case gap(Direction, Int)
        case halfClose(Direction)
        case reset(Direction)

        var description: String {
            switch self {
            case .data(let direction, let bytes): "data(\(direction), \(bytes.count) bytes)"
            case .gap(let direction, let count): "gap(\(direction), \(count))"
            case .halfClose(let direction): "halfClose(\(direction))"
            case .reset(let direction): "reset(\(direction))"
            }
        }
    }

    struct Stream {
        var session: Session
        var steps: [Step] = []
        var times: [Timestamp] = []
        var end: SessionEnd?
        var closedAt: Timestamp?

        func bytes(_ direction: Direction) -> [UInt8] {
            steps.flatMap { step -> [UInt8] in
                if case .data(direction, let bytes) = step { return bytes }
                return []
            }
        }

        func gaps(_ direction: Direction) -> [Int] {
            steps.compactMap { step in
                if case .gap(direction, let count) = step { return count }
                return nil
            }
        }

        /// Steps with consecutive data of one direction merged: how the
        /// stream reads regardless of how it was cut into chunks.
        var mergedSteps: [Step] {
            var merged: [Step] = []
            for step in steps {
                if case .data(let direction, let bytes) = step, case .data(direction, let previous)? = merged.last {
                    merged[merged.count - 1] = .data(direction, previous + bytes)
                } else {
                    merged.append(step)
                }
            }
            return merged
        }
    }

    var sessions: [Stream] = []
    /// Sessions reported closed, in the order they closed.
    var closedOrder: [Int] = []

    mutating func record(_ event: ReassemblyEvent) {
        switch event {
        case .opened(let session):
            precondition(session.index == sessions.count, "sessions must be numbered in order")
            sessions.append(Stream(session: session))
        case .event(let index, let event):
            precondition(sessions[index].end == nil, "event after close")
            let step: Step
            switch event.kind {
            case .data(let buffer): step = .data(event.direction, Array(buffer.readableBytesView))
            case .gap(let count): step = .gap(event.direction, count)
            case .halfClose: step = .halfClose(event.direction)
            case .reset: step = .reset(event.direction)
            }
            sessions[index].steps.append(step)
            sessions[index].times.append(event.time)
        case .closed(let index, let time, let end):
            precondition(sessions[index].end == nil, "closed twice")
            sessions[index].end = end
            sessions[index].closedAt = time
            closedOrder.append(index)
        }
    }

    /// True when every opened session was closed.
    var allClosed: Bool { sessions.allSatisfy { $0.end != nil } }

    /// Reads `paths` as one capture.
    static func read(_ paths: [String], filter: String? = nil, limits: StreamReassembler.Limits = .init()) throws -> Reassembled {
        var result = Reassembled()
        try StreamReassembler.read(paths: paths, filter: filter, limits: limits) { result.record($0) }
        return result
    }
}
