import Faults
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Recording
import Sockets
import TapedeckTLS

/// `replay drive`: plays recorded client sides against a live server. The
/// target and the playback are given; the rest has defaults, set on the
/// value before the drive starts.
public struct DriveConfiguration: Sendable {
    public var target: Endpoint
    public var playback: Playback
    /// At most this many sessions at once (nil: as many as recorded).
    public var concurrency: Int?
    /// Play the whole recording this many times, one pass after another.
    public var passes = 1
    public var connectTimeout: Duration = .seconds(5)
    /// TLS toward the target (`replay drive --tls`), or nil.
    public var tls: ConnectingTLS?

    public init(target: Endpoint, playback: Playback = Playback()) {
        self.target = target
        self.playback = playback
    }
}

/// Progress of a drive, after each finished session.
public struct DriveProgress: Sendable {
    public var done: Int
    public var total: Int
    public var bytes: Int64
    public var mismatches: Int
    public var elapsed: Duration
}

/// Opens each recorded session against the target at its recorded start
/// (scaled), plays the client's side with its recorded timing, and compares
/// the answers (see ``DriveConfiguration``).
public final class ReplayDriver: Sendable {
    public let configuration: DriveConfiguration
    private let sessions: any SessionScriptSource
    private let group: EventLoopGroup
    private let sink: SessionSink?
    private let logger: Logger
    /// The target's address (a literal's) or addresses (a host name's).
    private let target: UpstreamConnector
    /// Sessions connecting or connected now (not those waiting to).
    private let live = NIOLockedValueBox(0)
    private let firstConnectFailure = NIOLockedValueBox<String?>(nil)
    /// Up to this many live sessions, sends are timed by spinning the last
    /// moments (see `DriveHandler.spinWindow`); beyond it by the timer alone.
    static let spinningSessions = 4

    /// - Parameter sink: where the replayed traffic is recorded (`-w`), if anywhere.
    public convenience init(scripts: [SessionScript], configuration: DriveConfiguration, group: EventLoopGroup, sink: SessionSink? = nil, logger: Logger) {
        self.init(sessions: scripts, configuration: configuration, group: group, sink: sink, logger: logger)
    }

    /// Plays `sessions` (a ``SessionCatalog`` for a capture of any size):
    /// each session's script is read shortly before it connects (see
    /// ``readLead``) and dropped when it ends.
    ///
    /// - Parameter sink: where the replayed traffic is recorded (`-w`), if anywhere.
    public init(sessions: some SessionScriptSource, configuration: DriveConfiguration, group: EventLoopGroup, sink: SessionSink? = nil, logger: Logger) {
        self.sessions = configuration.playback.timing.maxGap.map { sessions.cappingGaps(at: $0) } ?? sessions
        self.configuration = configuration
        self.group = group
        self.sink = sink
        self.logger = logger
        self.target = UpstreamConnector(endpoint: configuration.target, role: "target", logger: logger)
    }

    /// Makes the target's address, or resolves its host name. Throws when
    /// it has none (a name no one knows, a Unix path too long), naming the
    /// target and the cause. `run` does this itself when it has not been
    /// done, and counts every session as failing to connect.
    public func prepare() async throws {
        try await target.prepare()
    }

    /// Why the first session that could not reach the target could not, in
    /// plain words (`connection refused (nothing listens there)`); nil
    /// while every session has connected.
    public var connectFailure: String? {
        firstConnectFailure.withLockedValue { $0 }
    }

    /// How long before a session's first send its connection is opened, at
    /// the latest, until connections are seen to take longer: opening one
    /// (a timer's wake-up, the socket, the handshake, the pipeline) takes
    /// ~0.1 ms on an idle machine and milliseconds on a busy one, and a
    /// send due sooner than that after its connect went out late by as
    /// much. The lead grows to twice the slowest connection so far, up to
    /// ``maximumConnectLead``. A session whose first send is further from
    /// its start than the lead connects at its recorded start.
    static let connectLead = TimeAmount.milliseconds(10)
    static let maximumConnectLead = TimeAmount.milliseconds(100)
    /// How long before its connect a session's script is read from its
    /// source (from disk, for a catalog).
    static let readLead = TimeAmount.milliseconds(250)
    /// The longest a connection has taken so far, from the connect call to
    /// its handlers in.
    private let slowestConnect = NIOLockedValueBox(TimeAmount.zero)

