import Foundation
import NIOCore
import PcapFile
import Protocols
import Recording

/// Builds a report's data from a capture's reassembly events, as they come:
/// each session's summary (as `tapedeck inspect` makes it), its exchanges
/// once it closes, its bytes for the detail view while the page's budget
/// lasts, and throughput over time. A session's bytes are let go when it
/// closes, so memory follows the sessions open at once, not the capture.
public struct ReportCollector {
    /// What the detail view may add to the page, all sessions together, in
    /// bytes of JSON (base64 payloads and each event's numbers).
    public var detailBudget: Int
    /// Raw bytes one direction of one session may take of it.
    public var detailPerSide: Int
    /// Exchanges listed at most (all are counted).
    public var exchangeLimit: Int
    /// Where bars of sessions still open end: a live page says now; a
    /// file's, at their last packet (nil).
    public var openSessionsEndAt: Timestamp?

    private var open: [Int: OpenSession] = [:]
    private var closed: [ClosedSession] = []
    private var bins = ThroughputBins()
    private var detailUsed = 0

    public init(detailBudget: Int = 4 << 20, detailPerSide: Int = 16 << 10, exchangeLimit: Int = 150_000) {
        self.detailBudget = detailBudget
        self.detailPerSide = detailPerSide
        self.exchangeLimit = exchangeLimit
    }

    /// A session being read: what it has carried so far.
    struct OpenSession {
        var tally: SessionTally
        var chunks: [SessionExchanges.Chunk] = []
        var sawGap = false
        var detail: SessionDetail?
        var detailBytes = [0, 0]
    }

    /// A finished session, its exchanges framed.
    struct ClosedSession {
        var summary: SessionSummary
        /// Nil when the session's bytes are not known (a live session no recording holds).
        var protocolKind: ProtocolKind?
        var exchanges: [ExchangeRow]
        var detail: SessionDetail?
    }

    public mutating func take(_ event: ReassemblyEvent) {
        switch event {
        case .opened(let session):
            var state = OpenSession(tally: SessionTally(session: session, checksums: []))
            if detailUsed < detailBudget {
                state.detail = SessionDetail()
                detailUsed += 2 * Self.eventCost  // its key, braces and `omitted`
            }
            open[session.index] = state
        case .event(let index, let sessionEvent):
            guard var state = open.removeValue(forKey: index) else { return }
            record(sessionEvent, into: &state)
            open[index] = state
        case .closed(let index, let time, let end):
            guard let state = open.removeValue(forKey: index) else { return }
            close(state, summary: state.tally.summary(end: end, closedAt: time))
        }
    }

    /// The sessions still open when the capture ended, closed as `open`
    /// (a live page's sessions in progress use this too).
    public mutating func finishOpenSessions() {
        for index in open.keys.sorted() {
            guard let state = open.removeValue(forKey: index) else { continue }
            close(state, summary: state.tally.summary(end: .open))
        }
    }

    private mutating func record(_ event: SessionEvent, into state: inout OpenSession) {
        state.tally.record(event)
        let side = event.direction == .clientToServer ? 0 : 1
        let offset = Self.microseconds(state.tally.session.opened.duration(to: event.time))
        switch event.kind {
        case .data(let buffer):
            bins.add(buffer.readableBytes, at: event.time.nanosecondsSinceEpoch, clientToServer: side == 0)
            if !state.sawGap {
                state.chunks.append((side == 0 ? .client : .server, buffer, state.tally.session.opened.duration(to: event.time)))
            }
            if state.detail != nil {
                let room = max(0, min(detailPerSide - state.detailBytes[side], (detailBudget - detailUsed - Self.eventCost) * 3 / 4))
                let kept = min(room, buffer.readableBytes)
                if kept > 0 {
                    let bytes = buffer.getBytes(at: buffer.readerIndex, length: kept) ?? []
                    let text = Data(bytes).base64EncodedString()
                    state.detail?.events.append([.number(Int64(side)), .number(offset), .text("d"), .text(text)])
                    state.detailBytes[side] += kept
                    detailUsed += text.utf8.count + Self.eventCost
                }
                state.detail?.omitted[side] += buffer.readableBytes - kept
            }
        case .gap(let count):
            state.sawGap = true
            state.detail?.events.append([.number(Int64(side)), .number(offset), .text("g"), .number(Int64(count))])
            detailUsed += state.detail == nil ? 0 : Self.eventCost
        case .halfClose:
            state.detail?.events.append([.number(Int64(side)), .number(offset), .text("f")])
            detailUsed += state.detail == nil ? 0 : Self.eventCost
        case .reset:
            state.detail?.events.append([.number(Int64(side)), .number(offset), .text("r")])
            detailUsed += state.detail == nil ? 0 : Self.eventCost
        }
    }

    /// About what one event adds to the page besides its payload: `[0,12345,"d",""],`.
    static let eventCost = 20

    private mutating func close(_ state: OpenSession, summary: SessionSummary) {
        var summary = summary
        if summary.end == .open, let until = openSessionsEndAt {
            summary.durationNanoseconds = max(summary.durationNanoseconds, until.nanosecondsSinceEpoch - summary.start.nanosecondsSinceEpoch)
        }
        let kind = SessionExchanges.detect(client: Self.firstBytes(state.chunks, .client), server: Self.firstBytes(state.chunks, .server))
        let rows = SessionExchanges.rows(state.chunks, protocol: kind)
        closed.append(ClosedSession(summary: summary, protocolKind: kind, exchanges: rows, detail: state.detail))
    }

