import Foundation
import PcapFile

/// Writes sessions into one recording: a pcap file of synthesized TCP flows
/// and, when finished, its manifest. A session's frames are built here
/// (`open(_:initialSequenceNumbers:)`, `append(_:session:)`), or come built
/// by whoever read the bytes (`open(_:flow:handshake:)`,
/// `append(_:records:session:)`: the recorder builds them on the event loops).
///
/// When a write fails (disk full, I/O error), the pcap is cut back to its
/// last whole record (`failure` says why) and every later write throws;
/// `finish()` then writes a manifest of what the file holds, read back from
/// it, with the bytes each session lost counted as unrecorded.
///
/// Threading: one owner at a time (it drives a `PcapWriter`). Sessions are
/// keyed by `Session.id`; their events must arrive in the order they happened.
package final class RecordingFileWriter {
    public let path: String
    public let addressing: SyntheticAddressing
    public var properties: [String: String]
    /// The `--redact` patterns, listed in the manifest.
    public var redact: [String] = []
    /// Where `finish()` writes the manifest (nil: nowhere); beside the pcap
    /// unless changed.
    public var manifestPath: String?

    private let pcap: PcapWriter
    private var live: [UInt64: LiveSession] = [:]
    /// Sessions that have ended, for the manifest (past a few thousand, in
    /// a spill file beside the recording).
    private var finished: FinishedSummaries
    /// Bytes of each session, by direction, that the file does not hold.
    private var unrecorded: [UInt64: [Int]] = [:]
    private var lastTimestamp = Timestamp(nanosecondsSinceEpoch: 0)
    public private(set) var isFinished = false
    /// True once the manifest has been written (a full disk can refuse it).
    public private(set) var manifestWritten = false
    /// Payload bytes the failed write took with it (0 while writing goes well).
    public private(set) var bytesLostInCut = 0

    /// A class, so that an event costs one dictionary lookup.
    private final class LiveSession {
        /// Nil when the session's frames come built.
        var synthesizer: FrameSynthesizer?
        let flow: FlowAddresses
        var tally: SessionTally

        init(synthesizer: FrameSynthesizer?, flow: FlowAddresses, tally: SessionTally) {
            self.synthesizer = synthesizer
            self.flow = flow
            self.tally = tally
        }
    }

    public convenience init(
        path: String,
        addressing: SyntheticAddressing = SyntheticAddressing(),
        properties: [String: String] = [:],
        overwrite: Bool = true
    ) throws {
        try self.init(pcap: PcapWriter(path: path, overwrite: overwrite), addressing: addressing, properties: properties)
    }

    #if os(Linux)
    /// A recording written in the storage of `old`, which it is renamed
    /// from (`PcapWriter.init(path:recycling:)`); nil, with `old` left as
    /// it was, when that cannot be done safely.
    public static func recycling(
        _ old: String,
        as path: String,
        addressing: SyntheticAddressing = SyntheticAddressing(),
        properties: [String: String] = [:],
        overwrite: Bool = true
    ) throws -> RecordingFileWriter? {
        guard let pcap = try PcapWriter(path: path, recycling: old, overwrite: overwrite) else { return nil }
        return RecordingFileWriter(pcap: pcap, addressing: addressing, properties: properties)
    }
    #endif

    private init(pcap: PcapWriter, addressing: SyntheticAddressing, properties: [String: String]) {
        let path = pcap.path
        self.path = path
        self.addressing = addressing
        self.properties = properties
        self.pcap = pcap
        // A stream (standard output, a FIFO, /dev/null) has no manifest
        // beside it (`--manifest` names one), and spills its finished
        // sessions to the temporary folder rather than beside the stream.
        let beside = pcap.writesRegularFile && !pcap.writesStandardOutput
        self.manifestPath = beside ? Manifest.path(forRecording: path) : nil
        self.finished = FinishedSummaries(folder: beside ? URL(fileURLWithPath: path).deletingLastPathComponent().path : SpillStream.temporaryFolder)
    }

    /// True when the pcap goes to a stream (standard output, a FIFO, a
    /// device), not a regular file.
    public var writesStream: Bool { pcap.writesStandardOutput || !pcap.writesRegularFile }

    deinit {
        try? finish()
        finished.close()
    }

    /// The pcap's size so far, staged bytes included.
    public var byteCount: Int64 { pcap.byteOffset }
    public var sessionCount: Int { live.count + finished.count }
    /// Why writing stopped, once a write failed; the file then ends with the
    /// last whole record it held.
    public var failure: PcapError? { pcap.failure }

    /// Starts a session: its handshake frames at `session.opened`.
    public func open(_ session: Session, initialSequenceNumbers: (client: UInt32, server: UInt32)? = nil) throws {
        var synthesizer = FrameSynthesizer(session: session, addressing: addressing, initialSequenceNumbers: initialSequenceNumbers)
        try synthesizer.handshake(parts: writeFrame)
        try writeOutReferences()
        live[session.id] = LiveSession(synthesizer: synthesizer, flow: synthesizer.flow, tally: SessionTally(session: session))
    }

    /// Starts a session whose frames come built: `handshake` from its
    /// synthesizer, whose addresses are `flow`. `carriedXXH3`: every data
    /// event of it will come with its direction's XXH3 so far (`xxh3After`),
    /// which this file's manifest takes as it is (see `SessionTally`).
    public func open(_ session: Session, flow: FlowAddresses, handshake: FrameRecords, carriedXXH3: Bool = false) throws {
        live[session.id] = LiveSession(synthesizer: nil, flow: flow, tally: SessionTally(session: session, carriedXXH3: carriedXXH3))
        try write(handshake)
    }

    /// The live sessions, to be continued in the next file of a rotated set.
    public var continuations: [SessionContinuation] {
        live.values.sorted { $0.tally.session.id < $1.tally.session.id }.map {
            SessionContinuation(session: $0.tally.session, flow: $0.flow, synthesizer: $0.synthesizer, faults: $0.tally.session.faults)
        }
    }

    /// Goes on with sessions a previous file of the set was recording: no new
    /// handshake, sequence numbers continue. Read alone, this file shows them
    /// as captured mid-flow (as tcpdump's rotated files do); read after the
    /// previous one, each session is one unbroken flow.
    public func `continue`(_ continuations: [SessionContinuation]) {
        for continuation in continuations {
            var session = continuation.session
            session.startedMidFlow = true
            session.faults = continuation.faults
            live[session.id] = LiveSession(synthesizer: continuation.synthesizer, flow: continuation.flow, tally: SessionTally(session: session))
        }
    }

    /// Records one event of a session opened before. Events of unknown
    /// sessions are ignored.
    public func append(_ event: SessionEvent, session id: UInt64) throws {
        guard let entry = live[id] else { return }
        try entry.synthesizer?.append(event, parts: writeFrame)
        try writeOutReferences()
        entry.tally.record(event)
    }

    /// Records one event of a session opened with its frames built:
    /// `records` are its frames (nil: none, as for a gap). Large payloads
    /// are written from where `records` hold them, by `writeOutReferences()`
    /// at the latest: keep `records` until then. `xxh3After`: see
    /// `open(_:flow:handshake:carriedXXH3:)`.
    public func append(_ event: SessionEvent, records: FrameRecords?, xxh3After digest: UInt64? = nil, session id: UInt64) throws {
        guard let entry = live[id] else { return }
        if let records { try write(records) }
        entry.tally.record(event, xxh3After: digest)
    }

    /// Records a few bytes session `id` sent, whose frames (`records`,
    /// from `FrameSynthesizer.records(copying:direction:at:)`) hold them:
    /// the last `count` bytes of the last record.
    package func append(
        _ records: FrameRecords, copiedPayload count: Int, direction: Direction, at time: Timestamp, xxh3After digest: UInt64? = nil, session id: UInt64
    ) throws {
        guard let entry = live[id] else { return }
        try write(records)
        records.withCopiedPayload(count: count) { entry.tally.record($0, direction: direction, at: time, xxh3After: digest) }
    }

    /// Writes out the records whose payloads are still referenced where the
    /// event loops read them; after it, the records given may go.
    public func writeOutReferences() throws {
        if pcap.holdsReferences { try pcap.flush() }
    }

    /// The faults that have acted on session `id` so far (the whole list),
    /// for its manifest entry. Unknown sessions are ignored.
    public func setFaults(_ faults: [SessionFault], session id: UInt64) {
        live[id]?.tally.setFaults(faults)
    }

    /// Ends a session; it appears in the manifest with `end` (or the end its
    /// events imply).
    public func close(session id: UInt64, at time: Timestamp, end: SessionEnd? = nil) {
        guard let entry = live.removeValue(forKey: id) else { return }
        finished.append(FinishedSummaries.Entry(id: id, summary: entry.tally.summary(end: end, closedAt: time, wire: entry.flow)))
    }

    /// Counts `bytes` that `direction` of session `id` sent but this file
    /// does not hold (they were lost with a failed write, or sent after
    /// recording stopped). The manifest lists only the file's own sessions,
    /// so bytes of a session it does not know are never written.
    public func addUnrecorded(_ bytes: Int, direction: Direction, session id: UInt64) {
        guard bytes > 0 else { return }
        unrecorded[id, default: [0, 0]][direction == .clientToServer ? 0 : 1] += bytes
    }

    public func flush() throws {
        try pcap.flush()
    }

    /// Closes sessions still open (as `.open`), closes the pcap and writes the
    /// manifest. Only the first call does anything. After a failed write the
    /// manifest lists what the file holds (read back from it), and the
    /// failure is thrown once the manifest is written — or the manifest's own
    /// error when the disk refused it too (`manifestWritten` is then false).
    /// The manifest is not returned (a recording's worth of sessions is not
    /// held in memory): `Manifest.load(forRecording:)` reads it.
    public func finish() throws {
        guard !isFinished else { return }
        isFinished = true
        for id in live.keys.sorted() {
            close(session: id, at: live[id]!.tally.lastActivity)
        }
        var firstError: Error?
        do {
            try pcap.close()
        } catch {
            firstError = error
        }
        // A stream cannot be read back: its manifest counts what the
        // writer was given.
        if pcap.failure != nil, pcap.writesRegularFile, !pcap.writesStandardOutput {
            do {
                try keepOnlyWhatTheFileHolds()
            } catch {
                firstError = firstError ?? error
            }
        }
        do {
            try writeManifest()
        } catch {
            firstError = firstError ?? error
        }
        if let firstError { throw firstError }
    }

    /// Writes (or writes again, with what is unrecorded by now) the manifest
    /// of a finished file, to `manifestPath` (when nil, nowhere).
    public func writeManifest() throws {
        if let manifestPath {
            let name = String(path.split(separator: "/").last ?? Substring(path))
            let frame = Manifest(file: name, sessions: [], properties: properties, redact: redact)
            try frame.write(to: manifestPath, count: finished.count) { [finished, unrecorded] add in
                try finished.forEachText(unrecorded: unrecorded, add)
            }
        }
        manifestWritten = true
    }

    /// After a failed write: the sessions as the file holds them, read back
    /// from it (the summaries kept so far count bytes that were staged but
    /// never reached the disk). What each session lost is counted as
    /// unrecorded; sessions of which nothing reached the file are left out.
    private func keepOnlyWhatTheFileHolds() throws {
        let held = Self.sessionsHeld(in: path)
        var kept: [FinishedSummaries.Entry] = []
        for var entry in try finished.takeAll() {
            let summary = entry.summary
            let wire = summary.wire ?? [summary.client, summary.server]
            var found = held[WireKey(client: wire[0], server: wire[1])]
            if found == nil, var reversed = held[WireKey(client: wire[1], server: wire[0])] {
                (reversed.clientToServer, reversed.serverToClient) = (reversed.serverToClient, reversed.clientToServer)
                found = reversed
            }
            let inFile = found.map { [$0.clientToServer.bytes, $0.serverToClient.bytes] } ?? [0, 0]
            for (side, direction) in [(0, Direction.clientToServer), (1, .serverToClient)] {
                let expected = side == 0 ? summary.clientToServer.bytes : summary.serverToClient.bytes
                let lost = max(0, expected - inFile[side])
                bytesLostInCut += lost
                addUnrecorded(lost, direction: direction, session: entry.id)
            }
            guard let found else { continue }
            entry.summary.clientToServer = found.clientToServer
            entry.summary.serverToClient = found.serverToClient
            entry.summary.end = found.end
            entry.summary.durationNanoseconds = max(0, found.start.nanosecondsSinceEpoch + found.durationNanoseconds - summary.start.nanosecondsSinceEpoch)
            kept.append(entry)
        }
        for entry in kept { finished.append(entry) }
    }

    /// The sessions in the pcap at `path`, by the addresses their frames carry.
    private static func sessionsHeld(in path: String) -> [WireKey: SessionSummary] {
        var summaries = SessionSummaries()
        try? StreamReassembler.read(paths: [path]) { summaries.take($0) }
        var held: [WireKey: SessionSummary] = [:]
        for summary in summaries.closed {
            held[WireKey(client: summary.client, server: summary.server)] = summary
        }
        return held
    }

    private func write(_ records: FrameRecords) throws {
        try records.forEach(writeFrame)
    }

    /// Timestamps never go backwards within a file (readers and tcpreplay expect that).
    private func writeFrame(_ time: Timestamp, _ head: UnsafeRawBufferPointer, _ tail: UnsafeRawBufferPointer) throws {
        lastTimestamp = max(lastTimestamp, time)
        try pcap.appendRecord(timestamp: lastTimestamp, head: head, tail: tail)
    }
}

/// A session's flow state handed from one file of a rotated set to the next.
package struct SessionContinuation {
    public let session: Session
    fileprivate let flow: FlowAddresses
    /// Nil when the session's frames come built.
    fileprivate let synthesizer: FrameSynthesizer?
    /// The faults that acted on it so far: a rotated file's manifest lists
    /// them too.
    fileprivate let faults: [SessionFault]
}
