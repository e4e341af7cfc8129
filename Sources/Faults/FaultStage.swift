import NIOCore

/// What travels through a pipeline: data, bytes a fault discarded (they keep
/// their place so the handler's byte queue stays in order), and the two ends.
enum FaultItem: Sendable, Hashable {
    case data(bytes: Int, timestamp: FaultInstant)
    case dropped(bytes: Int)
    /// The peer's end of stream (a half-close to forward).
    case end
    /// A fault's request to close the connection, counted for `fault` when
    /// it leaves the pipeline.
    case close(FaultCloseMode, by: Fault)

    var isTerminal: Bool {
        switch self {
        case .end, .close: true
        case .data, .dropped: false
        }
    }
}

/// One fault on one direction of one connection: a FIFO of items with the
/// instants they leave it, plus the fault's state. Items arrive in
/// non-decreasing time order and leave in arrival order; each fault's
/// timing is computed from the arrival instant, never from when the timer
/// actually fired, so late timers do not accumulate error.
struct FaultStage: Sendable {
    struct Entry: Sendable, Hashable {
        var item: FaultItem
        var release: FaultInstant
    }

    private(set) var fault: Fault
    /// The per-connection toxicity draw in 0..<1: the fault applies while
    /// `coin < toxicity` (Toxiproxy's `rand.Float32() < toxicity`).
    let coin: Double
    private(set) var isActive: Bool
    /// A terminal item left or was made here: data is discarded from now on.
    private(set) var isTerminated = false
    private(set) var queue = CircularBuffer<Entry>()
    private var random: FaultRandom
    private var lastRelease = FaultInstant(nanoseconds: .min)
    /// Bandwidth and slicer: when the fault is free for the next chunk.
    private var busyUntil = FaultInstant(nanoseconds: .min)
    /// Bandwidth: start of the current busy period and bytes sent in it.
    private var busyStart = FaultInstant.zero
    private var busyBytes: UInt64 = 0
    /// limit_data: bytes passed; survives reconfiguration.
    private var limitCount = 0
    /// timeout, reset_peer: when the close or reset is due.
    private var deadline: FaultInstant?
    /// reset_peer: when the first chunk or end of stream arrived.
    private var triggeredAt: FaultInstant?

    init(fault: Fault, seed: UInt64, connection: UInt64, at now: FaultInstant) {
        self.fault = fault
        var toxicity = FaultRandom(
            seed: seed, connection: connection, stream: fault.stream, fault: fault.name, purpose: .toxicity)
        coin = toxicity.nextUnit()
        random = FaultRandom(seed: seed, connection: connection, stream: fault.stream, fault: fault.name, purpose: .behaviour)
        isActive = false
        activate(at: now)
    }

    /// Whether the fault still applies when reconfigured to `fault`.
    func applies(as fault: Fault) -> Bool {
        fault.kind.type == self.fault.kind.type && coin < fault.toxicity
    }

    /// Takes a changed configuration of the same fault (same name and type);
    /// the queue must have been drained. Keeps the random stream, the
    /// limit_data counter and a triggered reset; restarts a timeout's timer.
    mutating func reconfigure(to fault: Fault, at now: FaultInstant) {
        precondition(queue.isEmpty)
        let wasActive = isActive
        self.fault = fault
        isActive = false
        if wasActive, !isTerminated, case .timeout(let timeout) = fault.kind {
            deadline = timeout > .zero ? now + timeout : nil
        }
        if case .resetPeer(let timeout) = fault.kind, let triggeredAt {
            deadline = triggeredAt + timeout
        }
        if wasActive, coin < fault.toxicity {
            isActive = true
        } else {
            activate(at: now)
        }
    }

    private mutating func activate(at now: FaultInstant) {
        guard coin < fault.toxicity else { return }
        isActive = true
        if !isTerminated, case .timeout(let timeout) = fault.kind, timeout > .zero {
            deadline = now + timeout
        }
    }

