import ArgumentParser
import Foundation
import PcapFile
import Recording
import Report

/// `tapedeck report`: a recording or foreign capture as one self-contained
/// HTML page — sessions on a timeline, throughput, exchanges and their
/// latency, a session's bytes, and a replay's comparison.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a capture as one HTML page: sessions on a timeline, throughput, exchanges and latency, faults and gaps.",
        discussion: """
            Reads what `tapedeck inspect` reads (Tapedeck recordings with their manifests, \
            tcpdump and Wireshark captures, rotated sets in order) and writes one page with \
            its scripts and styles inline: it opens from disk, with no network access. \
            HTTP, Redis and PostgreSQL sessions are framed into requests and answers, as \
            request matching frames them; other protocols into turns.

            Examples:
              tapedeck report Recordings/redis.pcap -o redis.html
              tapedeck report prod_000*.pcap --filter 'tcp port 5432' -o pg.html --title "checkout flow"
              tapedeck report r.pcap --replay drive.json -o compare.html
            """
    )

    @OptionGroup var input: CaptureInput

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The page to write (- for standard output).", valueName: "page.html"))
    var output: String

    @Option(help: ArgumentHelp("The page's title (default: the files' names).", valueName: "text"))
    var title: String?

    @Option(help: ArgumentHelp("A report of replay serve or drive (--report FILE.json) to compare with the recording.", valueName: "report.json"))
    var replay: String?

    func validate() throws {
        if output.isEmpty { throw ValidationError("-o needs a file name") }
        if output == "-" && input.files.contains("-") {
            throw ValidationError("standard input cannot be read while the page goes to standard output; name the capture file")
        }
    }

    func run() throws {
        try reportingFailures {
            let replayData = try replay.map { try ReplayData.load(path: $0) }
            var options = ReportOptions(
                title: title ?? input.files.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "),
                files: input.files,
                filter: input.filter,
                replay: replayData
            )
            var collector = ReportCollector()
            var failure: Error?
            do {
                try input.read { collector.take($0) }
            } catch let error as PcapError where error.code == .read {
                // What was read before the damage is still shown, with the error.
                failure = error
                options.warnings.append("\(error); the page shows the sessions read before it")
            }
            collector.finishOpenSessions()
            let data = collector.data(options)
            let page = try ReportPage.render(data)
            try write(page)
            if output != "-" {
                let sessions = data.sessions.count, exchanges = data.exchanges.count + data.exchanges.leftOut
                print("\(output): \(sessions) session\(sessions == 1 ? "" : "s"), \(exchanges) exchange\(exchanges == 1 ? "" : "s"), \(page.utf8.count) bytes")
            }
            if let failure { throw failure }
        }
    }

    private func write(_ page: String) throws {
        if output == "-" {
            try StandardOutput.write(Data(page.utf8))
            return
        }
        do {
            try PrivateFile.write(Data(page.utf8), to: output)
        } catch {
            throw ReportError("cannot write the page to \(output): \(PlainReason.of(error))")
        }
    }
}
