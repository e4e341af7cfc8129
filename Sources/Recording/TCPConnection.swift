import PcapFile

/// One TCP connection under reassembly: its session and its two directions.
/// Once closed it stays as a tombstone that absorbs late retransmissions and
/// ACKs, until a new SYN on the same 4-tuple starts a new connection.
struct TCPConnection {
    let session: Session
    /// True when side A of the flow key is the client.
    let clientIsA: Bool
    private var clientToServer = HalfStream()
    private var serverToClient = HalfStream()
    /// The last acknowledgement number each side sent, to start the peer's
    /// stream where the receiver says it is when the capture began mid-flow.
    private var clientAcknowledgement: UInt32?
    private var serverAcknowledgement: UInt32?
    private(set) var lastTime: Timestamp
    private(set) var isClosed = false

    /// A connection whose first captured segment is `segment`, sent by side A
    /// of its flow key when `sentByA`.
    init(index: Int, first segment: TCPSegment, sentByA: Bool, at time: Timestamp) {
        let sourceIsClient = Self.isSentByClient(segment)
        let source = Endpoint.ip(segment.source, port: segment.sourcePort)
        let destination = Endpoint.ip(segment.destination, port: segment.destinationPort)
        session = Session(
            index: index,
            client: sourceIsClient ? source : destination,
            server: sourceIsClient ? destination : source,
            opened: time,
            startedMidFlow: !segment.flags.contains(.syn)
        )
        clientIsA = sentByA == sourceIsClient
        lastTime = time
    }

    /// Captured bytes held out of order in both directions.
    var heldBytes: Int { clientToServer.heldBytes + serverToClient.heldBytes }

    /// True when `segment` is a SYN that opens a new connection on this
    /// 4-tuple (port reuse) rather than belonging to this one.
    func isNewConnection(_ segment: TCPSegment, sentByA: Bool) -> Bool {
        guard segment.flags.contains(.syn) else { return false }
        let sender = sentByA == clientIsA ? clientToServer : serverToClient
        if let initial = sender.initialSequenceNumber {
            return initial != segment.sequenceNumber
        }
        return isClosed || (!segment.flags.contains(.ack) && sender.hasStarted)
    }

    /// Takes in one segment of this connection.
    mutating func process<Failure: Error>(
        _ segment: TCPSegment,
        sentByA: Bool,
        at time: Timestamp,
        limits: StreamReassembler.Limits,
        emit: (ReassemblyEvent) throws(Failure) -> Void,
        lend: ((LentBytes) throws(Failure) -> Void)? = nil
    ) throws(Failure) {
        guard !isClosed else { return }
        lastTime = time
        let direction: Direction = sentByA == clientIsA ? .clientToServer : .serverToClient
        let flags = segment.flags
        let isSyn = flags.contains(.syn)
        let acknowledgement = flags.contains(.ack) ? segment.acknowledgementNumber : nil
        let peerAcknowledgement = direction == .clientToServer ? serverAcknowledgement : clientAcknowledgement
        if direction == .clientToServer {
            clientAcknowledgement = acknowledgement ?? clientAcknowledgement
        } else {
            serverAcknowledgement = acknowledgement ?? serverAcknowledgement
        }
        let index = session.index
        func output(_ direction: Direction, _ kind: SessionEvent.Kind) throws(Failure) {
            try emit(.event(session: index, SessionEvent(time: time, direction: direction, kind: kind)))
        }
        func senderOutput(_ kind: SessionEvent.Kind) throws(Failure) {
            try output(direction, kind)
        }
        func receiverOutput(_ kind: SessionEvent.Kind) throws(Failure) {
            try output(direction.reversed, kind)
        }
        try withStreams(sender: direction) { (sender: inout HalfStream, receiver: inout HalfStream) throws(Failure) in
            if isSyn && !sender.hasStarted {
                sender.start(initialSequenceNumber: segment.sequenceNumber)
            }
            if isSyn, let acknowledgement, !receiver.hasStarted {
                receiver.start(initialSequenceNumber: acknowledgement &- 1)
            }
            if !sender.hasStarted {
                sender.start(at: peerAcknowledgement ?? segment.sequenceNumber)
            }
            guard !flags.contains(.rst) else { return }
            let offset = sender.offset(of: segment.sequenceNumber &+ (isSyn ? 1 : 0))
            let length = segment.payload.count + segment.missingPayloadBytes
            if length > 0 {
                try sender.receive(
                    offset: offset,
                    payload: segment.payload,
                    missing: segment.missingPayloadBytes,
                    limits: limits,
                    output: senderOutput,
                    lend: lend.map { lend in
                        { (bytes: UnsafeRawBufferPointer) throws(Failure) in
                            try lend(LentBytes(session: index, time: time, direction: direction, bytes: bytes))
                        }
                    }
                )
            }
            if flags.contains(.fin) {
                try sender.receiveFin(at: offset + Int64(length), output: senderOutput)
            }
            if let acknowledgement, receiver.hasStarted {
                try receiver.acknowledged(upTo: receiver.offset(of: acknowledgement), output: receiverOutput)
            }
        }
        if flags.contains(.rst) {
            try drainStreams(at: time, emit: emit)
            try output(direction, .reset)
            try markClosed(at: time, end: .reset, emit: emit)
        } else if clientToServer.isHalfClosed && serverToClient.isHalfClosed {
            try markClosed(at: time, end: .fin, emit: emit)
        }
    }

