import Atomics
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PcapFile

/// Records a proxy's sessions off the event loops.
///
/// Events enter a bounded queue (`record` never blocks); one writer thread
/// drains it into `RecordingFileWriter`s (their digests computed on a
/// `DigestWorker` beside it), flushes at least every
/// `flushInterval`, rotates files by size or age, keeps a ring of files, and
/// hands every finished file to the post-rotate command. When the queue is
/// full, `backpressure` holds the sessions' reads until it drains; `drop`
/// records a gap in place of the bytes that did not fit.
public final class Recorder: SessionSink, @unchecked Sendable {
    public let configuration: RecorderConfiguration
    private let logger: Logger
    private let redactor: Redactor?

    // Shared with the event loops, under `condition`.
    private let condition = NSCondition()
    private var queue: [Item] = []
    private var queuedBytes = 0
    private var stopping = false
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

    /// Counters for the status line and metrics.
    public let recordedBytes = ManagedAtomic<Int64>(0)
    public let droppedBytes = ManagedAtomic<Int>(0)
    private let currentFileBox = NIOLockedValueBox("")

    // Owned by the writer thread.
    private var files = FileSet()
    /// Hashes the sessions' bulk bytes beside the writer thread.
    private let digestWorker = DigestWorker()

    private enum Item {
        case open(Session)
        case event(UInt64, SessionEvent)
        case close(UInt64, Timestamp)
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
    /// payload it lets gather before it is woken early.
    private var batchInterval: Duration { min(.milliseconds(5), configuration.flushInterval / 4) }
    private var wakeBytes: Int { max(1, configuration.queueCapacity / 4) }

    public init(configuration: RecorderConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.redactor = try configuration.redactPattern.map { pattern in
            do {
                return try Redactor(pattern: pattern)
            } catch {
                throw RecordingError(.invalidRedaction, "--redact '\(pattern)' is not a valid regular expression: \(error)")
            }
        }
        switch configuration.output {
        case .file(let path):
            files.namer = FileNamer(path: path, numbered: configuration.rotates)
            try openNextFile(continuing: [])
        case .perSession(let directory):
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RecordingError(.output, "cannot create the directory \(directory): \(PlainReason.of(error))")
            }
        }
        let thread = Thread { [self] in
            nameCurrentThread("tapedeck-writer")
            writerLoop()
        }
        thread.start()
    }

    /// The file being written (single-file mode).
    public var currentFile: String { currentFileBox.withLockedValue { $0 } }

    // MARK: SessionSink (any thread)

    public func open(_ session: Session) {
        enqueue(.open(session))
    }

    public func record(_ event: SessionEvent, session id: UInt64) {
        guard case .data(let buffer) = event.kind else {
            enqueue(.event(id, event))
            return
        }
        let size = buffer.readableBytes
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        // One read larger than the whole queue still fits an empty queue.
        if configuration.backlogPolicy == .drop, queuedBytes > 0, queuedBytes + size > configuration.queueCapacity {
            droppedBytes.wrappingIncrement(by: size, ordering: .relaxed)
            queue.append(.event(id, SessionEvent(time: event.time, direction: event.direction, kind: .gap(bytes: size))))
        } else {
            queue.append(.event(id, event))
            queuedBytes += size
            if configuration.backlogPolicy == .backpressure, queuedBytes >= configuration.queueCapacity {
                backlogFull.store(true, ordering: .relaxed)
            }
        }
        wakeWriterIfNeeded()
    }

    public func close(session id: UInt64, at time: Timestamp) {
        enqueue(.close(id, time))
    }

    public func backlogDrained(on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
        guard configuration.backlogPolicy == .backpressure, backlogFull.load(ordering: .relaxed) else { return nil }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, queuedBytes >= configuration.queueCapacity else { return nil }
        let promise = eventLoop.makePromise(of: Void.self)
        drainWaiters.append(promise)
        return promise.futureResult
    }

    /// Queues `item` unless the recorder has finished (then it is ignored).
    private func enqueue(_ item: Item) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
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

    /// Writes everything queued, closes every file (sessions still open are
    /// marked open in their manifests) and stops the writer thread; events
    /// after it are ignored. Blocks until the files are closed, on every call:
    /// call it off the event loops, after the proxy has stopped.
    public func finish() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
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

