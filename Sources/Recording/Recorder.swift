import Atomics
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PcapFile

/// Records a proxy's sessions.
///
/// Each event's frames are built on the event loop that read its bytes —
/// redaction first, then headers and checksums, the payload left where it
/// was read (`SessionFramer`) — and enter a bounded queue (`record` never
/// blocks). One writer thread drains it into `RecordingFileWriter`s, each
/// batch in large `writev`s that point into the buffers read, flushes at least every
/// `flushInterval`, rotates files by size or age, keeps a ring of files, and
/// hands every finished file to the post-rotate command. When the queue is
/// full, `backpressure` holds the sessions' reads until it drains; `drop`
/// records a gap in place of the bytes that did not fit.
///
/// When the disk fails (full, an I/O error, a file size limit), the file is
/// cut back to its last whole record and its manifest written when space
/// allows. In a ring of files (`ringSize`) the oldest file is freed and
/// recording goes on in a new one; otherwise recording stops — the sessions
/// go on, unrecorded — and `stopReason` says why. Either way
/// `unrecordedBytes` counts what the files do not hold.
public final class Recorder: SessionSink, @unchecked Sendable {
    public let configuration: RecorderConfiguration
    let logger: Logger
    let redactor: Redactor?

    // Shared with the event loops, under `condition`.
    let condition = NSCondition()
    private var queue: [Item] = []
    private var queuedBytes = 0
    private var stopping = false
    private var started = false
    /// Set when a failed write stopped recording: events are counted as
    /// unrecorded, never queued.
    private var stoppedByFailure = false
    /// False once standard output's reader went away: what is sent after
    /// that is not counted as unrecorded.
    private var countsAfterStop = true
    /// What sessions sent after recording stopped, by session id and direction.
    var unrecordedAfterStop: [UInt64: [Int]] = [:]
    private var drainWaiters: [EventLoopPromise<Void>] = []
    /// What the writer thread is waiting for, so that event loops wake it
    /// only when it has to act: once when events start arriving, and when the
    /// queue has grown enough to be worth writing before the batch is due.
    /// A futex wake per event cost request/response traffic a tenth of its rate.
    private var writerState = WriterState.working
    /// Read without the lock on every socket read: is the queue full
    /// (`--on-backlog backpressure`)? Set and cleared under the lock.
    private let backlogFull = ManagedAtomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// `-z` commands still running; the writer waits for them before it finishes.
    let postRotateCommands = DispatchGroup()
    /// Where the ring's removed files are closed, freeing their pages off the
    /// writer thread; the writer waits for it before it finishes.
    let releaseQueue = DispatchQueue(label: "tapedeck-release")

    /// Counters for the status line and metrics.
    public let recordedBytes = ManagedAtomic<Int64>(0)
    public let droppedBytes = ManagedAtomic<Int>(0)
    /// Payload the proxy forwarded that no file holds because writing failed.
    public let unrecordedBytes = ManagedAtomic<Int>(0)
    let currentFileBox = NIOLockedValueBox("")
    let stopReasonBox = NIOLockedValueBox<PcapError?>(nil)

    /// The open sessions' framing state, used on their event loops.
    private let framers = NIOLockedValueBox<[UInt64: SessionFramer]>([:])

    // Owned by the writer thread.
    var files = FileSet()

    enum Item {
        case open(Session, FlowAddresses, FrameRecords)
        /// An event and its frames (none for a gap); for data, its
        /// direction's XXH3-64 up to and including it (see `SessionFramer.digests`).
        case event(UInt64, SessionEvent, FrameRecords?, xxh3After: UInt64?)
        /// A few bytes one side sent, whose frames hold the only copy kept:
        /// the buffer they were read into is released where it was read.
        case copied(UInt64, CopiedBytes)
        case faults(UInt64, [SessionFault])
        case close(UInt64, Timestamp)

        /// The bytes a session sent in this item, if it holds any.
        var data: (session: UInt64, bytes: Int, direction: Direction)? {
            switch self {
            case .event(let id, let event, _, _):
                guard case .data(let buffer) = event.kind else { return nil }
                return (id, buffer.readableBytes, event.direction)
            case .copied(let id, let copied):
                return (id, copied.count, copied.direction)
            case .open, .faults, .close:
                return nil
            }
        }
    }

    struct CopiedBytes {
        let time: Timestamp
        let direction: Direction
        let count: Int
        let records: FrameRecords
        /// The direction's XXH3-64 up to and including these bytes (nil
        /// when no longer taken: see `SessionFramer.digestsWanted`).
        let xxh3After: UInt64?
    }

