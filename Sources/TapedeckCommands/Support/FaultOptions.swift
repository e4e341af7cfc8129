import ArgumentParser
import Faults

/// The fault flags of `tapedeck proxy` and `tapedeck record`: one plan for
/// the simple case, every fault on the chosen stream(s).
struct FaultOptions: ParsableArguments {
    enum Stream: String, ExpressibleByArgument, CaseIterable {
        case upstream, downstream, both
    }

    @Option(parsing: .unconditional, help: ArgumentHelp("Delay every chunk by this much (100ms).", valueName: "duration"), transform: DurationArgument.option("--latency"))
    var latency: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --latency: vary each delay uniformly by up to this much either way.", valueName: "duration"), transform: DurationArgument.option("--jitter"))
    var jitter: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Limit each connection to this rate per direction (1MB/s, 100KiB/s).", valueName: "rate"), transform: RateArgument.option("--bandwidth"))
    var bandwidth: RateArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Cut chunks into writes of about this many bytes.", valueName: "size"), transform: SizeArgument.option("--slice", minimum: 1))
    var slice: SizeArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Drop each chunk with this probability (0.01).", valueName: "probability"), transform: RatioArgument.probability("--drop"))
    var drop: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Forward exactly this many bytes per direction, then close.", valueName: "size"), transform: SizeArgument.option("--limit-data"))
    var limitData: SizeArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Reset the connection (RST) this long after its first bytes.", valueName: "duration"), transform: DurationArgument.option("--reset-after"))
    var resetAfter: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Stop forwarding, and close after this long (0 = never).", valueName: "duration"), transform: DurationArgument.option("--timeout"))
    var timeout: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Delay the close by this much after the end of stream.", valueName: "duration"), transform: DurationArgument.option("--slow-close"))
    var slowClose: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("Probability that the faults apply to a connection (decided per connection; default: 1).", valueName: "0…1"), transform: RatioArgument.probability("--toxicity"))
    var toxicity: Double = 1

    @Option(help: "Which direction the faults act on: upstream (client→server), downstream or both.")
    var stream: Stream = .both

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed every random choice (jitter, drops, toxicity), so two runs make the same ones.", valueName: "n"), transform: unsignedOption("--seed"))
    var seed: UInt64?

    func validate() throws {
        if jitter != nil && latency == nil { throw ValidationError("--jitter goes with --latency") }
    }
}

extension FaultOptions {
    /// The faults the flags describe, on the chosen stream(s), in a fixed
    /// order: latency, bandwidth, slicer, drop, limit_data, reset_peer,
    /// timeout, slow_close.
    func faults() throws -> [Fault] {
        var kinds: [FaultKind] = []
        if let latency { kinds.append(.latency(latency: latency.duration, jitter: jitter?.duration ?? .zero)) }
        if let bandwidth { kinds.append(.bandwidth(rate: BytesPerSecond(bandwidth.bytesPerSecond))) }
        if let slice { kinds.append(.slicer(averageSize: Int(slice.bytes))) }
        if let drop { kinds.append(.drop(probability: drop)) }
        if let limitData { kinds.append(.limitData(bytes: Int(limitData.bytes))) }
        if let resetAfter { kinds.append(.resetPeer(timeout: resetAfter.duration)) }
        if let timeout { kinds.append(.timeout(timeout: timeout.duration)) }
        if let slowClose { kinds.append(.slowClose(delay: slowClose.duration)) }
        let streams: [FaultStream] = switch stream {
        case .upstream: [.upstream]
        case .downstream: [.downstream]
        case .both: [.upstream, .downstream]
        }
        do {
            return try streams.flatMap { stream in
                try kinds.map { kind throws(FaultError) in try Fault(kind, stream: stream, toxicity: toxicity) }
            }
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
