import NIOCore
import PcapFile
import Recording

/// The sessions of a capture of any size, in recorded order, with their
/// bytes set aside on disk: one pass over the files keeps, per session, its
/// metadata and its steps without their bytes (24 bytes a step), and
/// writes every byte sent to an unlinked temporary file in `$TMPDIR` (as
/// large as the bytes the capture carried, gone with the process). A
/// session's script is read back from that file when it is about to play,
/// and dropped when it ends, so memory holds the catalog and the sessions
/// live at the moment.
///
/// Its scripts are byte for byte those `SessionScript.load` reads.
///
/// Threading: immutable; any thread.
public final class SessionCatalog: SessionScriptSource {
    struct Step: PlayedStep {
        enum Kind: UInt8 {
            case data, halfClose, reset, gap
        }

        var offset: Int64
        /// Data: where the bytes lie in the store. Gap: how many bytes were lost.
        var location: Int64
        /// Data: how many bytes.
        var length: UInt32
        var direction: Direction
        var kind: Kind

        var byteCount: Int { kind == .data ? Int(length) : 0 }
        var isGap: Bool { kind == .gap }
    }

    struct Entry {
        var session: Session
        var end: SessionEnd
        var steps: [Step]
    }

    private let entries: [Entry]
    private let store: PayloadStore

    private init(entries: [Entry], store: PayloadStore) {
        self.entries = entries
        self.store = store
    }

    /// Reads `paths` as `SessionScript.load` does (a file cut short is read
    /// up to its torn record and reported to `truncated`), keeping their
    /// bytes in a temporary file in `temporaryFolder` (default `$TMPDIR`,
    /// else /tmp). Throws when that file cannot be written (a full disk),
    /// naming the folder.
    public static func read(
        paths: [String],
        filter: String? = nil,
        temporaryFolder: String? = nil,
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        truncated: (PcapError) -> Void = { _ in }
    ) throws -> SessionCatalog {
        var writer = try PayloadStore.Writer(folder: temporaryFolder ?? SpillStream.temporaryFolder)
        let sessions = try SessionScript.collect(paths: paths, filter: filter, progress: progress, truncated: truncated) { offset, event -> Step in
            switch event.kind {
            case .data(let buffer):
                let location = try writer.append(buffer)
                return Step(offset: offset, location: location, length: UInt32(buffer.readableBytes), direction: event.direction, kind: .data)
            case .halfClose:
                return Step(offset: offset, location: 0, length: 0, direction: event.direction, kind: .halfClose)
            case .reset:
                return Step(offset: offset, location: 0, length: 0, direction: event.direction, kind: .reset)
            case .gap(let bytes):
                return Step(offset: offset, location: Int64(bytes), length: 0, direction: event.direction, kind: .gap)
            }
        }
        try writer.flush()
        return SessionCatalog(entries: sessions.map { Entry(session: $0.session, end: $0.end, steps: $0.steps) }, store: writer.store)
    }

    public var count: Int { entries.count }

    public func outline(at position: Int) -> SessionOutline {
        SessionOutline(session: entries[position].session, end: entries[position].end, steps: entries[position].steps)
    }

    /// The session's script, its bytes read back into one buffer that its
    /// data steps are slices of.
    public func script(at position: Int) throws -> SessionScript {
        let entry = entries[position]
        let data = entry.steps.lazy.filter { $0.kind == .data }
        var all = ByteBufferAllocator().buffer(capacity: data.reduce(0) { $0 + Int($1.length) })
        // Bytes stored one after another are read in one call.
        var run: (location: Int64, count: Int)?
        for step in data {
            if let current = run, current.location + Int64(current.count) == step.location {
                run = (current.location, current.count + Int(step.length))
                continue
            }
            if let current = run { try store.read(at: current.location, count: current.count, into: &all) }
            run = (step.location, Int(step.length))
        }
        if let current = run { try store.read(at: current.location, count: current.count, into: &all) }
        var cursor = 0
        let steps = entry.steps.map { step -> SessionScript.Step in
            let action: SessionScript.Step.Action
            switch step.kind {
            case .data:
                action = .data(all.getSlice(at: cursor, length: Int(step.length))!)
                cursor += Int(step.length)
            case .halfClose: action = .halfClose
            case .reset: action = .reset
            case .gap: action = .gap(bytes: Int(step.location))
            }
            return SessionScript.Step(offset: step.offset, direction: step.direction, action: action)
        }
        return SessionScript(session: entry.session, steps: steps, end: entry.end)
    }

    public func firstBytes(at position: Int, _ direction: Direction, upTo count: Int) throws -> ByteBuffer {
        var bytes = ByteBuffer()
        for step in entries[position].steps where step.direction == direction && step.kind == .data {
            guard bytes.readableBytes < count else { break }
            try store.read(at: step.location, count: min(Int(step.length), count - bytes.readableBytes), into: &bytes)
        }
        return bytes
    }

    public func bytes(at position: Int, _ direction: Direction, from place: StreamPlace, count: Int) throws -> ByteBuffer {
        var bytes = ByteBuffer()
        var skip = place.skip
        for step in entries[position].steps[place.step...] where step.direction == direction && step.kind == .data {
            guard bytes.readableBytes < count else { break }
            let from = min(skip, Int(step.length))
            skip = 0
            try store.read(at: step.location + Int64(from), count: min(Int(step.length) - from, count - bytes.readableBytes), into: &bytes)
        }
        return bytes
    }

    public func cappingGaps(at maximum: Duration) -> SessionCatalog {
        SessionCatalog(entries: entries.map { entry in
            var capped = entry
            capped.steps.capGaps(at: maximum.clampedNanoseconds)
            return capped
        }, store: store)
    }

    public func selecting(_ positions: [Int]) -> SessionCatalog {
        SessionCatalog(entries: positions.map { entries[$0] }, store: store)
    }
}
