import NIOCore
import PcapFile

/// Turns one session's events into the Ethernet/IP/TCP frames of a
/// real-looking TCP flow (DESIGN §3): a three-way handshake with a random
/// initial sequence number per direction, data segments of at most
/// `maximumSegmentPayload` bytes with correct sequence and acknowledgement
/// numbers (64-bit counters, so they wrap past 4 GiB), ACK on every segment,
/// FIN+ACK on each half-close in the order it happened, RST+ACK on a reset,
/// and valid IPv4 and TCP checksums. A side that receives a long stream
/// without sending anything acknowledges it with a bare ACK every
/// `acknowledgementInterval` (Wireshark takes a segment more than 2 GiB past
/// the receiver's last acknowledgement for a retransmission).
///
/// A `.gap` advances the sequence number without a segment, so Wireshark
/// shows the loss where it happened ("previous segment not captured").
///
/// A frame is handed on in two parts: its headers (Ethernet, IP, TCP, the
/// checksum computed over the payload where it lies) and its payload, never
/// copied here. `records(for:)` gathers an event's frames into `FrameRecords`
/// — what the recorder does on the event loop that read the bytes; `emit`
/// hands whole frames one at a time, built in a reusable `FrameScratch`
/// (valid only during the call). Synthesizers that one owner drives share one
/// scratch buffer, so a session costs a few dozen bytes of state, not a
/// frame's worth.
package struct FrameSynthesizer {
    /// The largest payload of one segment: an IPv4 packet of 65,535 bytes.
    public static let maximumSegmentPayload = 65_495
    /// The longest headers of a frame: Ethernet, IPv6, TCP.
    public static let maximumHeaderLength = 14 + 40 + 20
    /// The most sequence space one direction uses before its receiver, if
    /// it sent nothing meanwhile, acknowledges it with a bare ACK: well
    /// inside the 2 GiB that TCP's sequence comparisons (and Wireshark's)
    /// allow, and rare enough to cost nothing (one frame a GiB).
    public static let acknowledgementInterval: UInt64 = 1 << 30

    /// A whole frame, valid only during the call.
    public typealias Emit = (Timestamp, UnsafeRawBufferPointer) throws -> Void
    /// A frame as its headers and its payload (empty for a bare segment),
    /// both valid only during the call.
    public typealias EmitParts = (Timestamp, _ headers: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) throws -> Void

    public let session: Session
    public let flow: FlowAddresses
    private let clientMAC: UInt64
    private let serverMAC: UInt64
    private var clientISN: UInt32
    private var serverISN: UInt32
    /// Bytes of sequence space used so far per direction (SYN and FIN count one).
    private var clientOffset: UInt64 = 0
    private var serverOffset: UInt64 = 0
    /// Sequence space per direction used since the other side's last
    /// segment, which acknowledged everything before.
    private var clientUnacknowledged: UInt64 = 0
    private var serverUnacknowledged: UInt64 = 0
    private var clientIPID: UInt16 = 0
    private var serverIPID: UInt16 = 0
    private var clientFinished = false
    private var serverFinished = false
    private var clientReset = false
    private var serverReset = false
    var scratch: FrameScratch

    public init(
        session: Session,
        addressing: SyntheticAddressing = SyntheticAddressing(),
        initialSequenceNumbers: (client: UInt32, server: UInt32)? = nil,
        scratch: FrameScratch = FrameScratch()
    ) {
        self.session = session
        self.flow = addressing.addresses(for: session)
        let isns = initialSequenceNumbers ?? (UInt32.random(in: .min ... .max), UInt32.random(in: .min ... .max))
        self.clientISN = isns.client
        self.serverISN = isns.server
        // Locally administered MACs carrying the session id: 02:43:… client, 02:53:… server.
        self.clientMAC = 0x0243_0000_0000 | (session.id & 0xFFFF_FFFF)
        self.serverMAC = 0x0253_0000_0000 | (session.id & 0xFFFF_FFFF)
        self.scratch = scratch
    }

    /// SYN, SYN+ACK, ACK at the session's opening time.
    public mutating func handshake(emit: Emit) rethrows {
        let scratch = scratch
        try handshake(parts: { time, headers, payload in try scratch.join(headers, payload) { try emit(time, $0) } })
    }

    public mutating func handshake(parts emit: EmitParts) rethrows {
        let time = session.opened
        try segment(.clientToServer, flags: .syn, payload: nil, at: time, emit: emit)
        clientOffset = 1
        try segment(.serverToClient, flags: [.syn, .ack], payload: nil, at: time, emit: emit)
        serverOffset = 1
        try segment(.clientToServer, flags: .ack, payload: nil, at: time, emit: emit)
    }

    public mutating func append(_ event: SessionEvent, emit: Emit) rethrows {
        let scratch = scratch
        try append(event, parts: { time, headers, payload in try scratch.join(headers, payload) { try emit(time, $0) } })
    }

    public mutating func append(_ event: SessionEvent, parts emit: EmitParts) rethrows {
        switch event.kind {
        case .data(let buffer):
            try buffer.withUnsafeReadableBytes { bytes in
                try data(bytes, direction: event.direction, at: event.time, parts: emit)
            }
        case .halfClose:
            try halfClose(event.direction, at: event.time, emit: emit)
        case .reset:
            try reset(event.direction, at: event.time, emit: emit)
        case .gap(let bytes):
            advance(event.direction, by: UInt64(bytes))
        }
    }

    /// Bytes one side sent, split into segments that fit an IP packet.
    public mutating func data(_ bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, emit: Emit) rethrows {
        let scratch = scratch
        try data(bytes, direction: direction, at: time, parts: { time, headers, payload in try scratch.join(headers, payload) { try emit(time, $0) } })
    }

    public mutating func data(_ bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, parts emit: EmitParts) rethrows {
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Self.maximumSegmentPayload)
            if acknowledgementDue(direction, before: end - start) {
                try segment(direction.reversed, flags: .ack, payload: nil, at: time, emit: emit)
            }
            let flags: TCPFlags = end == bytes.count ? [.ack, .psh] : .ack
            try segment(direction, flags: flags, payload: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), at: time, emit: emit)
            advance(direction, by: UInt64(end - start))
            start = end
        }
    }

    /// The frames of `event` (none for a gap, which only moves the sequence
    /// number on), gathered for the recorder's writer: headers copied, large
    /// payloads kept as slices of the event's buffer.
    public mutating func records(for event: SessionEvent) -> FrameRecords? {
        if case .gap = event.kind {
            append(event, parts: { _, _, _ in })
            return nil
        }
        var acknowledgements = 0
        if case .data(let buffer) = event.kind { acknowledgements = acknowledgementsDue(event.direction, before: buffer.readableBytes) }
        var builder = FrameRecords.Builder(event: event, acknowledgements: acknowledgements)
        append(event, parts: { time, headers, payload in builder.add(time, headers, payload) })
        return builder.records
    }

    /// The frames of a few bytes one side sent (at most
    /// `FrameRecords.copiedPayloadLimit`), copied into them: the records
    /// hold the only copy the recorder keeps, so `bytes` need only be valid
    /// during the call.
    package mutating func records(copying bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp) -> FrameRecords {
        var builder = FrameRecords.Builder(copying: bytes.count, acknowledgements: acknowledgementsDue(direction, before: bytes.count))
        data(bytes, direction: direction, at: time, parts: { time, headers, payload in builder.add(time, headers, payload) })
        return builder.records
    }

    /// The handshake's frames, gathered like `records(for:)`'s.
    public mutating func handshakeRecords() -> FrameRecords {
        var builder = FrameRecords.Builder(segments: 3)
        handshake(parts: { time, headers, payload in builder.add(time, headers, payload) })
        return builder.records
    }

    /// The side sending in `direction` shut down its write half: FIN+ACK, and
    /// the peer's ACK when this FIN completes the close.
    private mutating func halfClose(_ direction: Direction, at time: Timestamp, emit: EmitParts) rethrows {
        guard !finished(direction) else { return }
        try segment(direction, flags: [.fin, .ack], payload: nil, at: time, emit: emit)
        advance(direction, by: 1)
        if direction == .clientToServer { clientFinished = true } else { serverFinished = true }
        if clientFinished && serverFinished {
            try segment(direction.reversed, flags: .ack, payload: nil, at: time, emit: emit)
        }
    }

    /// The side sending in `direction` reset the connection: RST+ACK, once
    /// per direction. Both directions may carry one: when Tapedeck resets
    /// both legs of a session, each peer got its own RST (see `CaptureTap`).
    private mutating func reset(_ direction: Direction, at time: Timestamp, emit: EmitParts) rethrows {
        let alreadyReset = direction == .clientToServer ? clientReset : serverReset
        guard !alreadyReset else { return }
        try segment(direction, flags: [.rst, .ack], payload: nil, at: time, emit: emit)
        if direction == .clientToServer { clientReset = true } else { serverReset = true }
        clientFinished = true
        serverFinished = true
    }

    private func finished(_ direction: Direction) -> Bool {
        direction == .clientToServer ? clientFinished : serverFinished
    }

    private mutating func advance(_ direction: Direction, by count: UInt64) {
        if direction == .clientToServer {
            clientOffset &+= count
            clientUnacknowledged &+= count
        } else {
            serverOffset &+= count
            serverUnacknowledged &+= count
        }
    }

    /// True when `count` more bytes in `direction` would take it past
    /// `acknowledgementInterval` since its receiver last sent a segment:
    /// the receiver acknowledges what came so far first.
    private func acknowledgementDue(_ direction: Direction, before count: Int) -> Bool {
        let unacknowledged = direction == .clientToServer ? clientUnacknowledged : serverUnacknowledged
        return unacknowledged > 0 && unacknowledged + UInt64(count) > Self.acknowledgementInterval
    }

    /// The most bare ACKs `data` sends the receiver's way for `count` more
    /// bytes in `direction`: one when due before them, and one per interval
    /// they span (none, for any read that fits a socket buffer).
    private func acknowledgementsDue(_ direction: Direction, before count: Int) -> Int {
        (acknowledgementDue(direction, before: count) ? 1 : 0) + count / Int(Self.acknowledgementInterval)
    }

    private func sequenceNumber(_ direction: Direction) -> UInt32 {
        direction == .clientToServer
            ? clientISN &+ UInt32(truncatingIfNeeded: clientOffset)
            : serverISN &+ UInt32(truncatingIfNeeded: serverOffset)
    }

    private mutating func segment(_ direction: Direction, flags: TCPFlags, payload: UnsafeRawBufferPointer?, at time: Timestamp, emit: EmitParts) rethrows {
        let fromClient = direction == .clientToServer
        let sourceAddress = fromClient ? flow.clientAddress : flow.serverAddress
        let destinationAddress = fromClient ? flow.serverAddress : flow.clientAddress
        let sourcePort = fromClient ? flow.clientPort : flow.serverPort
        let destinationPort = fromClient ? flow.serverPort : flow.clientPort
        let sequence = sequenceNumber(direction)
        let acknowledgement = flags.contains(.ack) ? sequenceNumber(direction.reversed) : 0
        if flags.contains(.ack) {
            if fromClient { serverUnacknowledged = 0 } else { clientUnacknowledged = 0 }
        }
        let ipID: UInt16
        if fromClient { clientIPID &+= 1; ipID = clientIPID } else { serverIPID &+= 1; ipID = serverIPID }
        let payload = payload ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let ipv6 = flow.isIPv6
        let ipHeaderLength = ipv6 ? 40 : 20
        let tcpLength = 20 + payload.count
        let headerLength = 14 + ipHeaderLength + 20
        let sourceMAC = fromClient ? clientMAC : serverMAC
        let destinationMAC = fromClient ? serverMAC : clientMAC

        try withUnsafeTemporaryAllocation(byteCount: Self.maximumHeaderLength, alignment: 8) { buffer in
            var writer = FrameWriter(buffer: buffer)
            writer.put48(destinationMAC)
            writer.put48(sourceMAC)
            writer.put16(ipv6 ? 0x86DD : 0x0800)
            let ipStart = writer.offset
            if ipv6 {
                writer.put32(0x6000_0000)
                writer.put16(UInt16(tcpLength))
                writer.put8(6)
                writer.put8(64)
                writer.put(sourceAddress)
                writer.put(destinationAddress)
            } else {
                writer.put8(0x45)
                writer.put8(0)
                writer.put16(UInt16(20 + tcpLength))
                writer.put16(ipID)
                writer.put16(0x4000)
                writer.put8(64)
                writer.put8(6)
                writer.put16(0)
                writer.put(sourceAddress)
                writer.put(destinationAddress)
                var checksum = InternetChecksum()
                checksum.add(UnsafeRawBufferPointer(rebasing: buffer[ipStart..<ipStart + 20]))
                writer.store16(checksum.value, at: ipStart + 10)
            }
            let tcpStart = writer.offset
            writer.put16(sourcePort)
            writer.put16(destinationPort)
            writer.put32(sequence)
            writer.put32(acknowledgement)
            writer.put8(5 << 4)
            writer.put8(flags.rawValue)
            writer.put16(65535)
            writer.put16(0)
            writer.put16(0)
            var checksum = Self.pseudoHeaderChecksum(buffer: buffer, ipStart: ipStart, ipv6: ipv6, tcpLength: tcpLength)
            checksum.add(UnsafeRawBufferPointer(rebasing: buffer[tcpStart..<tcpStart + 20]))
            checksum.add(payload)
            writer.store16(checksum.value, at: tcpStart + 16)
            try emit(time, UnsafeRawBufferPointer(rebasing: buffer[0..<headerLength]), payload)
        }
    }

    private static func pseudoHeaderChecksum(buffer: UnsafeMutableRawBufferPointer, ipStart: Int, ipv6: Bool, tcpLength: Int) -> InternetChecksum {
        var checksum = InternetChecksum()
        let addresses = ipv6 ? (ipStart + 8)..<(ipStart + 40) : (ipStart + 12)..<(ipStart + 20)
        checksum.add(UnsafeRawBufferPointer(rebasing: buffer[addresses]))
        checksum.add(bigEndian: UInt32(6))
        checksum.add(bigEndian: UInt32(tcpLength))
        return checksum
    }
}

