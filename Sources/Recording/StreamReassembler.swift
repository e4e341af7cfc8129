import NIOCore
import PcapFile

/// Reassembles the TCP connections of a capture into sessions: fed segments
/// in capture order, it reports each session's bytes per direction in
/// sequence order as `ReassemblyEvent`s.
///
/// - Retransmissions, duplicates and keep-alive probes deliver nothing new;
///   overlapping segments deliver only bytes not seen before (the first copy
///   of a byte wins); out-of-order segments are held until the bytes before
///   them arrive. Sequence numbers are unwrapped to 64-bit offsets.
/// - A capture that starts mid-flow: a direction's stream starts where the
///   peer's last acknowledgement says, else at the first sequence number seen.
///   Roles come from the SYN when there is one, else from ports (see
///   `TCPConnection.isSentByClient`).
/// - Gaps: bytes the capture lost are reported as `.gap(bytes:)`, never filled,
///   once they cannot arrive any more: when the peer acknowledges bytes beyond
///   them (the receiver has them, the capture does not), when a direction holds
///   more than `Limits.maximumHeldBytes` out of order, when the connection is
///   reset, and at `finish`. Bytes cut off by the snapshot length are a gap at
///   once. Trailing bytes that nothing acknowledges are never known, so never
///   reported.
/// - FIN: `.halfClose` once everything before it is delivered; `closed(.fin)`
///   when both directions are half-closed. RST: held bytes are delivered (with
///   gaps), then `.reset` and `closed(.reset)`; data on an RST is not delivered.
/// - A SYN with a new initial sequence number on a known 4-tuple starts a new
///   session (port reuse); the old one, if still open, is closed first.
///
/// Sessions are numbered from 0 in the order of their first packet. Event
/// times are the time of the packet that carried or completed the bytes;
/// what a close or `finish` releases gets the time of the connection's last
/// packet. Memory: delivered bytes are not kept; what is held is bounded by
/// `Limits` (held bytes per direction, and closed connections remembered).
///
/// Threading: a value type with one owner; `emit` is called synchronously.
public struct StreamReassembler {
    /// Bounds on what the reassembler keeps.
    public struct Limits: Sendable {
        /// Captured bytes one direction may hold out of order before the hole
        /// before them is declared a gap.
        public var maximumHeldBytes: Int
        /// Out-of-order chunks one direction may hold (tiny segments).
        public var maximumHeldChunks: Int
        /// Closed connections remembered to absorb their late retransmissions.
        public var maximumClosedConnections: Int
        /// How long, in capture time, a closed connection is remembered.
        public var closedConnectionLifetime: Duration

        public init(
            maximumHeldBytes: Int = 8 << 20,
            maximumHeldChunks: Int = 8192,
            maximumClosedConnections: Int = 16384,
            closedConnectionLifetime: Duration = .seconds(120)
        ) {
            self.maximumHeldBytes = maximumHeldBytes
            self.maximumHeldChunks = maximumHeldChunks
            self.maximumClosedConnections = maximumClosedConnections
            self.closedConnectionLifetime = closedConnectionLifetime
        }
    }

    public let limits: Limits
    /// Sessions opened so far; the next one gets this index.
    public private(set) var sessionCount = 0
    /// Captured bytes currently held out of order, over all connections.
    public private(set) var heldBytes = 0
    /// Frames given to `process(_:decoder:emit:)` that carry no TCP segment.
    public private(set) var skippedFrameCount = 0

    private var connections: [TCPConnection] = []
    private var slots: [FlowKey: Int] = [:]
    private var freeSlots: [Int] = []
    private var closed = CircularBuffer<(key: FlowKey, slot: Int, session: Int, at: Timestamp)>()

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Decodes `packet` with `decoder` and processes its TCP segment, if any.
    /// `lend`: see `process(_:at:emit:lend:)`.
    package mutating func process<Failure: Error>(
        _ packet: PcapPacket,
        decoder: LinkDecoder,
        emit: (ReassemblyEvent) throws(Failure) -> Void,
        lend: ((LentBytes) throws(Failure) -> Void)? = nil
    ) throws(Failure) {
        guard let segment = decoder.decode(packet) else {
            skippedFrameCount += 1
            return
        }
        try process(segment, at: packet.timestamp, emit: emit, lend: lend)
    }

    /// Takes in the next segment of the capture, captured at `time`. With
    /// `lend`, bytes delivered as they arrive are lent to it uncopied
    /// instead of emitted (`LentBytes`); bytes held out of order are
    /// emitted as `.data` all the same.
    package mutating func process<Failure: Error>(
        _ segment: TCPSegment,
        at time: Timestamp,
        emit: (ReassemblyEvent) throws(Failure) -> Void,
        lend: ((LentBytes) throws(Failure) -> Void)? = nil
    ) throws(Failure) {
        forgetClosedConnections(before: time)
        let key = FlowKey(segment)
        let sentByA = key.isSentByA(segment)
        let slot: Int
        if let known = slots[key] {
            slot = known
            if connections[slot].isNewConnection(segment, sentByA: sentByA) {
                heldBytes -= connections[slot].heldBytes
                try connections[slot].close(emit: emit)
                connections[slot] = try open(segment, sentByA: sentByA, at: time, emit: emit)
            }
        } else {
            slot = freeSlots.popLast() ?? connections.count
            let connection = try open(segment, sentByA: sentByA, at: time, emit: emit)
            if slot == connections.count {
                connections.append(connection)
            } else {
                connections[slot] = connection
            }
            slots[key] = slot
        }
        let wasClosed = connections[slot].isClosed
        let heldBefore = connections[slot].heldBytes
        try connections[slot].process(segment, sentByA: sentByA, at: time, limits: limits, emit: emit, lend: lend)
        heldBytes += connections[slot].heldBytes - heldBefore
        if !wasClosed && connections[slot].isClosed {
            closed.append((key, slot, connections[slot].session.index, time))
        }
    }

    /// Ends the capture: closes every open session in index order (see
    /// `TCPConnection.close`) and forgets all connections. Session numbering
    /// goes on if more segments follow.
    public mutating func finish<Failure: Error>(emit: (ReassemblyEvent) throws(Failure) -> Void) throws(Failure) {
        let open = slots.values.filter { !connections[$0].isClosed }.sorted {
            connections[$0].session.index < connections[$1].session.index
        }
        for slot in open {
            try connections[slot].close(emit: emit)
        }
        connections.removeAll()
        slots.removeAll()
        freeSlots.removeAll()
        closed.removeAll()
        heldBytes = 0
    }

    private mutating func open<Failure: Error>(
        _ segment: TCPSegment,
        sentByA: Bool,
        at time: Timestamp,
        emit: (ReassemblyEvent) throws(Failure) -> Void
    ) throws(Failure) -> TCPConnection {
        let connection = TCPConnection(index: sessionCount, first: segment, sentByA: sentByA, at: time)
        sessionCount += 1
        try emit(.opened(connection.session))
        return connection
    }

    private mutating func forgetClosedConnections(before time: Timestamp) {
        let horizon = time.advanced(by: .zero - limits.closedConnectionLifetime)
        while let oldest = closed.first, closed.count > limits.maximumClosedConnections || oldest.at < horizon {
            closed.removeFirst()
            let connection = connections[oldest.slot]
            if connection.isClosed && connection.session.index == oldest.session {
                slots[oldest.key] = nil
                freeSlots.append(oldest.slot)
            }
        }
    }
}
