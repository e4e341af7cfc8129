/// How a fault wants the connection closed.
public enum FaultCloseMode: Sendable, Hashable {
    /// An orderly close: both legs get a FIN once the bytes already
    /// forwarded have been written.
    case fin
    /// An abortive close: both legs get an RST (SO_LINGER 0), queued bytes
    /// are thrown away.
    case reset
}

/// The faults of one direction of one connection as a pure state machine:
/// chunks (byte counts) and the end of stream go in with the instant they
/// were read; actions come out saying which bytes to forward or discard,
/// when, and when to half-close, close or reset. No I/O, no clock: every
/// method takes `now`, so a test drives it with a manual clock and the same
/// inputs give the same outputs.
///
/// Model (Toxiproxy's chain of toxics): the faults are stages in the order
/// given; an item leaves a stage at an instant computed when it arrives and
/// then arrives at the next stage at that instant. Order is never changed.
/// Discarded bytes travel on as placeholders, so the consumer can keep the
/// bytes themselves in a plain FIFO: every byte received comes out exactly
/// once, as `deliver` or `discard`, in order.
///
/// The consumer calls ``advance(to:)`` at ``nextDeadline`` (or later: times
/// are computed from the schedule, not from when it is called).
public struct FaultPipeline: Sendable {
    public enum Action: Sendable, Hashable {
        /// Forward the next `bytes` bytes of the stream (scheduled for `at`).
        case deliver(bytes: Int, at: FaultInstant)
        /// Throw away the next `bytes` bytes of the stream.
        case discard(bytes: Int)
        /// Forward the peer's end of stream (a half-close).
        case endOfStream(at: FaultInstant)
        /// Close the whole connection. Nothing follows but `discard`.
        case close(FaultCloseMode, at: FaultInstant)
    }

    /// The stream faulted, the seed and connection that fix the random
    /// draws, and the held-bytes limit.
    public let plan: FaultPlan

    /// 16 MiB. Held bytes bound the throughput a delay allows (Little's law:
    /// throughput ≤ bound ÷ delay), so this lets a fast stream move
    /// ≥ 160 MiB/s through a 100 ms latency while a connection direction
    /// never holds much more than 16 MiB (Toxiproxy buffers up to 32 MiB).
    public static let defaultHeldByteLimit = 16 << 20
    private var stages: [FaultStage]
    /// The faults of this stream, in chain order.
    public private(set) var faults: [Fault]
    /// Bytes received and not yet delivered or discarded.
    public private(set) var heldBytes = 0
    public private(set) var counters = FaultCounters()
    /// The end of stream or a close has been emitted: the rest is discarded.
    public private(set) var isFinished = false

    /// - Parameters:
    ///   - faults: the connection's faults; those of the other stream are ignored.
    ///   - now: when the faults start (a timeout's clock starts here).
    public init(_ plan: FaultPlan, faults: [Fault], at now: FaultInstant) {
        self.plan = plan
        self.faults = faults.filter { $0.stream == plan.stream }
        self.stages = self.faults.map { FaultStage(fault: $0, seed: plan.seed, connection: plan.connectionID, at: now) }
    }

    /// Whether each fault applies to this connection (its toxicity draw), in
    /// chain order.
    public var applies: [Bool] { stages.map(\.isActive) }

    /// No fault applies and nothing is held: a chunk may be forwarded
    /// without calling ``receive(bytes:at:)``.
    public var isPassThrough: Bool {
        !isFinished && heldBytes == 0 && stages.allSatisfy { !$0.isActive && $0.queue.isEmpty }
    }

    /// Reading should pause: at least the plan's `heldByteLimit` bytes are held.
    public var shouldHoldReads: Bool { heldBytes >= plan.heldByteLimit }

    /// The next instant at which ``advance(to:)`` has something to do.
    public var nextDeadline: FaultInstant? {
        stages.compactMap(\.nextDeadline).min()
    }

