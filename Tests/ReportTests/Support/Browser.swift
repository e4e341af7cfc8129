import Foundation
import TapedeckTestSupport

/// What a report page showed in headless Chromium (Debian's `chromium`),
/// read from its DOM by `Browser/cdp.py` over the DevTools protocol.
struct PageReading: Decodable {
    struct Bar: Decodable {
        var session: Int
        var end: String
        var fill: String
        var color: String
    }

    struct Clicked: Decodable {
        var hidden: Bool
        var session: Int?
        var title: String
        var firstRequestText: String?
        var firstRequestHex: String?
        var firstAnswerText: String?
        var exchanges: Int
        var gapRows: Int
        var text: String
    }

    struct LegendKey: Decodable {
        var label: String
        var color: String
    }

    var mode: String
    var bars: Int
    var barElements: Int
    var rows: Int
    var barList: [Bar]
    var faultMarks: Int
    var legend: [LegendKey]
    var title: String
    var facts: [String: String]
    var exchangeRows: Int
    var exchangesTitle: String
    var latencyStats: String
    var replayHidden: Bool
    var replayText: String
    var drawMs: Double
    var throughputBins: Int
    var externalResources: [String]
    var loadSeconds: Double
    var clicked: Clicked?
    /// A live page read again after it refreshed itself (`waitForRefresh`).
    var afterRefresh: Refreshed?

    struct Refreshed: Decodable {
        var bars: Int
        var barList: [Bar]
    }

    /// The bytes a hex pane shows (`000000  2a 31 0d 0a …` lines).
    static func bytes(ofHexDump dump: String) -> [UInt8] {
        dump.split(separator: "\n").flatMap { line in
            line.split(separator: " ").dropFirst().compactMap { UInt8($0, radix: 16) }
        }
    }
}

enum Browser {
    static let chromium = "/usr/bin/chromium"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: chromium) }

    static let script: String = {
        guard let url = Bundle.module.url(forResource: "Browser/cdp", withExtension: "py") else {
            preconditionFailure("Browser/cdp.py is not among the test resources")
        }
        return url.path
    }()

    /// Opens `page`, optionally clicks session `click`'s bar, and writes a
    /// screenshot to `.build/report-screenshots/NAME.png` (and `NAME-session.png` after the click).
    static func open(_ page: String, click: Int? = nil, screenshot name: String, width: Int = 1400, height: Int = 1000, waitForRefresh: Bool = false) throws -> PageReading {
        var arguments = [script, page, "--chromium", chromium, "--screenshot", screenshotPath(name), "--width", "\(width)", "--height", "\(height)"]
        if let click { arguments += ["--click", "\(click)"] }
        if waitForRefresh { arguments.append("--wait-refresh") }
        let result = try ChildProcess.run("/usr/bin/python3", arguments, timeoutSeconds: 240)
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "cdp.py \(page) exited \(result.status): \(result.standardError)")
        }
        return try JSONDecoder().decode(PageReading.self, from: result.standardOutput)
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func screenshotPath(_ name: String) -> String {
        let directory = packageRoot.appendingPathComponent(".build/report-screenshots")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("\(name).png").path
    }
}

/// The `tapedeck` executable, run as a user runs it.
enum Tapedeck {
    static func run(_ arguments: [String], timeoutSeconds: Int = 120) throws -> ChildProcess.Result {
        try ChildProcess.run(try TapedeckExecutable.located.get(), arguments, timeoutSeconds: timeoutSeconds)
    }

    /// `tapedeck report FILES -o PAGE EXTRA…`; fails unless it exits 0.
    static func report(_ files: [String], to page: String, _ extra: [String] = []) throws {
        let result = try run(["report"] + files + ["-o", page] + extra)
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "tapedeck report exited \(result.status): \(result.standardError)")
        }
    }

    /// The sessions `tapedeck inspect --format json` lists: index and end.
    static func inspect(_ files: [String]) throws -> [(index: Int, end: String, faults: Int, clientBytes: Int, duration: Int)] {
        let result = try run(["inspect", "--format", "json"] + files)
        guard result.status == 0, let list = try JSONSerialization.jsonObject(with: result.standardOutput) as? [[String: Any]] else {
            throw ChildProcess.Failure(description: "tapedeck inspect exited \(result.status): \(result.standardError)")
        }
        return list.map { session in
            let client = (session["client_to_server"] as? [String: Any])?["bytes"] as? Int ?? 0
            return (session["index"] as? Int ?? -1, session["end"] as? String ?? "", (session["faults"] as? [Any])?.count ?? 0, client,
                    session["duration_ns"] as? Int ?? 0)
        }
    }

    /// What one side of a session sent (`inspect --session N --dump SIDE`).
    static func dump(_ files: [String], session: Int, side: String) throws -> [UInt8] {
        let result = try run(["inspect"] + files + ["--session", "\(session)", "--dump", side])
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "tapedeck inspect --dump exited \(result.status): \(result.standardError)")
        }
        return Array(result.standardOutput)
    }
}
