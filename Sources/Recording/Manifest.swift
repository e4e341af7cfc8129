import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PcapFile

/// `NAME.pcap.json`, written beside each recording: what the pcap alone
/// cannot hold — the sessions' real endpoints (Unix socket paths included),
/// byte counts and SHA-256 per direction, how each ended, the faults that
/// acted on each (`SessionFault`), and the tool that wrote it.
public struct Manifest: Hashable, Sendable, Codable {
    public static let currentFormatVersion = 1

    public var format: String
    public var formatVersion: Int
    public var toolVersion: String
    /// The pcap file's name, without its folder.
    public var file: String
    public var sessions: [SessionSummary]
    /// Free-form facts about how the recording was made (`converted_from`,
    /// the fault plan and seed in force), as key/value text. In the file,
    /// `faults` (JSON text here) is written as the JSON array itself and
    /// `seed` as a number; manifests that hold them as strings still read.
    public var properties: [String: String] {
        get { storedProperties.texts }
        set { storedProperties.texts = newValue }
    }
    private var storedProperties: ManifestProperties
    /// The `--redact` patterns whose matches were masked (nil: none were
    /// given). What they masked is not kept anywhere.
    public var redact: [String]?

    public init(file: String, sessions: [SessionSummary], properties: [String: String] = [:], redact: [String] = []) {
        self.format = "tapedeck-recording"
        self.formatVersion = Self.currentFormatVersion
        self.toolVersion = TapedeckVersion.current
        self.file = file
        self.sessions = sessions
        self.storedProperties = ManifestProperties(texts: properties)
        self.redact = redact.isEmpty ? nil : redact
    }

    enum CodingKeys: String, CodingKey {
        case format, file, sessions, redact
        case storedProperties = "properties"
        case formatVersion = "format_version"
        case toolVersion = "tool_version"
    }

    /// Where the manifest of the recording at `pcapPath` lives.
    public static func path(forRecording pcapPath: String) -> String {
        pcapPath + ".json"
    }

    /// Suffixes of the compressed recordings Tapedeck reads.
    static let compressionSuffixes = [".gz", ".zst"]