    private enum WriterState {
        /// Writing a batch: the queue is looked at again when it is done.
        case working
        /// Nothing queued: the next event wakes the writer.
        case idle
        /// Events queued: the writer takes them when `batchInterval` has
        /// passed, or sooner once `wakeBytes` are queued.
        case batching
    }

    /// How long the writer lets events gather before it writes them, and the
    /// payload it lets gather before it is woken early. Each batch costs
    /// the writer two wake-ups; at 1 Gbit/s into /dev/null, batches of
    /// 20 ms took 0.82-0.84 CPU seconds per GB where 5 ms took 0.89-1.01.
    /// A kill still loses at most `flushInterval` (`writerLoop`).
    private var batchInterval: Duration { min(.milliseconds(20), configuration.flushInterval / 4) }
    private var wakeBytes: Int { max(1, configuration.queueCapacity / 4) }

    /// Creates the first file (in single-file mode) and starts recording.
    public convenience init(configuration: RecorderConfiguration, logger: Logger) throws {
        try self.init(unstarted: configuration, logger: logger)
        try start()
    }

    /// A recorder that creates no file yet: what it is sent waits in its
    /// queue until `start()`. Lets a proxy bind its listeners before any
    /// file is touched, so a failed start leaves existing files alone.
    package init(unstarted configuration: RecorderConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.redactor = configuration.redactPatterns.isEmpty ? nil : try Redactor(patterns: configuration.redactPatterns)
    }

