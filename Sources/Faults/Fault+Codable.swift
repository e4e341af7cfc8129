/// Toxiproxy's toxic JSON.
///
/// Decoding follows Toxiproxy's `AddToxicJson`: `type` is required; `name`
/// defaults to `<type>_<stream>`, `stream` to `downstream` (case-insensitive),
/// `toxicity` to 1; missing attributes are 0 (so a bandwidth without `rate`
/// is rejected rather than hanging); unknown attributes are ignored. Unlike
/// Toxiproxy, durations and rates may be fractional (`"latency": 0.25` is
/// 250 µs); sizes must be whole numbers. Encoding writes every attribute of
/// the type, whole numbers as JSON integers.
extension Fault: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, type, stream, toxicity, attributes
    }

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<CodingKeys>
        do {
            container = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw FaultError(.malformed, "a fault must be a JSON object with a \"type\"")
        }
        let typeName = try Self.decodeString(container, .type) ?? ""
        guard let type = FaultType(rawValue: typeName) else {
            let known = FaultType.allCases.map(\.rawValue).joined(separator: ", ")
            throw FaultError(.unknownType, "unknown fault type \"\(typeName)\"; expected one of \(known)")
        }
        let streamName = try Self.decodeString(container, .stream) ?? FaultStream.downstream.rawValue
        guard let stream = FaultStream(rawValue: streamName.lowercased()) else {
            throw FaultError(.invalidStream, "unknown stream \"\(streamName)\"; expected upstream or downstream")
        }
        let toxicity: Double
        do {
            toxicity = try container.decodeIfPresent(Double.self, forKey: .toxicity) ?? 1
        } catch {
            throw FaultError(.invalidToxicity, "toxicity must be a number between 0 and 1")
        }
        let attributes = try FaultAttributes(from: container)
        let name = try Self.decodeString(container, .name)
        // Toxiproxy builds the default name from the stream as written.
        let defaultName = "\(typeName)_\(streamName)"
        try self.init(
            FaultKind(type: type, attributes: attributes),
            stream: stream,
            toxicity: toxicity,
            name: (name?.isEmpty ?? true) ? defaultName : name
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind.type.rawValue, forKey: .type)
        try container.encode(stream.rawValue, forKey: .stream)
        try container.encode(toxicity, forKey: .toxicity)
        var attributes = container.nestedContainer(keyedBy: AttributeKey.self, forKey: .attributes)
        for (key, value) in kind.attributes {
            if value.rounded() == value, abs(value) < 9e15 {
                try attributes.encode(Int64(value), forKey: AttributeKey(key))
            } else {
                try attributes.encode(value, forKey: AttributeKey(key))
            }
        }
    }

    private static func decodeString(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        do {
            return try container.decodeIfPresent(String.self, forKey: key)
        } catch {
            throw FaultError(.malformed, "\"\(key.stringValue)\" must be a string")
        }
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
public struct FaultPatch: Sendable, Hashable, Decodable {
    public var toxicity: Double?
    var attributes: FaultAttributes

    private enum CodingKeys: String, CodingKey {
        case toxicity, attributes
    }

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<CodingKeys>
        do {
            container = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw FaultError(.malformed, "a fault update must be a JSON object")
        }
        do {
            toxicity = try container.decodeIfPresent(Double.self, forKey: .toxicity)
        } catch {
            throw FaultError(.invalidToxicity, "toxicity must be a number between 0 and 1")
        }
        attributes = try FaultAttributes(from: container)
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
        guard value.rounded() == value, abs(value) <= Double(Fault.maximumByteCount) else {
            throw FaultError(.invalidAttribute, "\(type.rawValue): \(key) must be a whole number from 0 to \(Fault.maximumByteCount) (got \(value))")
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
            guard rate * 1000 <= Double(Fault.maximumByteCount) else {
                throw FaultError(.invalidAttribute, "bandwidth: rate must be at most \(Fault.maximumByteCount / 1000) KB/s (got \(rate))")
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
