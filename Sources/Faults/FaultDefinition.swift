/// A toxic as Toxiproxy's JSON states it, before any check:
/// `{"name", "type", "stream", "toxicity", "attributes"}`.
///
/// It is both what a client sends to `POST /proxies/{name}/toxics` (every
/// field optional; the server fills in Toxiproxy's defaults and checks the
/// rest) and what the API shows. ``Fault``'s `Codable` reads and writes
/// through it; a client that only passes toxics along (`tapedeck ctl`) uses
/// it as is, so that the server's own defaults, checks and toxic types apply,
/// Toxiproxy's included.
///
/// Decoding fails (``FaultError``) only when the JSON is not of this shape.
/// Encoding writes the fields that are set, whole numbers as JSON integers.
public struct FaultDefinition: Sendable, Hashable, Codable {
    public var name: String?
    /// Toxiproxy's name of the type: `latency`, `limit_data`, ...
    public var type: String?
    /// `upstream` or `downstream` (Toxiproxy takes any case).
    public var stream: String?
    public var toxicity: Double?
    /// In Toxiproxy's units: milliseconds, KB/s, microseconds (slicer
    /// delay), bytes.
    public var attributes: [String: Double]

    public init(name: String? = nil, type: String? = nil, stream: String? = nil, toxicity: Double? = nil, attributes: [String: Double] = [:]) {
        self.name = name
        self.type = type
        self.stream = stream
        self.toxicity = toxicity
        self.attributes = attributes
    }

    /// The fault as the API shows it: every field, every attribute of its type.
    public init(_ fault: Fault) {
        self.init(
            name: fault.name,
            type: fault.kind.type.rawValue,
            stream: fault.stream.rawValue,
            toxicity: fault.toxicity,
            attributes: Dictionary(uniqueKeysWithValues: fault.kind.attributes)
        )
    }

    private enum CodingKeys: String, CodingKey {
        case name, type, stream, toxicity, attributes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.faultObject(keyedBy: CodingKeys.self, else: "a fault must be a JSON object with a \"type\"")
        type = try Self.decodeString(container, .type)
        stream = try Self.decodeString(container, .stream)
        toxicity = try container.decodeToxicity(forKey: .toxicity)
        attributes = try FaultAttributes(from: container).values
        name = try Self.decodeString(container, .name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(stream, forKey: .stream)
        try container.encodeIfPresent(toxicity, forKey: .toxicity)
        try FaultAttributes(values: attributes).encode(into: &container, forKey: .attributes)
    }

    private static func decodeString(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        do {
            return try container.decodeIfPresent(String.self, forKey: key)
        } catch {
            throw FaultError(.malformed, "\"\(key.stringValue)\" must be a string")
        }
    }
}
