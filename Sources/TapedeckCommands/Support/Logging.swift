import ArgumentParser
import Foundation
import Logging

/// `--log-level` and `--log-format`, shared by the long-running commands.
struct LoggingOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text or JSON (one object per line), on standard error.")
    var logFormat: Format = .text

    func makeLogger(label: String) -> Logger {
        let format = logFormat
        let level = logLevel
        var logger = Logger(label: label) { label in
            StandardErrorLogHandler(label: label, json: format == .json)
        }
        logger.logLevel = level
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes each log line whole to standard error: text, or JSON with dotted
/// metadata keys (`session.id`, `upstream.address`).
struct StandardErrorLogHandler: LogHandler {
    let label: String
    let json: Bool
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let time = Date().formatted(.iso8601.year().month().day().timeSeparator(.colon).time(includingFractionalSeconds: true))
        let line: String
        if json {
            var object: [String: String] = ["time": time, "level": "\(event.level)", "message": "\(event.message)", "logger": label]
            for (key, value) in merged { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        } else {
            let details = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(time) \(event.level) \(event.message)" + (details.isEmpty ? "" : " \(details)")
        }
        StatusLine.shared.printAbove(line)
    }
}