    private static func firstBytes(_ chunks: [SessionExchanges.Chunk], _ side: Side) -> ByteBuffer {
        var bytes = ByteBuffer()
        for chunk in chunks where chunk.side == side {
            var slice = chunk.bytes.getSlice(at: chunk.bytes.readerIndex, length: min(chunk.bytes.readableBytes, 16 - bytes.readableBytes)) ?? ByteBuffer()
            bytes.writeBuffer(&slice)
            if bytes.readableBytes >= 16 { break }
        }
        return bytes
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// How a session's bar is coloured.
    static func endKind(_ summary: SessionSummary) -> EndKind {
        if summary.end == .reset { return .rst }
        if summary.hasGap { return .gap }
        if summary.end == .open { return .open }
        if summary.startedMidFlow { return .mid }
        return .fin
    }

    /// The sessions and exchanges read, in the page's columns (the open
    /// sessions are not included: `finishOpenSessions` first).
    func columns() -> (sessions: SessionColumns, exchanges: ExchangeColumns, details: [String: SessionDetail], detailsLeftOut: Int,
                       origin: Int64, span: Int64, throughput: Throughput, protocols: [String: Int], faults: [String: Int]) {
        let sorted = closed.sorted { $0.summary.index < $1.summary.index }
        let origin = sorted.map(\.summary.start.nanosecondsSinceEpoch).min() ?? bins.origin ?? 0
        var sessions = SessionColumns()
        var endpointIndex: [String: Int] = [:]
        func endpoint(_ value: Endpoint) -> Int {
            let text = value.description
            if let known = endpointIndex[text] { return known }
            sessions.endpoints.append(text)
            endpointIndex[text] = sessions.endpoints.count - 1
            return sessions.endpoints.count - 1
        }
        var protocolIndex: [ProtocolKind: Int] = [:]
        var protocols: [String: Int] = [:]
        var faults: [String: Int] = [:]
        var exchanges = ExchangeColumns()
        var details: [String: SessionDetail] = [:]
        var leftOut = 0
        var span: Int64 = 0
        for item in sorted {
            let summary = item.summary
            let start = (summary.start.nanosecondsSinceEpoch - origin) / 1000
            let duration = summary.durationNanoseconds / 1000
            span = max(span, start + duration)
            sessions.index.append(summary.index)
            sessions.start.append(start)
            sessions.duration.append(duration)
            sessions.end.append(Self.endKind(summary))
            sessions.clientToServer.append(summary.clientToServer.bytes)
            sessions.serverToClient.append(summary.serverToClient.bytes)
            sessions.gapBytes.append(summary.clientToServer.gapBytes + summary.serverToClient.gapBytes)
            sessions.client.append(endpoint(summary.client))
            sessions.server.append(endpoint(summary.server))
            let hasBytes = summary.clientToServer.bytes + summary.serverToClient.bytes > 0
            let kind = hasBytes ? item.protocolKind : nil
            let name = kind?.rawValue ?? (hasBytes ? "unknown" : "none")
            if let kind, protocolIndex[kind] == nil {
                protocolIndex[kind] = sessions.protocolNames.count
                sessions.protocolNames.append(kind.rawValue)
            }
            sessions.protocolIndex.append(kind.flatMap { protocolIndex[$0] } ?? -1)
            protocols[name, default: 0] += 1
            if let list = summary.faults, !list.isEmpty {
                sessions.faults[String(summary.index)] = list.map(\.label)
                for fault in list { faults[fault.label, default: 0] += 1 }
            }
            if let detail = item.detail {
                details[String(summary.index)] = detail
            } else if item.protocolKind != nil {
                leftOut += 1  // read, but over the budget (a live session no recording holds has no bytes to carry)
            }
            for row in item.exchanges {
                guard exchanges.count < exchangeLimit else {
                    exchanges.leftOut += 1
                    continue
                }
                exchanges.session.append(summary.index)
                exchanges.ordinal.append(row.ordinal)
                exchanges.at.append(start + Self.microseconds(row.startedAt))
                exchanges.latency.append(row.latency.map(Self.microseconds) ?? -1)
                exchanges.request.append(row.request)
                exchanges.requestBytes.append(row.requestBytes)
                exchanges.responseBytes.append(row.responseBytes)
                exchanges.offsets += row.offsets
                exchanges.turn.append(row.turn ? 1 : 0)
            }
        }
        let packed = RowPacker.pack(zip(sessions.start, sessions.duration).map { ($0, $0 + $1) })
        sessions.row = packed.rows
        sessions.rows = packed.count
        return (sessions, exchanges, details, leftOut, origin, span, bins.throughput(pageOrigin: origin), protocols, faults)
    }
}

extension ReportCollector {
    /// A session known only by its summary (a live proxy's session that no
    /// recording holds): a bar on the timeline, with no exchanges or bytes.
    public mutating func add(_ summary: SessionSummary) {
        closed.append(ClosedSession(summary: summary, protocolKind: nil, exchanges: [], detail: nil))
    }

    /// The largest session index taken so far (-1: none).
    public var lastIndex: Int {
        max(closed.map(\.summary.index).max() ?? -1, open.keys.max() ?? -1)
    }
}
