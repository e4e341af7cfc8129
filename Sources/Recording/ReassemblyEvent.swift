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
