import Foundation
import PcapFile

/// `NAME.pcap.json`, written beside each recording: what the pcap alone
/// cannot hold — the sessions' real endpoints (Unix socket paths included),
/// byte counts and SHA-256 per direction, how each ended, and the tool that
/// wrote it.
public struct Manifest: Hashable, Sendable, Codable {
    public static let currentFormatVersion = 1

    public var format: String
    public var formatVersion: Int
    public var toolVersion: String
    /// The pcap file's name, without its folder.
    public var file: String
    public var sessions: [SessionSummary]
    /// Free-form facts about how the recording was made (`converted_from`,
    /// the fault plan and seed in force), as key/value text.
    public var properties: [String: String]
    /// The `--redact` patterns whose matches were masked (nil: none were
    /// given). What they masked is not kept anywhere.
    public var redact: [String]?

    public init(file: String, sessions: [SessionSummary], properties: [String: String] = [:], redact: [String] = []) {
        self.format = "tapedeck-recording"
        self.formatVersion = Self.currentFormatVersion
        self.toolVersion = TapedeckVersion.current
        self.file = file
        self.sessions = sessions
        self.properties = properties
        self.redact = redact.isEmpty ? nil : redact
    }

    enum CodingKeys: String, CodingKey {
        case format, file, sessions, properties, redact
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
    /// reader never sees half of it).
    public func write(forRecording pcapPath: String) throws {
        try write(to: Self.path(forRecording: pcapPath))
    }

    /// Writes the manifest to `path` with mode 0600, atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(self)
            let temporary = path + ".partial"
            guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ManifestError(path: path, reason: "cannot create \(temporary)")
            }
            guard rename(temporary, path) == 0 else {
                throw ManifestError(path: path, reason: String(cString: strerror(errno)))
            }
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(path: path, reason: "\(error)")
        }
    }

    /// Each session keyed by the addresses its frames carry, so a reader of
    /// the pcap can name Unix sockets again.
    package var sessionsByWire: [WireKey: SessionSummary] {
        var map: [WireKey: SessionSummary] = [:]
        for session in sessions {
            let wire = session.wire ?? [session.client, session.server]
            guard wire.count == 2 else { continue }
            map[WireKey(client: wire[0], server: wire[1])] = session
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
    public var client: Endpoint
    public var server: Endpoint

    public init(client: Endpoint, server: Endpoint) {
        self.client = client
        self.server = server
    }
}

public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): unreadable manifest: \(reason)" }
}