    /// The manifest beside `pcapPath` — for `NAME.pcap.gz` or `.zst`,
    /// `NAME.pcap.gz.json` or else the uncompressed file's `NAME.pcap.json`
    /// — or nil when there is none (a capture Tapedeck did not write, or
    /// standard input, `-`). A manifest that exists but does not parse is an
    /// error.
    public static func load(forRecording pcapPath: String) throws -> Manifest? {
        guard pcapPath != "-" else { return nil }
        let uncompressed = compressionSuffixes.filter { pcapPath.hasSuffix($0) }.map { String(pcapPath.dropLast($0.count)) }
        let candidates = ([pcapPath] + uncompressed).map { Self.path(forRecording: $0) }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ManifestError(path: path, reason: "\(error)")
        }
    }

    /// Writes the manifest beside `pcapPath` with mode 0600, atomically (a
    /// reader never sees half of it; on failure, a manifest already there
    /// stays as it was).
    public func write(forRecording pcapPath: String) throws {
        try write(to: Self.path(forRecording: pcapPath))
    }

    /// Writes the manifest to `path` (`--manifest FILE`) with mode 0600,
    /// atomically, as `write(forRecording:)` does.
    public func write(to path: String) throws {
        let data: Data
        do {
            data = try PrettyJSON.encoder.encode(self)
        } catch {
            throw ManifestError(path: path, reason: "\(error)", writing: true)
        }
        do {
            try PrivateFile.write(data, to: path)
        } catch {
            throw ManifestError(path: path, reason: String(cString: strerror(error.code)), writing: true)
        }
    }

    /// Each session keyed by the addresses its frames carry, so a reader of
    /// the pcap can name Unix sockets again.
    package var sessionsByWire: [WireKey: SessionSummary] {
        var map: [WireKey: SessionSummary] = [:]
        for session in sessions {
            if let key = session.wireKey { map[key] = session }
        }
        return map
    }

    /// A hosts file naming the synthetic addresses of Unix sockets, for
    /// `tshark -H FILE` or Wireshark's name resolution.
    public var hostsFile: String {
        var lines: [String] = []
        var seen: Set<IPAddress> = []
        for session in sessions {
            guard let wire = session.wire, wire.count == 2 else { continue }
            for (real, synthetic) in [(session.client, wire[0]), (session.server, wire[1])] {
                guard case .unix(let path) = real, case .ip(let address, _) = synthetic, seen.insert(address).inserted else { continue }
                let name = "unix" + path.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? String($0) : "_" }.joined()
                lines.append("\(address)\t\(name)")
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

/// A session's 4-tuple as its frames carry it.
package struct WireKey: Hashable, Sendable {
    var client: Endpoint
    var server: Endpoint

    var reversed: WireKey { WireKey(client: server, server: client) }
}

extension SessionSummary {
    /// The addresses its frames carry: `wire` where the real endpoints
    /// differ (Unix sockets), else `client` and `server`; nil for a `wire`
    /// that is not two endpoints.
    package var wireKey: WireKey? {
        let wire = wire ?? [client, server]
        return wire.count == 2 ? WireKey(client: wire[0], server: wire[1]) : nil
    }
}

public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    /// True when writing failed (a full disk), false when reading did.
    public var writing: Bool

    public init(path: String, reason: String, writing: Bool = false) {
        self.path = path
        self.reason = reason
        self.writing = writing
    }

    public var description: String { "\(path): \(writing ? "cannot write the manifest" : "unreadable manifest"): \(reason)" }
}

/// ``Manifest/properties`` as the file holds them: `faults` as JSON,
/// `seed` as a number, the rest as strings; each read back as text.
private struct ManifestProperties: Codable, Hashable, Sendable {
    var texts: [String: String]

    init(texts: [String: String]) {
        self.texts = texts
    }

    init(from decoder: Decoder) throws {
        texts = try [String: ManifestValue](from: decoder).mapValues(\.text)
    }

    func encode(to encoder: Encoder) throws {
        var values: [String: ManifestValue] = [:]
        for (key, text) in texts {
            switch key {
            case "faults": values[key] = ManifestValue(json: text) ?? .string(text)
            case "seed": values[key] = UInt64(text).map(ManifestValue.unsigned) ?? .string(text)
            default: values[key] = .string(text)
            }
        }
        try values.encode(to: encoder)
    }
}

/// A property's value as the manifest file holds it: text, or JSON that
/// ``Manifest/properties`` keeps as its compact text.
enum ManifestValue: Codable, Hashable {
    case string(String)
    case unsigned(UInt64)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    case array([ManifestValue])
    case object([String: ManifestValue])

    /// `text` parsed as a JSON array or object, or nil when it is not one.
    init?(json text: String) {
        guard let value = try? JSONDecoder().decode(ManifestValue.self, from: Data(text.utf8)) else { return nil }
        switch value {
        case .array, .object: self = value
        default: return nil
        }
    }

    init(from decoder: Decoder) throws {
        if let container = try? decoder.singleValueContainer() {
            if container.decodeNil() { self = .null; return }
            if let value = try? container.decode(Bool.self) { self = .bool(value); return }
            if let value = try? container.decode(UInt64.self) { self = .unsigned(value); return }
            if let value = try? container.decode(Int64.self) { self = .integer(value); return }
            if let value = try? container.decode(Double.self) { self = .number(value); return }
            if let value = try? container.decode(String.self) { self = .string(value); return }
            if let value = try? container.decode([ManifestValue].self) { self = .array(value); return }
        }
        self = .object(try [String: ManifestValue](from: decoder))
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A string as itself; anything else as compact JSON with sorted keys.
    var text: String {
        if case .string(let value) = self { return value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