    /// Ends the connection where the capture leaves it: held bytes are
    /// delivered, holes before them (and before a FIN seen out of sequence)
    /// become gaps. The end is `.fin` when both FINs were seen, else `.open`.
    mutating func close<Failure: Error>(emit: (ReassemblyEvent) throws(Failure) -> Void) throws(Failure) {
        guard !isClosed else { return }
        try drainStreams(at: lastTime, emit: emit)
        let end: SessionEnd = clientToServer.isHalfClosed && serverToClient.isHalfClosed ? .fin : .open
        try markClosed(at: lastTime, end: end, emit: emit)
    }

    private mutating func drainStreams<Failure: Error>(at time: Timestamp, emit: (ReassemblyEvent) throws(Failure) -> Void) throws(Failure) {
        let index = session.index
        for direction in Direction.allCases {
            func output(_ kind: SessionEvent.Kind) throws(Failure) {
                try emit(.event(session: index, SessionEvent(time: time, direction: direction, kind: kind)))
            }
            if direction == .clientToServer {
                try clientToServer.drain(output)
            } else {
                try serverToClient.drain(output)
            }
        }
    }

    private mutating func markClosed<Failure: Error>(at time: Timestamp, end: SessionEnd, emit: (ReassemblyEvent) throws(Failure) -> Void) throws(Failure) {
        isClosed = true
        try emit(.closed(session: session.index, at: time, end: end))
    }

    private mutating func withStreams<Failure: Error>(
        sender direction: Direction,
        _ body: (inout HalfStream, inout HalfStream) throws(Failure) -> Void
    ) throws(Failure) {
        if direction == .clientToServer {
            try body(&clientToServer, &serverToClient)
        } else {
            try body(&serverToClient, &clientToServer)
        }
    }

    /// Whether the sender of a connection's first captured segment is its client.
    ///
    /// A SYN says it (SYN: the client; SYN-ACK: the server). Without one, the
    /// server is the side on a well-known port (below 1024) when only one is;
    /// else the side on a non-ephemeral port (below 32768, where Linux, BSD and
    /// Windows never pick ephemeral ports) when only one is; else the lower
    /// port; with equal ports, the receiver.
    static func isSentByClient(_ segment: TCPSegment) -> Bool {
        if segment.flags.contains(.syn) {
            return !segment.flags.contains(.ack)
        }
        let source = segment.sourcePort
        let destination = segment.destinationPort
        if (source < 1024) != (destination < 1024) {
            return destination < 1024
        }
        if (source < 32768) != (destination < 32768) {
            return destination < 32768
        }
        return source >= destination
    }
}