/// The buffer whole frames are joined in for `Emit`: one per owner of
/// synthesizers (a recording file), never used by two threads at once.
package final class FrameScratch {
    private var bytes = [UInt8](repeating: 0, count: FrameSynthesizer.maximumHeaderLength + FrameSynthesizer.maximumSegmentPayload)

    public init() {}

    /// `headers` then `payload`, one frame, for `body`.
    func join<Result>(_ headers: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeMutableBytes { buffer in
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<headers.count]).copyMemory(from: headers)
            if !payload.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: buffer[headers.count..<headers.count + payload.count]).copyMemory(from: payload)
            }
            return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<headers.count + payload.count]))
        }
    }
}

/// TCP header flags.
struct TCPFlags: OptionSet {
    let rawValue: UInt8
    static let fin = TCPFlags(rawValue: 0x01)
    static let syn = TCPFlags(rawValue: 0x02)
    static let rst = TCPFlags(rawValue: 0x04)
    static let psh = TCPFlags(rawValue: 0x08)
    static let ack = TCPFlags(rawValue: 0x10)
}

/// Big-endian writes into a frame buffer.
private struct FrameWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset = 0

    mutating func put8(_ value: UInt8) {
        buffer[offset] = value
        offset += 1
    }

    mutating func put16(_ value: UInt16) {
        store16(value, at: offset)
        offset += 2
    }

    mutating func put32(_ value: UInt32) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    mutating func put48(_ value: UInt64) {
        put16(UInt16(truncatingIfNeeded: value >> 32))
        put32(UInt32(truncatingIfNeeded: value))
    }

    mutating func put(_ address: IPAddress) {
        switch address {
        case .v4(let value):
            put32(value)
        case .v6(let high, let low):
            put32(UInt32(truncatingIfNeeded: high >> 32))
            put32(UInt32(truncatingIfNeeded: high))
            put32(UInt32(truncatingIfNeeded: low >> 32))
            put32(UInt32(truncatingIfNeeded: low))
        }
    }

    func store16(_ value: UInt16, at position: Int) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: position, as: UInt16.self)
    }
}