    /// Creates the first file (in single-file mode: the header reaches the
    /// disk, or this throws; with `-w -`, the pcap header goes to standard
    /// output) and starts the writer thread.
    package func start() throws {
        switch configuration.output {
        case .file(let path):
            files.namer = FileNamer(path: path, numbered: configuration.rotates)
            try openNextFile(continuing: [])
        case .standardOutput:
            files.namer = FileNamer(path: "-", numbered: false)
            try openNextFile(continuing: [])
        case .perSession(let directory):
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RecordingError(.output, "cannot create the directory \(directory): \(PlainReason.of(error))")
            }
        }
        condition.lock()
        started = true
        condition.unlock()
        let thread = Thread { [self] in
            nameCurrentThread("tapedeck-writer")
            // A stream's reader that went away (a pipe, a FIFO) would raise
            // SIGPIPE on this thread and end the process; blocked, the write
            // fails with EPIPE and recording stops as `readerLeft` says.
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            writerLoop()
        }
        thread.start()
    }

    /// The file being written (single-file mode).
    public var currentFile: String { currentFileBox.withLockedValue { $0 } }

    /// Why recording stopped, once a failed write stopped it; nil while it records.
    public var stopReason: PcapError? { stopReasonBox.withLockedValue { $0 } }

    /// True when the files do not hold everything the sessions sent because
    /// writing failed (not counting `droppedBytes`, which the backlog policy chose).
    public var lostRecording: Bool {
        stopReason != nil || unrecordedBytes.load(ordering: .relaxed) > 0
    }

    // MARK: SessionSink (any thread)

    public func open(_ session: Session) {
        let framer = SessionFramer(session: session, addressing: configuration.addressing, redactor: redactor)
        let handshake = framer.lock.withLock { framer.synthesizer.handshakeRecords() }
        framers.withLockedValue { $0[session.id] = framer }
        enqueue(.open(session, framer.synthesizer.flow, handshake))
    }

    public func record(_ event: SessionEvent, session id: UInt64) {
        withFramer(of: id) { framer in
            if framer.redaction == nil {
                queueFramed(event, of: framer, session: id)
            } else {
                for ready in framer.redaction!.pass(event) { queueFramed(ready, of: framer, session: id) }
            }
        }
    }

    /// Bytes of at most `FrameRecords.copiedPayloadLimit` are copied into
    /// their frames, and nowhere else; larger ones, and any when redacting,
    /// into a buffer recorded as an event.
    public func record(copying bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, session id: UInt64) {
        guard redactor == nil, !bytes.isEmpty, bytes.count <= FrameRecords.copiedPayloadLimit else {
            record(SessionEvent(time: time, direction: direction, copying: bytes), session: id)
            return
        }
        withFramer(of: id) { framer in
            let records = framer.synthesizer.records(copying: bytes, direction: direction, at: time)
            queueData(bytes, of: framer, direction: direction, at: time, session: id) { digest in
                .copied(id, CopiedBytes(time: time, direction: direction, count: bytes.count, records: records, xxh3After: digest))
            }
        }
    }

    /// Runs `body` with session `id`'s framer under its lock (so a
    /// session's events queue in order); nothing for a session not open.
    private func withFramer(of id: UInt64, _ body: (SessionFramer) -> Void) {
        guard let framer = framers.withLockedValue({ $0[id] }) else { return }
        framer.lock.withLock { body(framer) }
    }

    public func close(session id: UInt64, at time: Timestamp) {
        guard let framer = framers.withLockedValue({ $0.removeValue(forKey: id) }) else {
            enqueue(.close(id, time))
            return
        }
        framer.lock.withLock {
            // Events a match could still have taken are decided now, and written.
            for ready in framer.redaction?.finish() ?? [] { queueFramed(ready, of: framer, session: id) }
            enqueue(.close(id, time))
        }
    }

    /// Builds `event`'s frames and queues them, on the caller's thread
    /// under the framer's lock (so a session's events queue in order).
    /// When `drop` finds the queue full, a gap is queued instead: it moves
    /// the sequence numbers on as the bytes did.
    private func queueFramed(_ event: SessionEvent, of framer: SessionFramer, session id: UInt64) {
        let records = framer.synthesizer.records(for: event)
        guard case .data(let buffer) = event.kind, let records else {
            enqueue(.event(id, event, records, xxh3After: nil))
            return
        }
        let size = buffer.readableBytes
        buffer.withUnsafeReadableBytes { bytes in
            queueData(bytes, of: framer, direction: event.direction, at: event.time, session: id) { digest in
                // A small payload was copied into its frames: the queue need not
                // hold its buffer, which is then freed here, where it was allocated.
                size > 0 && size <= FrameRecords.copiedPayloadLimit
                    ? .copied(id, CopiedBytes(time: event.time, direction: event.direction, count: size, records: records, xxh3After: digest))
                    : .event(id, event, records, xxh3After: digest)
            }
        }
    }

    /// Queues the item `bytes` that `direction` of session `id` sent make
    /// (`item`, given the direction's XXH3 with them), as the backlog policy
    /// says; on the caller's thread under the framer's lock. Bytes the
    /// policy drops, or that come after the recorder stopped, are taken
    /// back out of the digest.
    private func queueData(
        _ bytes: UnsafeRawBufferPointer, of framer: SessionFramer, direction: Direction, at time: Timestamp, session id: UInt64,
        item: (UInt64?) -> Item
    ) {
        guard let digest = framer.digest(direction) else {
            _ = queueData(item(nil), count: bytes.count, direction: direction, at: time, session: id)
            return
        }
        let before = configuration.backlogPolicy == .drop ? digest.saved() : nil
        digest.absorb(bytes)
        if !queueData(item(digest.xxh3Value), count: bytes.count, direction: direction, at: time, session: id), let before {
            digest.restore(before)
        }
    }

    /// On the writer thread, as the next file of a rotated set goes on
    /// with these sessions: their event loops stop taking the digests that
    /// file's writer takes itself.
    func sessionsContinueInAnotherFile(_ ids: [UInt64]) {
        let continuing = framers.withLockedValue { framers in ids.compactMap { framers[$0] } }
        for framer in continuing { framer.digestsWanted.store(false, ordering: .relaxed) }
    }

    /// Queues `item`, `count` bytes that `direction` of session `id` sent,
    /// as the backlog policy says; on the caller's thread under the
    /// framer's lock. False when its bytes will not be written.
    private func queueData(_ item: consuming Item, count size: Int, direction: Direction, at time: Timestamp, session id: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        if stoppedByFailure {
            if countsAfterStop { countUnrecorded(size, direction: direction, session: id) }
            return false
        }
        defer { wakeWriterIfNeeded() }
        // One read larger than the whole queue still fits an empty queue.
        if configuration.backlogPolicy == .drop, queuedBytes > 0, queuedBytes + size > configuration.queueCapacity {
            droppedBytes.wrappingIncrement(by: size, ordering: .relaxed)
            queue.append(.event(id, SessionEvent(time: time, direction: direction, kind: .gap(bytes: size)), nil, xxh3After: nil))
            return false
        }
        queue.append(item)
        queuedBytes += size
        if configuration.backlogPolicy == .backpressure, queuedBytes >= configuration.queueCapacity {
            backlogFull.store(true, ordering: .relaxed)
        }
        return true
    }

    /// On the writer thread, as the recorder finishes: sessions still open
    /// hand over what their redaction held back, decided now.
    func heldBackEvents() -> [(UInt64, SessionEvent, FrameRecords?, xxh3After: UInt64?)] {
        let open = framers.withLockedValue { framers in
            defer { framers.removeAll() }
            return framers.sorted { $0.key < $1.key }
        }
        var events: [(UInt64, SessionEvent, FrameRecords?, xxh3After: UInt64?)] = []
        for (id, framer) in open {
            framer.lock.withLock {
                for ready in framer.redaction?.finish() ?? [] {
                    var digest: UInt64?
                    if case .data(let buffer) = ready.kind, let side = framer.digest(ready.direction) {
                        side.absorb(buffer)
                        digest = side.xxh3Value
                    }
                    events.append((id, ready, framer.synthesizer.records(for: ready), digest))
                }
            }
        }
        return events
    }

    public func faults(_ faults: [SessionFault], session id: UInt64) {
        enqueue(.faults(id, faults))
    }

    public func backlogDrained(on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
        guard configuration.backlogPolicy == .backpressure, backlogFull.load(ordering: .relaxed) else { return nil }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, !stoppedByFailure, queuedBytes >= configuration.queueCapacity else { return nil }
        let promise = eventLoop.makePromise(of: Void.self)
        drainWaiters.append(promise)
        return promise.futureResult
    }

    /// Queues `item` unless the recorder has finished or stopped (then it is ignored).
    private func enqueue(_ item: Item) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, !stoppedByFailure else { return }
        queue.append(item)
        wakeWriterIfNeeded()
    }

    /// Under the lock, after queueing.
    private func wakeWriterIfNeeded() {
        switch writerState {
        case .working:
            break
        case .idle:
            condition.signal()
        case .batching:
            if queuedBytes >= wakeBytes { condition.signal() }
        }
    }

    /// Under the lock: bytes a session sent that no file will hold.
    func countUnrecorded(_ bytes: Int, direction: Direction, session id: UInt64) {
        guard bytes > 0 else { return }
        unrecordedAfterStop[id, default: [0, 0]][direction == .clientToServer ? 0 : 1] += bytes
        unrecordedBytes.wrappingIncrement(by: bytes, ordering: .relaxed)
    }

    /// From the writer thread, when a failed write stops recording: nothing
    /// more is queued, what is queued is counted as unrecorded (unless
    /// standard output's reader went away), and sessions held back by the
    /// backlog are let go.
    func stopTakingEvents(countingUnrecorded: Bool = true) {
        condition.lock()
        stoppedByFailure = true
        countsAfterStop = countingUnrecorded
        for item in queue where countingUnrecorded {
            if let (id, bytes, direction) = item.data {
                countUnrecorded(bytes, direction: direction, session: id)
            }
        }
        queue.removeAll()
        queuedBytes = 0
        backlogFull.store(false, ordering: .relaxed)
        let waiters = drainWaiters
        drainWaiters.removeAll()
        condition.unlock()
        for waiter in waiters { waiter.succeed() }
    }

    /// Writes everything queued, closes every file (sessions still open are
    /// marked open in their manifests) and stops the writer thread; events
    /// after it are ignored. Blocks until the files are closed, on every call:
    /// call it off the event loops, after the proxy has stopped. A recorder
    /// never started creates no file.
    public func finish() {
        condition.lock()
        stopping = true
        let running = started
        condition.signal()
        condition.unlock()
        guard running else { return }
        finished.wait()
        // Let any other (or later) caller through too.
        finished.signal()
    }

    // MARK: Writer thread

    /// Flushes come every `flushInterval` less two batch intervals: an
    /// event waits at most one batch interval to be written and one more for
    /// the loop to notice the flush is due, so a kill loses at most
    /// `flushInterval` of traffic.
    private func writerLoop() {
        let flushPeriod = configuration.flushInterval - batchInterval * 2
        var nextFlush = ContinuousClock.now + flushPeriod
        while true {
            condition.lock()
            writerState = .idle
            while queue.isEmpty && !stopping {
                if !condition.wait(until: Self.date(nextFlush)) { break }
            }
            if !queue.isEmpty && !stopping && queuedBytes < wakeBytes {
                writerState = .batching
                _ = condition.wait(until: Self.date(min(nextFlush, ContinuousClock.now + batchInterval)))
            }
            writerState = .working
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            queuedBytes = 0
            backlogFull.store(false, ordering: .relaxed)
            let waiters = drainWaiters
            drainWaiters.removeAll()
            let done = stopping
            condition.unlock()
            for waiter in waiters { waiter.succeed() }

            // The batch's buffers go with it: what points into them is
            // written before it goes (an optimized build would release it
            // after its last use, the loop).
            withExtendedLifetime(batch) {
                for item in batch {
                    write(item)
                }
                writeOutReferences()
            }
            if ContinuousClock.now >= nextFlush || done {
                flushAll()
                nextFlush = ContinuousClock.now + flushPeriod
            }
            rotateIfDue()
            if done {
                closeAll()
                postRotateCommands.wait()
                releaseQueue.sync {}
                finished.signal()
                return
            }
        }
    }

    private static func date(_ instant: ContinuousClock.Instant) -> Date {
        let (seconds, attoseconds) = ContinuousClock.now.duration(to: instant).components
        return Date(timeIntervalSinceNow: max(0, TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18))
    }

    /// `20261125T163000.123456789Z`: sorts by time, safe in file names.
    static func compactTime(_ time: Timestamp) -> String {
        time.rfc3339.filter { $0 != "-" && $0 != ":" }
    }
}

