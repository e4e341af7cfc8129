import PcapFile

/// Reads captures as `StreamReassembler` does, and, where a Tapedeck
/// manifest lies beside a file, reports its sessions as recorded: real
/// endpoints (Unix socket paths again), the recorded client and server, and
/// the faults that acted on them.
///
/// Without a handshake (a rotated file read alone, a capture that started
/// mid-flow) the reassembler can only guess which side is the client; the
/// manifest knows, and a session guessed the wrong way round is turned
/// back, its directions swapped. A rotated file left without its manifest
/// by a kill takes the sessions it continued from the manifest of the file
/// before it in the set.
public struct RecordingReader {
    public let paths: [String]
    public let filter: String?
    private var recorded: [WireKey: SessionSummary] = [:]

    /// Loads the manifests beside `paths`; a manifest that exists but does
    /// not parse is an error.
    public init(paths: [String], filter: String? = nil) throws {
        self.paths = paths
        self.filter = filter
        for path in paths {
            if let manifest = try Manifest.load(forRecording: path) {
                // A session that goes on in the next file of a rotated set
                // is in both manifests; the later one lists every fault so far.
                recorded.merge(manifest.sessionsByWire) { first, later in
                    var merged = first
                    merged.faults = later.faults ?? first.faults
                    return merged
                }
            } else if let previous = FileNamer.previous(of: path), !paths.contains(previous),
                      let manifest = try? Manifest.load(forRecording: previous) {
                // The file a recorder was writing when it was killed has no
                // manifest yet. The sessions it went on with from the file
                // before are in that file's, still open: they say which side
                // is the client where the ports cannot.
                for session in manifest.sessions where session.end == .open {
                    if let key = session.wireKey, recorded[key] == nil { recorded[key] = session }
                }
            }
        }
    }

    /// Reads every file in order as one capture (see `StreamReassembler.read(paths:)`);
    /// a file cut short part-way through a record is read up to it and
    /// reported to `truncated`. With `lend`, bytes delivered as they arrive
    /// are lent to it uncopied instead of emitted (`LentBytes`).
    public func read(
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        truncated: (PcapError) -> Void = { _ in },
        lend: ((LentBytes) throws -> Void)? = nil,
        emit: (ReassemblyEvent) throws -> Void
    ) throws {
        var reversed: Set<Int> = []
        let turned = lend.map { lend in
            { (lent: LentBytes) throws in
                var lent = lent
                if reversed.contains(lent.session) { lent.direction = lent.direction.reversed }
                try lend(lent)
            }
        }
        try StreamReassembler.read(paths: paths, filter: filter, progress: progress, truncated: truncated, lend: turned) { event in
            switch event {
            case .opened(var session):
                let wire = WireKey(client: session.client, server: session.server)
                var entry = recorded[wire]
                if entry == nil, let flipped = recorded[WireKey(client: session.server, server: session.client)] {
                    entry = flipped
                    reversed.insert(session.index)
                }
                if let entry {
                    if entry.client != session.client || entry.server != session.server {
                        session.wire = [session.client, session.server]
                    }
                    session.client = entry.client
                    session.server = entry.server
                    session.startedMidFlow = session.startedMidFlow || entry.startedMidFlow
                    session.faults = entry.faults ?? []
                }
                try emit(.opened(session))
            case .event(let index, var sessionEvent):
                if reversed.contains(index) { sessionEvent.direction = sessionEvent.direction.reversed }
                try emit(.event(session: index, sessionEvent))
            case .closed:
                try emit(event)
            }
        }
    }
}
