import Faults

func ms(_ value: Int64) -> FaultInstant { FaultInstant(nanoseconds: value * 1_000_000) }

func fault(_ kind: FaultKind, _ stream: FaultStream = .downstream, toxicity: Double = 1, name: String? = nil) -> Fault {
    // Every fault built in these tests is valid.
    try! Fault(kind, stream: stream, toxicity: toxicity, name: name)
}

/// Drives a pipeline on a manual clock: before each input, everything due
/// up to that instant is released at its exact deadline.
struct Driver {
    var pipeline: FaultPipeline
    var now = FaultInstant.zero
    var actions: [FaultPipeline.Action] = []

    init(_ faults: [Fault], stream: FaultStream = .downstream, seed: UInt64 = 7, connection: UInt64 = 1, heldByteLimit: Int = 1 << 20) {
        var plan = FaultPlan(stream, seed: seed, connection: connection)
        plan.heldByteLimit = heldByteLimit
        pipeline = FaultPipeline(plan, faults: faults, at: .zero)
    }

    mutating func advance(to instant: FaultInstant) {
        var steps = 0
        while let deadline = pipeline.nextDeadline, deadline <= instant {
            steps += 1
            precondition(steps < 10_000_000, "pipeline does not make progress")
            now = max(now, deadline)
            actions += pipeline.advance(to: now)
        }
        now = max(now, instant)
    }

    mutating func receive(_ bytes: Int, at instant: FaultInstant) {
        advance(to: instant)
        actions += pipeline.receive(bytes: bytes, at: instant)
    }

    mutating func end(at instant: FaultInstant) {
        advance(to: instant)
        actions += pipeline.receiveEndOfStream(at: instant)
    }

    mutating func update(_ faults: [Fault], at instant: FaultInstant) {
        advance(to: instant)
        actions += pipeline.update(faults: faults, at: instant)
    }

    mutating func finish() {
        advance(to: FaultInstant(nanoseconds: 1_000_000_000_000_000))
    }

    var deliveries: [(bytes: Int, at: FaultInstant)] {
        actions.compactMap { if case .deliver(let bytes, let at) = $0 { (bytes, at) } else { nil } }
    }

    var deliveredBytes: Int { deliveries.reduce(0) { $0 + $1.bytes } }

    var discardedBytes: Int {
        actions.reduce(0) { if case .discard(let bytes) = $1 { $0 + bytes } else { $0 } }
    }

    var closes: [(FaultCloseMode, FaultInstant)] {
        actions.compactMap { if case .close(let mode, let at) = $0 { (mode, at) } else { nil } }
    }

    var ends: [FaultInstant] {
        actions.compactMap { if case .endOfStream(let at) = $0 { at } else { nil } }
    }
}
