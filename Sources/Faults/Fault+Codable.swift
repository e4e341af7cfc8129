/// Toxiproxy's toxic JSON, read and written as a ``FaultDefinition``.
///
/// Decoding follows Toxiproxy's `AddToxicJson`: `type` is required; `name`
/// defaults to `<type>_<stream>`, `stream` to `downstream` (case-insensitive),
/// `toxicity` to 1; missing attributes are 0 (so a bandwidth without `rate`
/// is rejected rather than hanging); unknown attributes are ignored. Unlike
/// Toxiproxy, durations and rates may be fractional (`"latency": 0.25` is
/// 250 µs); sizes must be whole numbers. Encoding writes every attribute of
/// the type, whole numbers as JSON integers.
extension Fault: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(FaultDefinition(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try FaultDefinition(self).encode(to: encoder)
    }

    /// Checks a toxic as a client stated it and fills in Toxiproxy's defaults.
    public init(_ definition: FaultDefinition) throws(FaultError) {
        let typeName = definition.type ?? ""
        guard let type = FaultType(rawValue: typeName) else {
            let known = FaultType.allCases.map(\.rawValue).joined(separator: ", ")
            throw FaultError(.unknownType, "unknown fault type \"\(typeName)\"; expected one of \(known)")
        }
        let streamName = definition.stream ?? FaultStream.downstream.rawValue
        guard let stream = FaultStream(rawValue: streamName.lowercased()) else {
            throw FaultError(.invalidStream, "unknown stream \"\(streamName)\"; expected upstream or downstream")
        }
        // Toxiproxy builds the default name from the stream as written.
        let defaultName = "\(typeName)_\(streamName)"
        try self.init(
            FaultKind(type: type, attributes: FaultAttributes(values: definition.attributes)),
            stream: stream,
            toxicity: definition.toxicity ?? 1,
            name: (definition.name?.isEmpty ?? true) ? defaultName : definition.name
        )
    }

    /// Applies a Toxiproxy update (`PATCH /proxies/{p}/toxics/{t}`): the
    /// given attributes replace the current ones, the rest are kept; the
    /// toxicity is replaced when given. Name, type and stream never change.
    public func applying(_ patch: FaultPatch) throws(FaultError) -> Fault {
        var attributes = FaultAttributes(values: Dictionary(uniqueKeysWithValues: kind.attributes))
        attributes.values.merge(patch.attributes.values) { _, new in new }
        return try updated(kind: FaultKind(type: kind.type, attributes: attributes), toxicity: patch.toxicity)
    }
}

/// The body of a Toxiproxy toxic update: `{"attributes": {...}, "toxicity": 0.5}`,
/// both optional. Apply it with ``Fault/applying(_:)``.
public struct FaultPatch: Sendable, Hashable, Codable {
    public var toxicity: Double?
    var attributes: FaultAttributes

    private enum CodingKeys: String, CodingKey {
        case toxicity, attributes
    }

    /// - Parameter attributes: in Toxiproxy's units, as ``FaultDefinition`` has them.
    public init(toxicity: Double? = nil, attributes: [String: Double] = [:]) {
        self.toxicity = toxicity
        self.attributes = FaultAttributes(values: attributes)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.faultObject(keyedBy: CodingKeys.self, else: "a fault update must be a JSON object")
        toxicity = try container.decodeToxicity(forKey: .toxicity)
        attributes = try FaultAttributes(from: container)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(toxicity, forKey: .toxicity)
        try attributes.encode(into: &container, forKey: .attributes)
    }
}

extension Decoder {
    /// The JSON object being decoded; anything else is a malformed ``FaultError`` saying `message`.
    func faultObject<Key: CodingKey>(keyedBy type: Key.Type, else message: String) throws(FaultError) -> KeyedDecodingContainer<Key> {
        do {
            return try container(keyedBy: type)
        } catch {
            throw FaultError(.malformed, message)
        }
    }
}

extension KeyedDecodingContainer {
    /// A toxicity, when one is given; anything but a number is a ``FaultError``.
    func decodeToxicity(forKey key: Key) throws(FaultError) -> Double? {
        do {
            return try decodeIfPresent(Double.self, forKey: key)
        } catch {
            throw FaultError(.invalidToxicity, "toxicity must be a number between 0 and 1")
        }
    }
}

struct AttributeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Toxiproxy attributes as numbers in Toxiproxy's units.
struct FaultAttributes: Sendable, Hashable {
    var values: [String: Double]

    init(values: [String: Double]) {
        self.values = values
    }