    /// Plays every pass; returns when every session has ended.
    ///
    /// - Parameter start: the instant, on NIO's clock, the first session of
    ///   the first pass is due (`--start-at`); nil: a few milliseconds
    ///   from now. Sessions whose first send falls within the connect
    ///   lead (see ``connectLead``) of it connect before it.
    public func run(startingAt start: NIODeadline? = nil, progress: (@Sendable (DriveProgress) -> Void)? = nil) async -> DriveReport {
        // Elapsed time counts from the start, not from the wait for it.
        let wait = start.map { max(.zero, $0 - .now()) } ?? .zero
        let started = ContinuousClock.now + .nanoseconds(wait.nanoseconds)
        let count = sessions.count
        let total = count * configuration.passes
        let slots = Slots(configuration.concurrency ?? Int.max)
        let tally = NIOLockedValueBox(DriveProgress(done: 0, total: total, bytes: 0, mismatches: 0, elapsed: .zero))
        var results: [DrivenSession] = []
        var connectFailures = 0
        let starts = startOffsets()
        for pass in 0..<configuration.passes {
            // One anchor per pass: a session's start is anchor + its recorded offset.
            let soonest = NIODeadline.now() + Self.connectLead + .milliseconds(1)
            let anchor = pass == 0 ? start ?? soonest : soonest
            let (finished, barriers) = orderBarriers()
            let passResults = await withTaskGroup(of: DrivenSession?.self) { group in
                for position in 0..<count {
                    await slots.acquire()
                    let due = anchor + .nanoseconds(starts[position])
                    let id = UInt64(pass * count + position)
                    group.addTask { [self] in
                        _ = try? await barriers[position]?.get()
                        let outcome = await drive(position, at: due, id: id)
                        finished[position].succeed()
                        await slots.release()
                        let snapshot = tally.withLockedValue { tally -> DriveProgress in
                            tally.done += 1
                            tally.bytes += Int64((outcome?.bytesSent ?? 0) + (outcome?.bytesReceived ?? 0))
                            if outcome?.mismatch != nil || outcome?.differences.isEmpty == false { tally.mismatches += 1 }
                            tally.elapsed = ContinuousClock.now - started
                            return tally
                        }
                        progress?(snapshot)
                        return outcome
                    }
                }
                var collected: [DrivenSession?] = []
                for await outcome in group { collected.append(outcome) }
                return collected
            }
            for outcome in passResults {
                if let outcome { results.append(outcome) } else { connectFailures += 1 }
            }
        }
        var report = DriveReport()
        report.sessions = total
        report.connectFailures = connectFailures
        results.sort { $0.index < $1.index }
        report.midFlowSessions = (0..<count).compactMap { position in
            let session = sessions.outline(at: position).session
            return session.startedMidFlow ? session.index : nil
        }
        for result in results {
            report.bytesSent += Int64(result.bytesSent)
            report.bytesReceived += Int64(result.bytesReceived)
            if let mismatch = result.mismatch { report.mismatches.append(mismatch) }
            report.differences += result.differences
            if let failure = result.failure { report.failures.append(failure) }
        }
        let lastErrors = results.compactMap(\.sendErrors.last)
        report.timing = TimingSummary(errorsNanoseconds: results.flatMap(\.sendErrors), last: lastErrors.max { abs($0) < abs($1) })
        let elapsed = (ContinuousClock.now - started).components
        report.elapsedSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return report
    }

    /// Keeps the recorded order between sessions that did not overlap: a
    /// session recorded as opening after another had ended starts only once
    /// that one has ended here too — what a slower target or `--speed 0`
    /// would otherwise break (a GET overtaking the SET it reads).
    ///
    /// Returns one promise per session, to succeed when it ends, and per
    /// session the future it waits for first (nil: none). Sessions ended
    /// before a start form a prefix of the sessions sorted by end, so each
    /// barrier chains onto the previous one.
    private func orderBarriers() -> (finished: [EventLoopPromise<Void>], barriers: [EventLoopFuture<Void>?]) {
        let eventLoop = group.next()
        let finished = (0..<sessions.count).map { _ in eventLoop.makePromise(of: Void.self) }
        var starts: [Int64] = []
        var ends: [Int64] = []
        for position in 0..<sessions.count {
            let outline = sessions.outline(at: position)
            starts.append(outline.session.opened.nanosecondsSinceEpoch)
            ends.append(outline.session.opened.nanosecondsSinceEpoch + outline.duration)
        }
        let byEnd = ends.indices.sorted { ends[$0] < ends[$1] }
        var barriers: [EventLoopFuture<Void>?] = []
        var barrier: EventLoopFuture<Void>?
        var included = 0
        for start in starts {
            while included < byEnd.count, ends[byEnd[included]] < start {
                let done = finished[byEnd[included]].futureResult
                barrier = barrier.map { $0.and(done).map { _ in } } ?? done
                included += 1
            }
            barriers.append(barrier)
        }
        return (finished, barriers)
    }

    /// Each session's start, in replay nanoseconds after the first's.
    private func startOffsets() -> [Int64] {
        guard sessions.count > 0 else { return [] }
        let first = sessions.outline(at: 0).session.opened
        var offsets: [Int64] = []
        var cut: Int64 = 0
        var previous: Int64 = 0
        let limit = configuration.playback.timing.maxGap?.clampedNanoseconds
        for position in 0..<sessions.count {
            let recorded = first.duration(to: sessions.outline(at: position).session.opened).clampedNanoseconds
            if let limit, recorded - previous > limit { cut += recorded - previous - limit }
            previous = recorded
            offsets.append(configuration.playback.timing.scaled(recorded - cut))
        }
        return offsets
    }

