import PcapFile
import Recording

extension SessionScript {
    /// Reads every session of a recording (or a capture Tapedeck did not
    /// make, or a rotated set read as one) into scripts, in the order the
    /// sessions opened. Sessions that carried no bytes at all are kept: a
    /// client that connects and leaves is a session too. A file cut short
    /// part-way through a record (a crash while it was written) is read up
    /// to that record and reported to `truncated`.
    ///
    /// Every byte is held in memory; ``SessionCatalog`` reads a capture of
    /// any size.
    public static func load(
        paths: [String],
        filter: String? = nil,
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        truncated: (PcapError) -> Void = { _ in }
    ) throws -> [SessionScript] {
        try collect(paths: paths, filter: filter, progress: progress, truncated: truncated) { offset, event in
            Step(offset: offset, direction: event.direction, action: event.kind)
        }.map { SessionScript(session: $0.session, steps: $0.steps, end: $0.end) }
    }

    /// Reads the sessions of `paths` as `load` does, each event made a step
    /// by `makeStep` (given its offset from the session's opening), in
    /// the order the sessions opened.
    static func collect<CollectedStep>(
        paths: [String],
        filter: String?,
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)?,
        truncated: (PcapError) -> Void,
        makeStep: (_ offset: Int64, SessionEvent) throws -> CollectedStep
    ) throws -> [(session: Session, steps: [CollectedStep], end: SessionEnd)] {
        typealias Collected = (session: Session, steps: [CollectedStep], end: SessionEnd)
        let reader = try RecordingReader(paths: paths, filter: filter)
        var open: [Int: Collected] = [:]
        var finished: [Collected] = []
        try reader.read(progress: progress, truncated: truncated) { event in
            switch event {
            case .opened(let session):
                open[session.index] = (session, [], .open)
            case .event(let index, let sessionEvent):
                guard var collected = open[index] else { return }
                let offset = max(0, collected.session.opened.duration(to: sessionEvent.time).clampedNanoseconds)
                open[index] = nil
                collected.steps.append(try makeStep(offset, sessionEvent))
                open[index] = collected
            case .closed(let index, _, let end):
                guard var collected = open.removeValue(forKey: index) else { return }
                collected.end = end
                finished.append(collected)
            }
        }
        finished.append(contentsOf: open.values)
        return finished.sorted { ($0.session.opened, $0.session.index) < ($1.session.opened, $1.session.index) }
    }
}
