import NIOCore

/// Redacts one session's events for the recorder: each direction through its
/// own `RedactionStream`, and the events handed back in the order they came,
/// each with its own bytes and time — masked, but cut and timed as it was.
///
/// An event waits while any of its bytes could still be part of a match (and
/// the session's later events wait behind it, so the file keeps their
/// order). At most `waitingLimit` bytes wait per session: past it, the bytes
/// a match could still take are masked and everything goes out.
struct SessionRedaction {
    /// Bytes of a session that may wait for a match to be decided.
    static let waitingLimit = 256 << 10

    private var streams: [RedactionStream]
    private var waiting: [Waiting] = []
    private var waitingBytes = 0
    /// Per direction: the offset of the next byte to come.
    private var offsets: [Int64] = [0, 0]

    private struct Waiting {
        var event: SessionEvent
        /// Where a data event's bytes start in their direction.
        var offset: Int64
    }

    init(redactor: Redactor) {
        streams = [RedactionStream(redactor: redactor), RedactionStream(redactor: redactor)]
    }

    /// Takes the session's next event; returns the events that may be
    /// written now, in order.
    mutating func pass(_ event: SessionEvent) -> [SessionEvent] {
        let side = Self.index(event.direction)
        switch event.kind {
        case .data(let buffer):
            waiting.append(Waiting(event: event, offset: offsets[side]))
            offsets[side] += Int64(buffer.readableBytes)
            waitingBytes += buffer.readableBytes
            streams[side].append(buffer.readableBytesView)
        case .halfClose:
            streams[side].finish()
            waiting.append(Waiting(event: event, offset: offsets[side]))
        case .reset:
            streams[0].finish()
            streams[1].finish()
            waiting.append(Waiting(event: event, offset: offsets[side]))
        case .gap:
            streams[side].gap()
            waiting.append(Waiting(event: event, offset: offsets[side]))
        }
        if waitingBytes > Self.waitingLimit {
            streams[0].settleNow()
            streams[1].settleNow()
        }
        return release()
    }

    /// The session ended: every event still waiting, its matches decided.
    mutating func finish() -> [SessionEvent] {
        streams[0].finish()
        streams[1].finish()
        return release()
    }

    private mutating func release() -> [SessionEvent] {
        var ready: [SessionEvent] = []
        var released = 0
        for entry in waiting {
            var event = entry.event
            let side = Self.index(event.direction)
            if case .data(let buffer) = event.kind {
                let count = buffer.readableBytes
                guard entry.offset + Int64(count) <= streams[side].settled else { break }
                if let masked = streams[side].masked(buffer.readableBytesView, at: entry.offset) {
                    event.kind = .data(ByteBuffer(bytes: masked))
                }
                waitingBytes -= count
            }
            ready.append(event)
            released += 1
        }
        waiting.removeFirst(released)
        return ready
    }

    private static func index(_ direction: Direction) -> Int {
        direction == .clientToServer ? 0 : 1
    }
}
