import NIOCore
import PcapFile

/// Where sessions are recorded as they happen (a `Recorder`): the proxy and
/// `replay drive -w` report every session to one.
///
/// Threading: called from any session's event loop; implementations are
/// thread-safe and never block the caller.
public protocol SessionSink: AnyObject, Sendable {
    func open(_ session: Session)
    func record(_ event: SessionEvent, session id: UInt64)
    /// Bytes one side sent, lent for the call only: a reader that reuses
    /// its buffer (the splice worker) hands them over this way, and the
    /// sink copies what it keeps.
    func record(copying bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, session id: UInt64)
    func close(session id: UInt64, at time: Timestamp)

    /// The faults that have acted on session `id` so far, by name: the
    /// whole list, each time it grows or one of them does more. Sent
    /// between `open` and `close`; the manifest lists the last one.
    func faults(_ faults: [SessionFault], session id: UInt64)

    /// Back-pressure from a slow disk: nil while reads may go on, otherwise a
    /// future on `eventLoop` that succeeds once the backlog has drained.
    func backlogDrained(on eventLoop: EventLoop) -> EventLoopFuture<Void>?
}

extension SessionSink {
    /// Copies the bytes into a buffer of their own and records them as an event.
    public func record(copying bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, session id: UInt64) {
        record(SessionEvent(time: time, direction: direction, copying: bytes), session: id)
    }

    /// A sink that keeps no manifest ignores them.
    public func faults(_ faults: [SessionFault], session id: UInt64) {}
}
