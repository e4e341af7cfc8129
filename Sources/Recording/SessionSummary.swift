import NIOCore
import PcapFile

/// What one direction of a session carried.
public struct DirectionSummary: Hashable, Sendable, Codable {
    public var bytes: Int
    /// XXH3-64 of the bytes, 16 lowercase hex digits (`xxhsum -H3`): what
    /// a recording's manifest carries.
    public var xxh3: String?
    /// SHA-256 of the bytes, lowercase hex: what `inspect --format json`
    /// shows, and what manifests written before XXH3 carry.
    public var sha256: String?
    /// Bytes lost from the capture (counted, not included in `bytes` or the hash).
    public var gapBytes: Int
    /// Bytes the peer sent that the recording does not hold because writing
    /// it failed (disk full, I/O error): after the last byte in `bytes`.
    /// Written to a manifest only when not 0.
    public var unrecordedBytes = 0
}

/// An absent `unrecorded_bytes` is 0, and 0 is not written.
extension DirectionSummary {
    enum CodingKeys: String, CodingKey {
        case bytes, xxh3, sha256
        case gapBytes = "gap_bytes"
        case unrecordedBytes = "unrecorded_bytes"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        bytes = try container.decode(Int.self, forKey: .bytes)
        xxh3 = try container.decodeIfPresent(String.self, forKey: .xxh3)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
        gapBytes = try container.decode(Int.self, forKey: .gapBytes)
        unrecordedBytes = try container.decodeIfPresent(Int.self, forKey: .unrecordedBytes) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bytes, forKey: .bytes)
        try container.encodeIfPresent(xxh3, forKey: .xxh3)
        try container.encodeIfPresent(sha256, forKey: .sha256)
        try container.encode(gapBytes, forKey: .gapBytes)
        if unrecordedBytes != 0 { try container.encode(unrecordedBytes, forKey: .unrecordedBytes) }
    }
}

/// A finished session as a recording's manifest and `tapedeck inspect` show it.
public struct SessionSummary: Hashable, Sendable, Codable {
    public var index: Int
    public var client: Endpoint
    public var server: Endpoint
    public var start: Timestamp
    public var durationNanoseconds: Int64
    public var clientToServer: DirectionSummary
    public var serverToClient: DirectionSummary
    public var end: SessionEnd
    /// The addresses the frames carry when they differ from the real
    /// endpoints (Unix sockets, IPv4 written IPv4-mapped): `[client, server]`.
    public var wire: [Endpoint]?
    public var startedMidFlow: Bool
    /// The faults that acted on the session (nil: none did, or the capture
    /// has no manifest that says so).
    public var faults: [SessionFault]?
    /// The session travelled inside TLS: each leg's terms, or why a handshake failed.
    public var tls: SessionTLS?

    public var hasGap: Bool { clientToServer.gapBytes > 0 || serverToClient.gapBytes > 0 }

    enum CodingKeys: String, CodingKey {
        case index, client, server, start, end, wire, faults, tls
        case durationNanoseconds = "duration_ns"
        case clientToServer = "client_to_server"
        case serverToClient = "server_to_client"
        case startedMidFlow = "started_mid_flow"
    }
}

/// Accumulates a session's events into its `SessionSummary`: byte counts,
/// checksums per direction, gaps, and how it ended.
public struct SessionTally {
    public private(set) var session: Session
    /// Per kind, the two directions' checksums.
    private let checksums: [(kind: ChecksumKind, sides: [StreamChecksum])]
    private var bytes = [0, 0]
    private var gapBytes = [0, 0]
    private var finished = [false, false]
    private var wasReset = false
    public private(set) var lastActivity: Timestamp

    /// XXH3-64 of each direction's bytes, as whoever read them took it
    /// (`carriedXXH3`): the digest the last one came with, nil before any.
    private var carried: [UInt64?] = [nil, nil]
    /// The bytes come with their XXH3 (`record(_:xxh3After:)`), which is not taken again here.
    private let carriesXXH3: Bool

    /// `checksums`: which the summary carries; a recording's manifest
    /// carries XXH3, the default. None at all (`[]`) is cheapest: at over a
    /// gigabyte a second, SHA-256 is most of the cost of reading.
    ///
    /// `carriedXXH3`: every data event comes with the XXH3-64 of its
    /// direction's bytes up to and including it, taken where the bytes
    /// were read (the recorder's event loops, while the bytes are still in
    /// that core's cache); the summary's `xxh3` is the last one.
    package init(session: Session, checksums: [ChecksumKind] = [.xxh3], carriedXXH3: Bool = false) {
        self.session = session
        self.lastActivity = session.opened
        self.carriesXXH3 = carriedXXH3 && checksums.contains(.xxh3)
        let taken = carriesXXH3 ? checksums.filter { $0 != .xxh3 } : checksums
        self.checksums = taken.map { kind in (kind, [StreamChecksum(kind), StreamChecksum(kind)]) }
    }

    /// The faults that have acted on the session so far (the whole list).
    public mutating func setFaults(_ faults: [SessionFault]) {
        session.faults = faults
    }

