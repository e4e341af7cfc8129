import PcapFile

/// Writes sessions into one recording: a pcap file of synthesized TCP flows
/// (`FrameSynthesizer`) and, when finished, its manifest.
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
    /// Where the sessions' SHA-256 digests are computed; nil: on the writer's thread.
    public let digestWorker: DigestWorker?

    private let pcap: PcapWriter
    private let scratch = FrameScratch()
    private var live: [UInt64: LiveSession] = [:]
    private var finished: [SessionSummary] = []
    private var lastTimestamp = Timestamp(nanosecondsSinceEpoch: 0)
    private var isFinished = false

    /// A class, so that an event costs one dictionary lookup.
    private final class LiveSession {
        var synthesizer: FrameSynthesizer
        var tally: SessionTally

        init(synthesizer: FrameSynthesizer, tally: SessionTally) {
            self.synthesizer = synthesizer
            self.tally = tally
        }
    }

    public init(
        path: String,
        addressing: SyntheticAddressing = SyntheticAddressing(),
        properties: [String: String] = [:],
        digestWorker: DigestWorker? = nil
    ) throws {
        self.path = path
        self.addressing = addressing
        self.properties = properties
        self.digestWorker = digestWorker
        self.pcap = try PcapWriter(path: path)
        self.manifestPath = Manifest.path(forRecording: path)
    }

    deinit {
        _ = try? finish()
    }

    /// The pcap's size so far, staged bytes included.
    public var byteCount: Int64 { pcap.byteOffset }
    public var sessionCount: Int { live.count + finished.count }

    /// Starts a session: its handshake frames at `session.opened`.
    public func open(_ session: Session, initialSequenceNumbers: (client: UInt32, server: UInt32)? = nil) throws {
        var synthesizer = FrameSynthesizer(session: session, addressing: addressing, initialSequenceNumbers: initialSequenceNumbers, scratch: scratch)
        try synthesizer.handshake(emit: writeFrame)
        live[session.id] = LiveSession(synthesizer: synthesizer, tally: SessionTally(session: session, digestWorker: digestWorker))
    }

    /// The live sessions, to be continued in the next file of a rotated set.
    public var continuations: [SessionContinuation] {
        live.values.sorted { $0.tally.session.id < $1.tally.session.id }.map { SessionContinuation(synthesizer: $0.synthesizer) }
    }

    /// Goes on with sessions a previous file of the set was recording: no new
    /// handshake, sequence numbers continue. Read alone, this file shows them
    /// as captured mid-flow (as tcpdump's rotated files do); read after the
    /// previous one, each session is one unbroken flow.
    public func `continue`(_ continuations: [SessionContinuation]) {
        for continuation in continuations {
            var synthesizer = continuation.synthesizer
            synthesizer.scratch = scratch
            var session = synthesizer.session
            session.startedMidFlow = true
            live[session.id] = LiveSession(synthesizer: synthesizer, tally: SessionTally(session: session, digestWorker: digestWorker))
        }
    }

    /// Records one event of a session opened before. Events of unknown
    /// sessions are ignored.
    public func append(_ event: SessionEvent, session id: UInt64) throws {
        guard let entry = live[id] else { return }
        try entry.synthesizer.append(event, emit: writeFrame)
        entry.tally.record(event)
    }

    /// Ends a session; it appears in the manifest with `end` (or the end its
    /// events imply).
    public func close(session id: UInt64, at time: Timestamp, end: SessionEnd? = nil) {
        guard let entry = live.removeValue(forKey: id) else { return }
        finished.append(entry.tally.summary(end: end, closedAt: time, wire: entry.synthesizer.flow))
    }

    public func flush() throws {
        try pcap.flush()
    }

    /// Closes sessions still open (as `.open`), closes the pcap and writes the
    /// manifest. Only the first call does anything.
    @discardableResult
    public func finish() throws -> Manifest {
        let name = String(path.split(separator: "/").last ?? Substring(path))
        guard !isFinished else { return Manifest(file: name, sessions: finished, properties: properties, redact: redact) }
        isFinished = true
        for id in live.keys.sorted() {
            close(session: id, at: live[id]!.tally.lastActivity)
        }
        try pcap.close()
        let manifest = Manifest(file: name, sessions: finished.sorted { $0.index < $1.index }, properties: properties, redact: redact)
        if let manifestPath { try manifest.write(to: manifestPath) }
        return manifest
    }

    /// Timestamps never go backwards within a file (readers and tcpreplay expect that).
    private func writeFrame(_ time: Timestamp, _ frame: UnsafeRawBufferPointer) throws {
        lastTimestamp = max(lastTimestamp, time)
        try pcap.write(timestamp: lastTimestamp, frame: frame)
    }
}

/// A session's flow state handed from one file of a rotated set to the next.
package struct SessionContinuation {
    fileprivate var synthesizer: FrameSynthesizer

    public var session: Session { synthesizer.session }
}
