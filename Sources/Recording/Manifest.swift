import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    public init(file: String, sessions: [SessionSummary], properties: [String: String] = [:]) {
        self.format = "tapedeck-recording"
        self.formatVersion = Self.currentFormatVersion
        self.toolVersion = TapedeckVersion.current
        self.file = file
        self.sessions = sessions
        self.properties = properties
    }

    enum CodingKeys: String, CodingKey {
        case format, file, sessions, properties
        case formatVersion = "format_version"
        case toolVersion = "tool_version"
    }

    /// Where the manifest of the recording at `pcapPath` lives.
    public static func path(forRecording pcapPath: String) -> String {
        pcapPath + ".json"
    }

    /// The manifest beside `pcapPath`, or nil when there is none (a capture
    /// Tapedeck did not write). A manifest that exists but does not parse is
    /// an error.
    public static func load(forRecording pcapPath: String) throws -> Manifest? {
        let path = Self.path(forRecording: pcapPath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ManifestError(path: path, reason: "\(error)")
        }
    }

    /// Writes the manifest with mode 0600, atomically (a reader never sees
    /// half of it; on failure, a manifest already there stays as it was).
    public func write(forRecording pcapPath: String) throws {
        let path = Self.path(forRecording: pcapPath)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            throw ManifestError(path: path, reason: "\(error)", writing: true)
        }
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ManifestError(path: path, reason: String(cString: strerror(errno)), writing: true)
        }
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    failure = count == 0 ? EIO : errno
                    return
                }
                done += count
            }
        }
        if Glibc.close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw ManifestError(path: path, reason: String(cString: strerror(failure)), writing: true)
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
    /// True when writing failed (a full disk), false when reading did.
    public var writing: Bool

    public init(path: String, reason: String, writing: Bool = false) {
        self.path = path
        self.reason = reason
        self.writing = writing
    }

    public var description: String { "\(path): \(writing ? "cannot write the manifest" : "unreadable manifest"): \(reason)" }
}