    /// Empties the stage for its removal (or a change) at `now`: its items,
    /// in order (they leave now, so later items are no longer held behind
    /// their old schedule), then a close when `closing` and the fault cannot be undone —
    /// an active timeout (its discarded bytes broke the stream, as Toxiproxy's
    /// cleanup says) or a reset_peer that has already swallowed data.
    mutating func drain(closing: Bool, at now: FaultInstant) -> [FaultItem] {
        var items = queue.map(\.item)
        queue.removeAll()
        lastRelease = min(lastRelease, now)
        busyUntil = min(busyUntil, now)
        guard closing, isActive, !isTerminated else { return items }
        switch fault.kind {
        case .timeout:
            items.append(.close(.fin, by: fault))
            isTerminated = true
        case .resetPeer where triggeredAt != nil:
            items.append(.close(.reset, by: fault))
            isTerminated = true
        default:
            break
        }
        return items
    }

    /// The next instant something happens here, if any.
    var nextDeadline: FaultInstant? {
        let timer = isActive && !isTerminated ? deadline : nil
        switch (queue.first?.release, timer) {
        case (let release?, let timer?): return min(release, timer)
        case (let release, let timer): return release ?? timer
        }
    }

    /// The first item due at or before `now`, removed.
    mutating func popReleased(upTo now: FaultInstant) -> Entry? {
        guard let first = queue.first, first.release <= now else { return nil }
        return queue.removeFirst()
    }

    /// Fires a timeout's close or a reset due at or before `time`.
    mutating func fireTimers(upTo time: FaultInstant) {
        guard isActive, !isTerminated, let due = deadline, due <= time else { return }
        deadline = nil
        switch fault.kind {
        case .timeout:
            enqueue(.close(.fin, by: fault), at: due)
        case .resetPeer:
            enqueue(.close(.reset, by: fault), at: due)
        default:
            return
        }
        isTerminated = true
    }

    /// Takes `item` arriving at `time` (not before any earlier arrival).
    mutating func arrive(_ item: FaultItem, at time: FaultInstant, counters: inout FaultCounters) {
        fireTimers(upTo: time)
        if isTerminated {
            switch item {
            case .data(let bytes, _): enqueue(.dropped(bytes: bytes), at: time)
            case .dropped: enqueue(item, at: time)
            case .end, .close: break
            }
            return
        }
        guard isActive else {
            pass(item, at: time)
            return
        }
        switch item {
        case .data(let bytes, let timestamp):
            arriveData(bytes: bytes, timestamp: timestamp, at: time, counters: &counters)
        case .dropped:
            enqueue(item, at: time)
        case .end, .close:
            arriveTerminal(item, at: time, counters: &counters)
        }
    }

    private mutating func pass(_ item: FaultItem, at time: FaultInstant) {
        enqueue(item, at: item.isTerminal ? max(time, busyUntil) : time)
        if item.isTerminal {
            isTerminated = true
            deadline = nil
        }
    }

    private mutating func arriveTerminal(_ item: FaultItem, at time: FaultInstant, counters: inout FaultCounters) {
        switch fault.kind {
        case .resetPeer(let timeout):
            if triggeredAt != nil {
                return  // swallowed: the reset is coming
            }
            if case .close = item {
                pass(item, at: time)
            } else {
                trigger(at: time, timeout: timeout)
            }
        case .slowClose(let delay):
            if delay > .zero {
                counters.fire(fault, .delayed)
            }
            pass(item, at: time + delay)
        default:
            pass(item, at: time)
        }
    }

    private mutating func trigger(at time: FaultInstant, timeout: Duration) {
        triggeredAt = time
        deadline = time + timeout
    }

