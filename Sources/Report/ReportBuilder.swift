import Foundation
import PcapFile
import Recording

/// What a report is made of besides the capture: its title, the files and
/// filter named, the manifests' settings, a replay report to compare.
public struct ReportOptions: Sendable {
    public var title: String
    public var files: [String]
    public var filter: String?
    public var replay: ReplayData?
    /// A live page refreshes itself this often; nil for a file.
    public var refreshSeconds: Int?
    public var warnings: [String] = []

    public init(title: String, files: [String], filter: String? = nil, replay: ReplayData? = nil, refreshSeconds: Int? = nil) {
        self.title = title
        self.files = files
        self.filter = filter
        self.replay = replay
        self.refreshSeconds = refreshSeconds
    }
}

extension ReportCollector {
    /// The page's data: the sessions read, the manifests' settings beside
    /// `options.files`, the header's facts.
    public func data(_ options: ReportOptions, generated: Date = Date()) -> ReportData {
        let columns = columns()
        var settings: [String: String] = [:]
        var redact: [String] = []
        var tools: Set<String> = []
        for path in options.files {
            guard let manifest = try? Manifest.load(forRecording: path) else { continue }
            settings.merge(manifest.properties) { first, _ in first }
            redact += (manifest.redact ?? []).filter { !redact.contains($0) }
            tools.insert(manifest.toolVersion)
        }
        if !tools.isEmpty { settings["tool_version"] = tools.sorted().joined(separator: ", ") }
        var data = ReportData(
            title: options.title,
            generated: Timestamp(nanosecondsSinceEpoch: Int64(generated.timeIntervalSince1970 * 1e9)).rfc3339,
            files: options.files,
            filter: options.filter,
            originNanoseconds: columns.origin,
            spanMicroseconds: columns.span,
            sessions: columns.sessions,
            throughput: columns.throughput,
            exchanges: columns.exchanges,
            details: columns.details,
            detailsLeftOut: columns.detailsLeftOut,
            protocols: columns.protocols,
            faults: columns.faults,
            settings: settings,
            redact: redact,
            replay: options.replay,
            refreshSeconds: options.refreshSeconds,
            warnings: options.warnings
        )
        data.facts = ReportFacts.facts(data)
        return data
    }
}

/// The summary header, in words.
enum ReportFacts {
    static func facts(_ data: ReportData) -> [Fact] {
        let sessions = data.sessions
        var facts: [Fact] = []
        func add(_ key: String, _ label: String, _ value: String) { facts.append(Fact(key: key, label: label, value: value)) }
        add("files", data.files.count == 1 ? "file" : "files", data.files.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))
        if let filter = data.filter { add("filter", "filter", filter) }
        if sessions.count > 0 {
            let start = Timestamp(nanosecondsSinceEpoch: data.originNanoseconds).rfc3339
            add("span", "time span", "\(start) + \(duration(data.spanMicroseconds))")
        }
        var ends: [String] = []
        for (kind, label, _) in PageStyle.colors {
            let count = sessions.end.filter { $0 == kind }.count
            if count > 0 { ends.append("\(count) \(label)") }
        }
        add("sessions", "sessions", "\(sessions.count)" + (ends.isEmpty ? "" : " (\(ends.joined(separator: ", ")))"))
        let up = sessions.clientToServer.reduce(0, +), down = sessions.serverToClient.reduce(0, +)
        add("bytes", "bytes", "\(bytes(up)) client → server, \(bytes(down)) server → client")
        let gaps = sessions.gapBytes.reduce(0, +)
        if gaps > 0 { add("lost", "lost by the capture", bytes(gaps)) }
        add("protocols", "protocols", data.protocols.isEmpty ? "none" : data.protocols.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        add("exchanges", "exchanges", "\(data.exchanges.count + data.exchanges.leftOut)")
        if data.detailsLeftOut > 0 {
            add("carried", "bytes left off the page", "\(data.detailsLeftOut) of \(sessions.count) sessions' (size budget; inspect --dump has them)")
        }
        add("faults", "faults", data.faults.isEmpty ? "none recorded" : data.faults.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        if let replay = data.replay { add("replay", "replay", "\(replay.kind) report \(URL(fileURLWithPath: replay.file).lastPathComponent)") }
        return facts
    }

    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }

    static func duration(_ microseconds: Int64) -> String {
        if microseconds < 1000 { return "\(microseconds) µs" }
        if microseconds < 1_000_000 { return String(format: "%.1f ms", Double(microseconds) / 1000) }
        if microseconds < 60_000_000 { return String(format: "%.2f s", Double(microseconds) / 1e6) }
        let seconds = microseconds / 1_000_000
        return "\(seconds / 60) min \(seconds % 60) s"
    }
}