    init<Key: CodingKey>(from container: KeyedDecodingContainer<Key>) throws {
        values = [:]
        guard let key = Key(stringValue: "attributes"), container.contains(key),
            try !container.decodeNil(forKey: key)
        else { return }
        let attributes: KeyedDecodingContainer<AttributeKey>
        do {
            attributes = try container.nestedContainer(keyedBy: AttributeKey.self, forKey: key)
        } catch {
            throw FaultError(.malformed, "\"attributes\" must be a JSON object")
        }
        for attribute in attributes.allKeys {
            guard let value = try? attributes.decode(Double.self, forKey: attribute), value.isFinite else {
                throw FaultError(.invalidAttribute, "attribute \"\(attribute.stringValue)\" must be a number")
            }
            values[attribute.stringValue] = value
        }
    }

    /// Writes the attributes as a JSON object, in key order, whole numbers as integers.
    func encode<Key: CodingKey>(into container: inout KeyedEncodingContainer<Key>, forKey key: Key) throws {
        var attributes = container.nestedContainer(keyedBy: AttributeKey.self, forKey: key)
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            if value.rounded() == value, abs(value) < 9e15 {
                try attributes.encode(Int64(value), forKey: AttributeKey(name))
            } else {
                try attributes.encode(value, forKey: AttributeKey(name))
            }
        }
    }

    func duration(_ key: String, unit: Duration, of type: FaultType) throws(FaultError) -> Duration {
        let value = values[key] ?? 0
        guard value >= 0 else {
            throw FaultError(.invalidAttribute, "\(type.rawValue): \(key) must not be negative (got \(value))")
        }
        let maximum = Double(Fault.maximumDuration.clampedNanoseconds) / Double(unit.clampedNanoseconds)
        guard value <= maximum else {
            throw FaultError(.invalidAttribute, "\(type.rawValue): \(key) must be at most 100 days (got \(value))")
        }
        return .nanoseconds(Int64((value * Double(unit.clampedNanoseconds)).rounded()))
    }

    func whole(_ key: String, of type: FaultType) throws(FaultError) -> Int {
        let value = values[key] ?? 0
        guard value.rounded() == value, abs(value) < 9e15 else {
            throw FaultError(.invalidAttribute, "\(type.rawValue): \(key) must be a whole number (got \(value))")
        }
        return Int(value)
    }
}

extension FaultKind {
    /// Builds a kind from Toxiproxy attributes (ms, KB/s, bytes, µs); the
    /// ranges are checked by ``Fault``'s initializer.
    init(type: FaultType, attributes: FaultAttributes) throws(FaultError) {
        switch type {
        case .latency:
            self = .latency(
                latency: try attributes.duration("latency", unit: .milliseconds(1), of: type),
                jitter: try attributes.duration("jitter", unit: .milliseconds(1), of: type)
            )
        case .bandwidth:
            let rate = attributes.values["rate"] ?? 0
            guard rate * 1000 <= 9e15 else {
                throw FaultError(.invalidAttribute, "bandwidth: rate is too large (got \(rate) KB/s)")
            }
            self = .bandwidth(rate: BytesPerSecond(Int64((rate * 1000).rounded())))
        case .slicer:
            self = .slicer(
                averageSize: try attributes.whole("average_size", of: type),
                sizeVariation: try attributes.whole("size_variation", of: type),
                delay: try attributes.duration("delay", unit: .microseconds(1), of: type)
            )
        case .limitData:
            self = .limitData(bytes: try attributes.whole("bytes", of: type))
        case .drop:
            self = .drop(probability: attributes.values["probability"] ?? 0)
        case .resetPeer:
            self = .resetPeer(timeout: try attributes.duration("timeout", unit: .milliseconds(1), of: type))
        case .timeout:
            self = .timeout(timeout: try attributes.duration("timeout", unit: .milliseconds(1), of: type))
        case .slowClose:
            self = .slowClose(delay: try attributes.duration("delay", unit: .milliseconds(1), of: type))
        case .noop:
            self = .noop
        }
    }

    /// Toxiproxy's attributes for this kind, in Toxiproxy's order and units.
    var attributes: [(String, Double)] {
        func ms(_ duration: Duration) -> Double { Double(duration.clampedNanoseconds) / 1e6 }
        switch self {
        case .latency(let latency, let jitter):
            return [("latency", ms(latency)), ("jitter", ms(jitter))]
        case .bandwidth(let rate):
            return [("rate", rate.kilobytesPerSecond)]
        case .slicer(let averageSize, let sizeVariation, let delay):
            return [
                ("average_size", Double(averageSize)), ("size_variation", Double(sizeVariation)),
                ("delay", Double(delay.clampedNanoseconds) / 1e3),
            ]
        case .limitData(let bytes):
            return [("bytes", Double(bytes))]
        case .drop(let probability):
            return [("probability", probability)]
        case .resetPeer(let timeout), .timeout(let timeout):
            return [("timeout", ms(timeout))]
        case .slowClose(let delay):
            return [("delay", ms(delay))]
        case .noop:
            return []
        }
    }
}