    private mutating func arriveData(bytes: Int, timestamp: FaultInstant, at time: FaultInstant, counters: inout FaultCounters) {
        switch fault.kind {
        case .latency(let latency, let jitter):
            var delay = latency.clampedNanoseconds
            let spread = jitter.clampedNanoseconds
            if spread > 0 {
                delay += Int64(random.next(below: UInt64(2 * spread))) - spread
            }
            let due = timestamp + .nanoseconds(max(0, delay))
            enqueue(.data(bytes: bytes, timestamp: due), at: max(time, due))
            if delay > 0 {
                counters.fire(fault, .delayed)
            }
        case .bandwidth(let rate):
            if time >= busyUntil {
                busyStart = time
                busyBytes = 0
            }
            let perSecond = UInt64(rate.bytesPerSecond)
            let slice = max(1, Int(perSecond / 10))
            var remaining = bytes
            while remaining > 0 {
                let piece = min(slice, remaining)
                remaining -= piece
                busyBytes += UInt64(piece)
                // ceil(busyBytes * 1e9 / rate) nanoseconds, exact over the busy period.
                let product = busyBytes.multipliedFullWidth(by: 1_000_000_000)
                let (quotient, remainder) = perSecond.dividingFullWidth(product)
                let offset = Int64(quotient) + (remainder > 0 ? 1 : 0)
                enqueue(.data(bytes: piece, timestamp: timestamp), at: busyStart + .nanoseconds(offset))
            }
            busyUntil = lastRelease
            counters.fire(fault, .throttled)
        case .slicer(let averageSize, let sizeVariation, let delay):
            let start = max(time, busyUntil)
            let pieces = Self.bisect(bytes, averageSize: averageSize, sizeVariation: sizeVariation, random: &random)
            for (index, piece) in pieces.enumerated() {
                enqueue(.data(bytes: piece, timestamp: timestamp), at: start + delay * index)
            }
            busyUntil = start + delay * pieces.count
            if pieces.count > 1 {
                counters.fire(fault, .sliced)
            }
        case .limitData(let limit):
            let passed = min(bytes, max(0, limit - limitCount))
            if passed > 0 {
                enqueue(.data(bytes: passed, timestamp: timestamp), at: time)
                limitCount += passed
            }
            if bytes > passed {
                enqueue(.dropped(bytes: bytes - passed), at: time)
            }
            if limitCount >= limit {
                enqueue(.close(.fin, by: fault), at: time)
                isTerminated = true
            }
        case .drop(let probability):
            if random.nextUnit() < probability {
                enqueue(.dropped(bytes: bytes), at: time)
                counters.fire(fault, .dropped)
            } else {
                enqueue(.data(bytes: bytes, timestamp: timestamp), at: time)
            }
        case .timeout(let timeout):
            enqueue(.dropped(bytes: bytes), at: time)
            counters.fire(fault, .dropped)
            if timeout > .zero {
                deadline = time + timeout
            }
        case .resetPeer(let timeout):
            if triggeredAt == nil {
                trigger(at: time, timeout: timeout)
            }
            enqueue(.dropped(bytes: bytes), at: time)
            counters.fire(fault, .dropped)
        case .slowClose, .noop:
            enqueue(.data(bytes: bytes, timestamp: timestamp), at: time)
        }
    }

    private mutating func enqueue(_ item: FaultItem, at release: FaultInstant) {
        let release = max(release, lastRelease)
        lastRelease = release
        queue.append(Entry(item: item, release: release))
    }

    /// Toxiproxy's slicer: a piece longer than `averageSize + sizeVariation`
    /// is cut near its middle (± `sizeVariation`, uniform) and both halves
    /// are cut again, left first. Unlike Toxiproxy the cut is kept inside
    /// the piece, so a variation larger than half a piece cannot make
    /// negative sizes. Returns the piece sizes in order; they sum to `size`.
    static func bisect(_ size: Int, averageSize: Int, sizeVariation: Int, random: inout FaultRandom) -> [Int] {
        var pieces: [Int] = []
        var pending = [size]
        while let piece = pending.popLast() {
            if piece - averageSize <= sizeVariation {
                pieces.append(piece)
                continue
            }
            var middle = piece / 2
            if sizeVariation > 0 {
                middle += Int(random.next(below: UInt64(2 * sizeVariation))) - sizeVariation
            }
            middle = min(max(middle, 1), piece - 1)
            pending.append(piece - middle)
            pending.append(middle)
        }
        return pieces
    }
}