    /// `xxh3After`: with `carriedXXH3`, a data event's direction's XXH3-64 up to and including it.
    public mutating func record(_ event: SessionEvent, xxh3After digest: UInt64? = nil) {
        let side = event.direction == .clientToServer ? 0 : 1
        lastActivity = max(lastActivity, event.time)
        switch event.kind {
        case .data(let buffer):
            buffer.withUnsafeReadableBytes { record($0, side: side, xxh3After: digest) }
        case .halfClose:
            finished[side] = true
        case .reset:
            wasReset = true
        case .gap(let count):
            gapBytes[side] += count
        }
    }

    /// Bytes one side sent, lent (see `LentBytes`); `xxh3After` as for an event.
    public mutating func record(_ lent: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, xxh3After digest: UInt64? = nil) {
        lastActivity = max(lastActivity, time)
        record(lent, side: direction == .clientToServer ? 0 : 1, xxh3After: digest)
    }

    private mutating func record(_ data: UnsafeRawBufferPointer, side: Int, xxh3After digest: UInt64?) {
        for checksum in checksums { checksum.sides[side].absorb(data) }
        if carriesXXH3, !data.isEmpty {
            assert(digest != nil, "a session whose XXH3 is carried got bytes without it")
            carried[side] = digest ?? carried[side]
        }
        bytes[side] += data.count
    }

    /// Bytes seen in `direction` so far.
    public func byteCount(_ direction: Direction) -> Int {
        bytes[direction == .clientToServer ? 0 : 1]
    }

    /// How the session ended from what was recorded: RST, both FINs, or still open.
    public var end: SessionEnd {
        if wasReset { return .reset }
        return finished[0] && finished[1] ? .fin : .open
    }

    package func summary(end: SessionEnd? = nil, closedAt: Timestamp? = nil, wire: FlowAddresses? = nil) -> SessionSummary {
        func direction(_ side: Int) -> DirectionSummary {
            func hex(_ kind: ChecksumKind) -> String? {
                if kind == .xxh3, carriesXXH3 { return carried[side].map { StreamChecksum.hex(xxh3: $0) } ?? StreamChecksum.emptyXXH3 }
                return checksums.first { $0.kind == kind }?.sides[side].hex
            }
            return DirectionSummary(bytes: bytes[side], xxh3: hex(.xxh3), sha256: hex(.sha256), gapBytes: gapBytes[side])
        }
        var wireEndpoints = session.wire
        if let wire, wire.client != session.client || wire.server != session.server {
            wireEndpoints = [wire.client, wire.server]
        }
        let closed = closedAt ?? lastActivity
        return SessionSummary(
            index: session.index,
            client: session.client,
            server: session.server,
            start: session.opened,
            durationNanoseconds: max(0, closed.nanosecondsSinceEpoch - session.opened.nanosecondsSinceEpoch),
            clientToServer: direction(0),
            serverToClient: direction(1),
            end: end ?? self.end,
            wire: wireEndpoints,
            startedMidFlow: session.startedMidFlow,
            faults: session.faults.isEmpty ? nil : session.faults,
            tls: session.tls
        )
    }
}

/// Summaries of the sessions a capture holds, built from its reassembly
/// events as they come (what `tapedeck inspect` shows).
package struct SessionSummaries {
    private let checksums: [ChecksumKind]
    private let keepsClosed: Bool
    private var tallies: [Int: SessionTally] = [:]
    /// The lowest index of a session still open (sessions open in
    /// ascending index order, so only a close can change it).
    private var lowestOpen: Int?
    /// The sessions closed so far, in the order they closed (none kept
    /// when made with `keepsClosed: false`).
    public private(set) var closed: [SessionSummary] = []

    /// `checksums`: which the summaries carry (see `SessionTally`);
    /// `keepsClosed`: false when the caller takes each summary `take`
    /// returns, so a capture's worth of them is not held here.
    public init(checksums: [ChecksumKind] = [.xxh3], keepsClosed: Bool = true) {
        self.checksums = checksums
        self.keepsClosed = keepsClosed
    }

    /// Takes one event; returns the session's summary when it closes.
    @discardableResult
    public mutating func take(_ event: ReassemblyEvent) -> SessionSummary? {
        switch event {
        case .opened(let session):
            tallies[session.index] = SessionTally(session: session, checksums: checksums)
            if lowestOpen == nil { lowestOpen = session.index }
        case .event(let index, let sessionEvent):
            tallies[index]?.record(sessionEvent)
        case .closed(let index, let time, let end):
            if let tally = tallies.removeValue(forKey: index) {
                // The open sessions are few: looking through them on the lowest one's close is cheap.
                if index == lowestOpen { lowestOpen = tallies.keys.min() }
                let summary = tally.summary(end: end, closedAt: time)
                if keepsClosed { closed.append(summary) }
                return summary
            }
        }
        return nil
    }

    /// Takes bytes lent in place of a data event.
    public mutating func take(_ lent: LentBytes) {
        tallies[lent.session]?.record(lent.bytes, direction: lent.direction, at: lent.time)
    }

    /// The lowest index of a session still open (nil: none is): every
    /// session below it has closed, so a listing in index order can be
    /// written up to it.
    public var lowestOpenIndex: Int? { lowestOpen }
}

/// Lowercase hex of a byte sequence.
package func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
