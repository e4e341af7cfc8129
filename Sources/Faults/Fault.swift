/// The direction a fault applies to, in Toxiproxy's words.
public enum FaultStream: String, Sendable, Hashable, CaseIterable, Codable {
    /// Client to server.
    case upstream
    /// Server to client (Toxiproxy's default).
    case downstream
}

/// A fault's type, by Toxiproxy's name (`limit_data`, `reset_peer`, ...).
public enum FaultType: String, Sendable, Hashable, CaseIterable, Codable {
    case latency
    case bandwidth
    case slicer
    case limitData = "limit_data"
    case drop
    case resetPeer = "reset_peer"
    case timeout
    case slowClose = "slow_close"
    case noop
}

/// What a fault does, with typed units. Toxiproxy's JSON units (ms, KB/s, µs)
/// exist only at the JSON boundary (``Fault``'s `Codable`).
public enum FaultKind: Sendable, Hashable {
    /// Each chunk is delivered `latency ± jitter` (uniform, drawn per chunk)
    /// after it was received; delays never reorder chunks and do not cap
    /// throughput. Two latency faults add.
    case latency(latency: Duration, jitter: Duration = .zero)
    /// At most `rate` per connection and direction, exact over time; chunks
    /// longer than 100 ms of transmission are cut into 100 ms slices.
    case bandwidth(rate: BytesPerSecond)
    /// Each chunk is cut into pieces of about `averageSize ± sizeVariation`
    /// bytes by Toxiproxy's recursive bisection, `delay` apart.
    case slicer(averageSize: Int, sizeVariation: Int = 0, delay: Duration = .zero)
    /// Exactly `bytes` bytes pass on this direction (the chunk crossing the
    /// limit is truncated), then the connection is closed (FIN).
    case limitData(bytes: Int)
    /// Each chunk is silently discarded with `probability` (Tapedeck's own).
    case drop(probability: Double)
    /// The first chunk (or end of stream) on this direction is swallowed with
    /// everything after it; `timeout` later the connection is reset (RST).
    case resetPeer(timeout: Duration)
    /// All data is discarded; the connection is closed (FIN) `timeout` after
    /// the fault started or after the last chunk it discarded, whichever is
    /// later (zero: never). Removing it closes the connection.
    case timeout(timeout: Duration)
    /// The end of stream (or a close) is delayed by `delay`.
    case slowClose(delay: Duration)
    /// Passes everything through.
    case noop

    public var type: FaultType {
        switch self {
        case .latency: .latency
        case .bandwidth: .bandwidth
        case .slicer: .slicer
        case .limitData: .limitData
        case .drop: .drop
        case .resetPeer: .resetPeer
        case .timeout: .timeout
        case .slowClose: .slowClose
        case .noop: .noop
        }
    }
}

/// One fault as a user states it: Toxiproxy's toxic, with a name, a stream, a
/// toxicity and a validated kind.
///
/// Invariant: every `Fault` is valid (non-negative durations and sizes,
/// bandwidth rate ≥ 1 B/s, slicer average size ≥ 1, probability and toxicity
/// within 0…1); the initializers throw ``FaultError`` otherwise.
///
/// `Codable` reads and writes Toxiproxy's toxic JSON exactly:
/// `{"name":"latency_downstream","type":"latency","stream":"downstream",
/// "toxicity":1,"attributes":{"latency":100,"jitter":10}}`.
public struct Fault: Sendable, Hashable {
    /// Unique across both streams of a proxy (as in Toxiproxy). Also keys the
    /// per-connection random streams, so renaming a fault changes its draws.
    public private(set) var name: String
    public private(set) var stream: FaultStream
    /// Probability (0…1) that the fault applies to a given connection,
    /// decided once per connection.
    public private(set) var toxicity: Double
    public private(set) var kind: FaultKind

    /// - Parameters:
    ///   - name: defaults to `<type>_<stream>` as in Toxiproxy.
    /// - Throws: ``FaultError`` when an attribute or the toxicity is invalid.
    public init(_ kind: FaultKind, stream: FaultStream = .downstream, toxicity: Double = 1, name: String? = nil) throws(FaultError) {
        try Self.validate(kind)
        guard toxicity.isFinite, (0...1).contains(toxicity) else {
            throw FaultError(.invalidToxicity, "toxicity must be between 0 and 1 (got \(toxicity))")
        }
        self.kind = kind
        self.stream = stream
        self.toxicity = toxicity
        if let name, !name.isEmpty {
            self.name = name
        } else {
            self.name = "\(kind.type.rawValue)_\(stream.rawValue)"
        }
    }

    /// The same fault with another kind, toxicity, or both (name and stream
    /// kept), validated.
    public func updated(kind: FaultKind? = nil, toxicity: Double? = nil) throws(FaultError) -> Fault {
        try Fault(kind ?? self.kind, stream: stream, toxicity: toxicity ?? self.toxicity, name: name)
    }

    /// The longest duration accepted anywhere (100 days): keeps instant
    /// arithmetic far from overflow.
    public static let maximumDuration: Duration = .seconds(100 * 86_400)

    /// The largest byte count (sizes, and bytes per second of a rate)
    /// accepted anywhere: 1 PiB, far from `Int64` overflow however it is scaled.
    public static let maximumByteCount = 1 << 50

    private static func validate(_ kind: FaultKind) throws(FaultError) {
        let type = kind.type.rawValue
        func duration(_ value: Duration, _ attribute: String) throws(FaultError) {
            guard value >= .zero else {
                throw FaultError(.invalidAttribute, "\(type): \(attribute) must not be negative (got \(value))")
            }
            guard value <= maximumDuration else {
                throw FaultError(.invalidAttribute, "\(type): \(attribute) must be at most 100 days (got \(value))")
            }
        }
        func count(_ value: Int, _ attribute: String, minimum: Int = 0) throws(FaultError) {
            guard value >= minimum else {
                throw FaultError(.invalidAttribute, "\(type): \(attribute) must be at least \(minimum) (got \(value))")
            }
            guard value <= maximumByteCount else {
                throw FaultError(.invalidAttribute, "\(type): \(attribute) must be at most \(maximumByteCount) (got \(value))")
            }
        }
        switch kind {
        case .latency(let latency, let jitter):
            try duration(latency, "latency")
            try duration(jitter, "jitter")
        case .bandwidth(let rate):
            guard rate.bytesPerSecond <= maximumByteCount else {
                throw FaultError(.invalidAttribute, "bandwidth: rate must be at most \(maximumByteCount / 1000) KB/s (got \(rate.kilobytesPerSecond))")
            }
            guard rate.bytesPerSecond > 0 else {
                throw FaultError(
                    .invalidAttribute,
                    "bandwidth: rate must be greater than 0 KB/s (got \(rate.kilobytesPerSecond)); "
                        + "Toxiproxy hangs the connection on 0, to stop data use a timeout fault with timeout 0"
                )
            }
        case .slicer(let averageSize, let sizeVariation, let delay):
            try count(averageSize, "average_size", minimum: 1)
            try count(sizeVariation, "size_variation")
            try duration(delay, "delay")
        case .limitData(let bytes):
            try count(bytes, "bytes")
        case .drop(let probability):
            guard probability.isFinite, (0...1).contains(probability) else {
                throw FaultError(.invalidAttribute, "drop: probability must be between 0 and 1 (got \(probability))")
            }
        case .resetPeer(let timeout), .timeout(let timeout):
            try duration(timeout, "timeout")
        case .slowClose(let delay):
            try duration(delay, "delay")
        case .noop:
            break
        }
    }
}