/// The writer thread's files.
struct FileSet {
    var namer: FileNamer?
    var current: RecordingFileWriter?
    var openedAt = ContinuousClock.now
    var perSession: [UInt64: RecordingFileWriter] = [:]
    var live: [UInt64: Session] = [:]
    var written: [String] = []
    var finishedBytes: Int64 = 0
    /// Files a failed write cut short, and files the disk refused a
    /// manifest: their manifests are written (again) at the end, counting
    /// everything their sessions lost.
    var failed: [RecordingFileWriter] = []
    /// True once a failed write stopped recording.
    var stopped = false
    /// True once standard output's reader went away (`-w -`, EPIPE).
    var outputClosed = false

    /// Every file open: the current one and the sessions' own.
    var writers: [RecordingFileWriter] { [current].compactMap { $0 } + perSession.values }
}

/// Names the files of a recording: the path itself, or — when rotating —
/// `STEM_00000.EXT`, `STEM_00001.EXT`, … so a rotated set sorts in order.
struct FileNamer {
    let path: String
    let numbered: Bool
    private var count = 0

    init(path: String, numbered: Bool) {
        self.path = path
        self.numbered = numbered
    }

    mutating func next() -> String {
        defer { count += 1 }
        guard numbered else { return path }
        let (stem, suffix) = parts
        let number = String(count)
        return stem + "_" + String(repeating: "0", count: max(0, 5 - number.count)) + number + suffix
    }

