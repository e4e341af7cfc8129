import NIOCore

/// What a ``FaultHandler`` still holds, with when each part is due, handed
/// to whoever forwards its bytes when the handler's channel goes inactive
/// before the faults' delays have run out.
///
/// NIO tears a closed channel's pipeline down right after
/// `channelInactive`, so the handler cannot keep its timers going. Instead it
/// fires this object as an inbound user event, just before passing
/// `channelInactive` on. A handler that forwards the bytes to another channel
/// (the proxy's glue) calls ``claim()`` and then, on that other channel's
/// event loop:
/// - writes each ``Entry/Event/data(_:)`` entry's buffers and flushes them,
///   at the entry's `due` instant,
/// - forwards ``Entry/Event/endOfStream`` (a half-close) or performs
///   ``Entry/Event/close(_:)`` at its instant, after the bytes before it,
/// - and holds back anything it would do because the source channel closed
///   (closing its own channel) until every entry has been handled.
///
/// Entries are in stream order with non-decreasing `due` instants. When
/// nobody claims the handoff, the handler falls back to releasing the held
/// bytes at once (limits and drops apply, delays do not).
package final class FaultHandoff {
    public struct Entry {
        public enum Event {
            /// One delivery: write the buffers in order, then flush once.
            case data([ByteBuffer])
            /// The peer's end of stream: half-close the destination's output
            /// once the bytes before it are written.
            case endOfStream
            /// A fault closes the connection (the source is gone already, so
            /// this concerns the destination only).
            case close(FaultCloseMode)
        }

        public var event: Event
        /// When the event is due, on the event loop's clock.
        public var due: NIODeadline

        public init(event: Event, due: NIODeadline) {
            self.event = event
            self.due = due
        }
    }

    private var entries: [Entry]
    /// True once ``claim()`` took the entries.
    public private(set) var isClaimed = false

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// The entries, without claiming them.
    public var pending: [Entry] { isClaimed ? [] : entries }

    /// Takes the entries: the caller now owns their delivery. Returns an
    /// empty list if they were claimed already.
    public func claim() -> [Entry] {
        guard !isClaimed else { return [] }
        isClaimed = true
        defer { entries = [] }
        return entries
    }
}

@available(*, unavailable)
extension FaultHandoff: Sendable {}
