import NIOCore
import Recording

/// The sessions a replay plays, in recorded order, each read as a whole
/// script only when it is about to play: an array of loaded scripts, or a
/// ``SessionCatalog`` whose bytes wait on disk.
///
/// Positions run from 0 to `count - 1`. Threading: any thread.
public protocol SessionScriptSource: Sendable {
    var count: Int { get }
    /// What the session at `position` is, without its bytes.
    func outline(at position: Int) -> SessionOutline
    /// The session at `position` with its bytes (read from disk for a catalog).
    func script(at position: Int) throws -> SessionScript
    /// Up to `count` of the first bytes `direction` sent.
    func firstBytes(at position: Int, _ direction: Direction, upTo count: Int) throws -> ByteBuffer
    /// Up to `count` bytes `direction` sent, from `place` on: a part of a
    /// session read without the rest of it.
    func bytes(at position: Int, _ direction: Direction, from place: StreamPlace, count: Int) throws -> ByteBuffer
    /// The same sessions with every idle period cut to `maximum` (`--max-gap`).
    func cappingGaps(at maximum: Duration) -> Self
    /// Only the sessions at `positions`, in that order.
    func selecting(_ positions: [Int]) -> Self
}

/// A session as replay plans it before its bytes are read.
public struct SessionOutline: Sendable {
    public var session: Session
    public var end: SessionEnd
    /// The offset of the last step (the session's recorded length), in nanoseconds.
    public var duration: Int64
    /// The offset of the client's first step (bytes, half-close or reset), if it took one.
    public var firstClientStep: Int64?
    /// Where in its side's stream the capture first lost bytes, if it did.
    public var firstGapStreamOffset: Int?

    init(session: Session, end: SessionEnd, steps: some Collection<some PlayedStep>) {
        self.session = session
        self.end = end
        duration = steps.reversed().first?.offset ?? 0
        firstClientStep = steps.first { $0.direction == .clientToServer }?.offset
        firstGapStreamOffset = steps.firstGap?.streamOffset
    }
}

/// Where a byte of one side's stream lies among a session's steps: the
/// step that carries it, and how far into that step's bytes.
public struct StreamPlace: Sendable, Hashable {
    public var step: Int
    public var skip: Int
}

/// A step of a script, with or without its bytes.
protocol PlayedStep {
    var offset: Int64 { get set }
    var direction: Direction { get }
    var byteCount: Int { get }
    var isGap: Bool { get }
}

extension SessionScript.Step: PlayedStep {
    var isGap: Bool {
        if case .gap = action { return true }
        return false
    }
}

extension Collection where Element: PlayedStep {
    /// The first step where the capture lost bytes, with where in its side's stream it falls.
    var firstGap: (position: Index, streamOffset: Int)? {
        var offsets: [Direction: Int] = [:]
        for position in indices {
            let step = self[position]
            if step.isGap { return (position, offsets[step.direction, default: 0]) }
            offsets[step.direction, default: 0] += step.byteCount
        }
        return nil
    }
}

extension Array where Element: PlayedStep {
    /// Where each of `offsets` (ascending) of `direction`'s stream lies:
    /// nil for an offset past its last byte. One walk over the steps.
    func places(of offsets: [Int], _ direction: Direction) -> [StreamPlace?] {
        var places: [StreamPlace?] = []
        var step = startIndex
        var streamOffset = 0
        for offset in offsets {
            while step < endIndex, self[step].direction != direction || streamOffset + self[step].byteCount <= offset {
                if self[step].direction == direction { streamOffset += self[step].byteCount }
                step += 1
            }
            places.append(step < endIndex && offset >= streamOffset ? StreamPlace(step: step, skip: offset - streamOffset) : nil)
        }
        return places
    }
}

extension MutableCollection where Element: PlayedStep {
    /// Cuts every idle period longer than `maximum` nanoseconds to it; later
    /// steps move earlier by what was cut.
    mutating func capGaps(at maximum: Int64) {
        var previous: Int64 = 0
        var cut: Int64 = 0
        for index in indices {
            let original = self[index].offset
            let gap = original - previous
            if gap > maximum { cut += gap - maximum }
            previous = original
            self[index].offset = original - cut
        }
    }
}

extension Array: SessionScriptSource where Element == SessionScript {
    public func outline(at position: Int) -> SessionOutline {
        SessionOutline(session: self[position].session, end: self[position].end, steps: self[position].steps)
    }

    public func script(at position: Int) -> SessionScript { self[position] }

    public func firstBytes(at position: Int, _ direction: Direction, upTo count: Int) -> ByteBuffer {
        self[position].firstBytes(direction, upTo: count)
    }

    public func bytes(at position: Int, _ direction: Direction, from place: StreamPlace, count: Int) -> ByteBuffer {
        var bytes = ByteBuffer()
        var skip = place.skip
        for step in self[position].steps[place.step...] where step.direction == direction {
            guard bytes.readableBytes < count else { break }
            guard case .data(var buffer) = step.action else { continue }
            buffer.moveReaderIndex(forwardBy: Swift.min(skip, buffer.readableBytes))
            skip = 0
            var slice = buffer.readSlice(length: Swift.min(buffer.readableBytes, count - bytes.readableBytes))!
            bytes.writeBuffer(&slice)
        }
        return bytes
    }

    public func cappingGaps(at maximum: Duration) -> [SessionScript] { map { $0.cappingGaps(at: maximum) } }

    public func selecting(_ positions: [Int]) -> [SessionScript] { positions.map { self[$0] } }
}
