import PcapFile

/// What `StreamReassembler` reports while it reads a capture, in capture order.
///
/// For every session: one `opened`, then its events (data in sequence order,
/// gaps where the capture lost bytes, half-closes, a reset), then one `closed`
/// — at its final FIN/RST, or when the capture ends with it still open.
public enum ReassemblyEvent: Sendable {
    case opened(Session)
    case event(session: Int, SessionEvent)
    case closed(session: Int, at: Timestamp, end: SessionEnd)
}

/// Bytes of a session that `StreamReassembler` delivers as they arrive,
/// lent to a reader that asked for them uncopied (one that only counts or
/// hashes them): in place of `.event(session:, SessionEvent)` with `.data`,
/// at the same point in the order of events. `bytes` are valid only during
/// the call.
public struct LentBytes {
    public var session: Int
    public var time: Timestamp
    public var direction: Direction
    public var bytes: UnsafeRawBufferPointer
}