            for item in batch {
                write(item)
            }
            if ContinuousClock.now >= nextFlush || done {
                flushAll()
                nextFlush = ContinuousClock.now + flushPeriod
            }
            rotateIfDue()
            if done {
                closeAll()
                digestWorker.stop()
                finished.signal()
                return
            }
        }
    }

    private func write(_ item: Item) {
        do {
            switch item {
            case .open(let session):
                files.live[session.id] = session
                try writer(for: session)?.open(session)
            case .event(let id, var event):
                guard let session = files.live[id] else { return }
                if let redactor, case .data(let buffer) = event.kind {
                    event.kind = .data(redactor.redact(buffer))
                }
                try writer(for: session)?.append(event, session: id)
            case .close(let id, let time):
                guard let session = files.live.removeValue(forKey: id) else { return }
                let writer = writer(for: session)
                writer?.close(session: id, at: time)
                if case .perSession = configuration.output, let writer {
                    files.perSession[id] = nil
                    finishFile(writer)
                }
            }
        } catch {
            logger.error("recording failed", metadata: ["error": "\(error)"])
        }
    }

    /// The file a session's frames go to (created on first use in per-session mode).
    private func writer(for session: Session) -> RecordingFileWriter? {
        switch configuration.output {
        case .file:
            return files.current
        case .perSession(let directory):
            if let writer = files.perSession[session.id] { return writer }
            let number = String(session.id)
            let name = Self.compactTime(session.opened) + "_" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".pcap"
            do {
                let writer = try RecordingFileWriter(
                    path: directory + "/" + name,
                    addressing: configuration.addressing,
                    properties: configuration.properties,
                    digestWorker: digestWorker
                )
                files.perSession[session.id] = writer
                return writer
            } catch {
                logger.error("cannot create a recording", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }

    private func flushAll() {
        do {
            try files.current?.flush()
            for writer in files.perSession.values { try writer.flush() }
        } catch {
            logger.error("recording flush failed", metadata: ["error": "\(error)"])
        }
        recordedBytes.store(files.finishedBytes + (files.current?.byteCount ?? 0) + files.perSession.values.reduce(0) { $0 + $1.byteCount }, ordering: .relaxed)
    }

    private func rotateIfDue() {
        guard let current = files.current, configuration.rotates else { return }
        let bySize = configuration.rotateBytes.map { current.byteCount >= $0 } ?? false
        let byAge = configuration.rotateInterval.map { files.openedAt.duration(to: ContinuousClock.now) >= $0 } ?? false
        guard bySize || byAge else { return }
        let continuations = current.continuations
        finishFile(current)
        do {
            try openNextFile(continuing: continuations)
        } catch {
            logger.error("cannot open the next recording file", metadata: ["error": "\(error)"])
        }
    }

    /// Opens the next file of the set; sessions still live continue in it
    /// where the previous file left them (no new handshake, sequence numbers
    /// go on), so the set reads as one capture and each file as a capture
    /// that started mid-flow.
    private func openNextFile(continuing continuations: [SessionContinuation]) throws {
        guard let path = files.namer?.next() else { return }
        let writer = try RecordingFileWriter(
            path: path,
            addressing: configuration.addressing,
            properties: configuration.properties,
            digestWorker: digestWorker
        )
        writer.continue(continuations)
        files.current = writer
        files.openedAt = ContinuousClock.now
        files.written.append(path)
        currentFileBox.withLockedValue { $0 = path }
        if let ring = configuration.ringSize, files.written.count > ring {
            let oldest = files.written.removeFirst()
            unlink(oldest)
            unlink(Manifest.path(forRecording: oldest))
        }
    }

    private func finishFile(_ writer: RecordingFileWriter) {
        do {
            try writer.finish()
        } catch {
            logger.error("cannot finish a recording", metadata: ["file": "\(writer.path)", "error": "\(error)"])
        }
        // A finished writer reports its file's final size.
        files.finishedBytes += writer.byteCount
        if files.current === writer { files.current = nil }
        logger.info("recording finished", metadata: ["file": "\(writer.path)", "sessions": "\(writer.sessionCount)"])
        if let command = configuration.postRotateCommand {
            runPostRotate(command, file: writer.path)
        }
    }

    private func closeAll() {
        if let current = files.current { finishFile(current) }
        for writer in files.perSession.values { finishFile(writer) }
        files.perSession.removeAll()
        recordedBytes.store(files.finishedBytes, ordering: .relaxed)
    }

    private func runPostRotate(_ command: String, file: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " \"$1\"", "sh", file]
        do {
            try process.run()
        } catch {
            logger.error("-z command failed to start", metadata: ["command": "\(command)", "error": "\(error)"])
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
private struct FileSet {
    var namer: FileNamer?
    var current: RecordingFileWriter?
    var openedAt = ContinuousClock.now
    var perSession: [UInt64: RecordingFileWriter] = [:]
    var live: [UInt64: Session] = [:]
    var written: [String] = []
    var finishedBytes: Int64 = 0
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
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let name = path[slash...]
        let (stem, suffix): (Substring, Substring)
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            (stem, suffix) = (path[..<dot], path[dot...])
        } else {
            (stem, suffix) = (path[...], "")
        }
        let number = String(count)
        return stem + "_" + String(repeating: "0", count: max(0, 5 - number.count)) + number + suffix
    }
}