    /// A chunk of `bytes` bytes read at `now`.
    public mutating func receive(bytes: Int, at now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: now, into: &actions)
        if isFinished {
            counters.bytesDiscarded += bytes
            actions.append(.discard(bytes: bytes))
            return actions
        }
        heldBytes += bytes
        enter(.data(bytes: bytes, timestamp: now), at: now, into: &actions)
        run(until: now, into: &actions)
        return actions
    }

    /// The peer's end of stream, read at `now`.
    public mutating func receiveEndOfStream(at now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: now, into: &actions)
        guard !isFinished else { return actions }
        enter(.end, at: now, into: &actions)
        run(until: now, into: &actions)
        return actions
    }

    /// Everything due at or before `now`.
    public mutating func advance(to now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: now, into: &actions)
        return actions
    }

    /// Items are waiting in some fault (bytes, or a delayed end of stream).
    public var isHolding: Bool {
        heldBytes > 0 || stages.contains { !$0.queue.isEmpty }
    }

    /// Releases everything held at once, applying the faults' byte decisions
    /// (limits, drops, timeouts) but none of their delays. Timers that no
    /// held item reaches (a pending timeout or reset) do not fire. For a
    /// source that went away: its pipeline is about to be torn down. Every
    /// action is stamped `now`.
    public mutating func drain(at now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: FaultInstant(nanoseconds: Int64.max / 4), firingTimers: false, into: &actions)
        return actions.map { action in
            switch action {
            case .deliver(let bytes, _): .deliver(bytes: bytes, at: now)
            case .endOfStream: .endOfStream(at: now)
            case .close(let mode, _): .close(mode, at: now)
            case .discard: action
            }
        }
    }

    /// Releases everything held with the instants it is scheduled for: the
    /// faults' byte decisions (limits, drops, timeouts) and their delays
    /// (latency, bandwidth, slicer, slow_close) all apply, as if no more
    /// input came. For a source that went away while its faults still hold
    /// bytes: the consumer delivers each action at its instant (none is
    /// earlier than `now`), so the peer still sees every delay. Timers that no
    /// held item reaches (a pending timeout or reset) do not fire, as in
    /// ``drain(at:)``. Afterwards nothing is held.
    public mutating func drainOnSchedule(at now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: FaultInstant(nanoseconds: Int64.max / 4), firingTimers: false, into: &actions)
        return actions.map { action in
            switch action {
            case .deliver(let bytes, let at): .deliver(bytes: bytes, at: max(at, now))
            case .endOfStream(let at): .endOfStream(at: max(at, now))
            case .close(let mode, let at): .close(mode, at: max(at, now))
            case .discard: action
            }
        }
    }

    /// Replaces the fault list on a live connection at `now`.
    ///
    /// - A fault that is unchanged keeps its state and its held items.
    /// - A removed fault releases what it holds at once, in order, into the
    ///   faults after it (Toxiproxy flushes an interrupted toxic's chunk
    ///   without its delay); removing an applying `timeout` closes the
    ///   connection (its discarded bytes broke the stream, as in Toxiproxy),
    ///   and removing a `reset_peer` that has swallowed data resets it now.
    /// - A changed fault (same name and type) is released the same way and
    ///   continues with its random stream, limit_data counter and triggered
    ///   reset; a timeout's timer restarts; its toxicity draw is kept, so
    ///   raising the toxicity only ever adds connections.
    /// - An added fault starts now and applies to items reaching it from now on.
    /// Bytes are never lost or reordered by an update.
    public mutating func update(faults newFaults: [Fault], at now: FaultInstant) -> [Action] {
        var actions: [Action] = []
        run(until: now, into: &actions)
        let faults = newFaults.filter { $0.stream == plan.stream }
        self.faults = faults
        guard !isFinished else { return actions }
        var oldIndex: [String: Int] = [:]
        for (index, stage) in stages.enumerated() {
            oldIndex[stage.fault.name] = index
        }
        var kept = Set<Int>()
        var lastKept = -1
        var continuing: [String: Fault] = [:]
        for fault in faults {
            guard let index = oldIndex[fault.name] else { continue }
            if index > lastKept, stages[index].fault == fault {
                kept.insert(index)
                lastKept = index
            } else if stages[index].fault.kind.type == fault.kind.type {
                continuing[fault.name] = fault
            }
        }
        for index in stages.indices where !kept.contains(index) {
            let name = stages[index].fault.name
            let stillApplies = continuing[name].map { stages[index].applies(as: $0) } ?? false
            let items = stages[index].drain(closing: !stillApplies, at: now)
            for item in items {
                forward(item, from: index, at: now, into: &actions)
            }
        }
        let old = stages
        stages = faults.map { fault in
            if let index = oldIndex[fault.name], kept.contains(index) {
                return old[index]
            }
            if let index = oldIndex[fault.name], continuing[fault.name] != nil {
                var stage = old[index]
                stage.reconfigure(to: fault, at: now)
                return stage
            }
            return FaultStage(fault: fault, seed: plan.seed, connection: plan.connectionID, at: now)
        }
        if isFinished {
            finish(at: now, into: &actions)
        }
        run(until: now, into: &actions)
        return actions
    }

    private mutating func enter(_ item: FaultItem, at now: FaultInstant, into actions: inout [Action]) {
        if stages.isEmpty {
            emit(item, at: now, into: &actions)
        } else {
            stages[0].arrive(item, at: now, counters: &counters)
        }
    }

    private mutating func run(until now: FaultInstant, firingTimers: Bool = true, into actions: inout [Action]) {
        guard !isFinished else { return }
        for index in stages.indices {
            if firingTimers {
                stages[index].fireTimers(upTo: now)
            }
            while let entry = stages[index].popReleased(upTo: now) {
                forward(entry.item, from: index, at: entry.release, into: &actions)
            }
            if isFinished {
                finish(at: now, into: &actions)
                return
            }
        }
    }

    private mutating func forward(_ item: FaultItem, from index: Int, at time: FaultInstant, into actions: inout [Action]) {
        if index + 1 < stages.count {
            stages[index + 1].arrive(item, at: time, counters: &counters)
        } else {
            emit(item, at: time, into: &actions)
        }
    }

    private mutating func emit(_ item: FaultItem, at time: FaultInstant, into actions: inout [Action]) {
        switch item {
        case .data(let bytes, _):
            heldBytes -= bytes
            if isFinished {
                counters.bytesDiscarded += bytes
                actions.append(.discard(bytes: bytes))
            } else {
                actions.append(.deliver(bytes: bytes, at: time))
            }
        case .dropped(let bytes):
            heldBytes -= bytes
            counters.bytesDiscarded += bytes
            actions.append(.discard(bytes: bytes))
        case .end:
            guard !isFinished else { return }
            isFinished = true
            actions.append(.endOfStream(at: time))
        case .close(let mode, let fault):
            guard !isFinished else { return }
            isFinished = true
            switch mode {
            case .fin:
                counters.closes += 1
                counters.fire(fault, .closed)
            case .reset:
                counters.resets += 1
                counters.fire(fault, .reset)
            }
            actions.append(.close(mode, at: time))
        }
    }

    /// After the end or a close, whatever is still held is discarded.
    private mutating func finish(at now: FaultInstant, into actions: inout [Action]) {
        guard heldBytes > 0 else { return }
        counters.bytesDiscarded += heldBytes
        actions.append(.discard(bytes: heldBytes))
        heldBytes = 0
        stages = stages.map { stage in
            var stage = stage
            _ = stage.drain(closing: false, at: now)
            return stage
        }
    }
}