    /// One session: read its script (see ``readLead``), connect (see
    /// ``connectLead``), play from `due`, collect. Nil when the target
    /// could not be reached.
    ///
    /// The connect is scheduled on the session's event loop and carried out
    /// there, with no hop through a task between the timer and the socket.
    private func drive(_ position: Int, at due: NIODeadline, id: UInt64) async -> DrivenSession? {
        let eventLoop = group.next()
        let outline = sessions.outline(at: position)
        var sessionLogger = self.logger
        sessionLogger[metadataKey: "session.index"] = "\(outline.session.index)"
        let logger = sessionLogger
        let firstSend = outline.firstClientStep.map {
            due + .nanoseconds(configuration.playback.timing.scaled($0))
        }
        let readAt = min(due, firstSend ?? due) - Self.maximumConnectLead - Self.readLead
        let early = readAt - .now()
        if early > .zero { try? await Task.sleep(nanoseconds: UInt64(early.nanoseconds)) }
        let script: SessionScript
        do {
            script = try sessions.script(at: position)
        } catch {
            logger.error("cannot read the recorded session", metadata: ["error": "\(error)"])
            return DrivenSession(index: outline.session.index, failure: ReplayFailure(session: outline.session.index, reason: "\(error)"))
        }
        let slowest = slowestConnect.withLockedValue { $0 }
        let lead = min(Self.maximumConnectLead, max(Self.connectLead, .nanoseconds(2 * slowest.nanoseconds)))
        let connectAt = min(due, (firstSend ?? due) - lead)
        let done = eventLoop.makePromise(of: DrivenSession.self)
        let live = self.live
        let connected = eventLoop.flatScheduleTask(deadline: connectAt) { [self] in
            // Live from its connect to its end: a session still waiting for
            // its instant holds up no other, so it does not stop the spinning.
            live.withLockedValue { $0 += 1 }
            done.futureResult.whenComplete { _ in live.withLockedValue { $0 -= 1 } }
            // A session held back (--concurrency, an earlier session's end)
            // starts its clock when it starts, keeping its lead.
            let late = NIODeadline.now() - connectAt
            let anchor = late > .milliseconds(10) ? due + late : due
            return connect(script, anchor: anchor, id: id, on: eventLoop, logger: logger, done: done)
        }.futureResult
        do {
            try await connected.get()
        } catch {
            let reason = PlainReason.of(error)
            firstConnectFailure.withLockedValue { $0 = $0 ?? reason }
            logger.error("cannot connect to the target", metadata: ["target": "\(configuration.target)", "error": "\(reason)"])
            done.fail(error)
            return nil
        }
        return try? await done.futureResult.get()
    }

    /// Opens one session's connection and puts its handlers in, on the
    /// loop, before the first read (of a host name's addresses, several
    /// may be tried at once); the ``DriveHandler`` then plays from `anchor`.
    private func connect(
        _ script: SessionScript,
        anchor: NIODeadline,
        id: UInt64,
        on eventLoop: EventLoop,
        logger: Logger,
        done: EventLoopPromise<DrivenSession>
    ) -> EventLoopFuture<Void> {
        let configuration = self.configuration
        let sink = self.sink
        let live = self.live
        let slowestConnect = self.slowestConnect
        let called = NIODeadline.now()
        return target.connect(on: eventLoop, timeout: configuration.connectTimeout).flatMapThrowing { channel, address in
            defer {
                let took = NIODeadline.now() - called
                slowestConnect.withLockedValue { $0 = max($0, took) }
            }
            do {
                let sync = channel.pipeline.syncOperations
                let hostName: String? = if case .host(let name, _) = configuration.target { name } else { nil }
                try configuration.tls?.addHandlers(to: channel, hostName: hostName)
                let faults = configuration.playback.faults
                if faults.canChange || !faults.faults.isEmpty {
                    try sync.addHandler(FaultHandler(FaultPlan(.downstream, seed: faults.seed, connection: id), faults: faults.faults, onClose: { mode in
                        channel.close(as: mode)
                    }))
                    try sync.addHandler(OutboundFaultHandler(FaultPlan(.upstream, seed: faults.seed, connection: id), faults: faults.faults))
                }
                let server: Endpoint = if case .host = configuration.target { Endpoint(address) ?? configuration.target } else { configuration.target }
                try sync.addHandler(DriveHandler(
                    script: script,
                    timing: configuration.playback.timing,
                    comparison: configuration.playback.comparison,
                    anchor: anchor,
                    target: server,
                    sink: sink,
                    sessionID: id,
                    logger: logger,
                    spinning: { live.withLockedValue { $0 } <= Self.spinningSessions },
                    done: done
                ))
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
    }
}

/// A counting semaphore for `--concurrency`.
actor Slots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = max(1, count) }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