    /// True for the name (without folder) of a file of this set, or of a
    /// file's manifest: `STEM_` and at least five digits, then `EXT` (and `.json`).
    func isMember(_ name: String) -> Bool {
        let (stem, suffix) = parts
        let stemName = stem.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? String(stem)
        var rest = Substring(name)
        if rest.hasSuffix(suffix + ".json") {
            rest = rest.dropLast(suffix.count + 5)
        } else if rest.hasSuffix(suffix) {
            rest = rest.dropLast(suffix.count)
        } else {
            return false
        }
        return Self.numbered(stem: rest)?.base == stemName + "_"
    }

    /// The file before `path` in a rotated set (`rec_00041.pcap` for
    /// `rec_00042.pcap`), or nil when `path` is no numbered member or the first.
    static func previous(of path: String) -> String? {
        let (stem, suffix) = split(path)
        guard let member = numbered(stem: stem), member.number > 0 else { return nil }
        let previous = String(member.number - 1)
        return String(member.base) + String(repeating: "0", count: max(0, 5 - previous.count)) + previous + String(suffix)
    }

    /// A numbered member's stem (`dir/rec_00042`) taken apart: what comes
    /// before its number of at least five digits, up to and with the `_`
    /// (`dir/rec_`), and the number.
    private static func numbered(stem: Substring) -> (base: Substring, number: Int)? {
        let digits = stem.reversed().prefix { $0.isASCII && $0.isNumber }.count
        let base = stem.dropLast(digits)
        guard digits >= 5, base.hasSuffix("_"), let number = Int(stem.suffix(digits)) else { return nil }
        return (base, number)
    }

    /// The path split before the name's last dot (`dir/rec`, `.pcap`).
    private var parts: (stem: Substring, suffix: Substring) { Self.split(path) }

    private static func split(_ path: String) -> (stem: Substring, suffix: Substring) {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let name = path[slash...]
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            return (path[..<dot], path[dot...])
        }
        return (path[...], "")
    }
}
