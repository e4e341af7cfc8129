import ArgumentParser
import Foundation
import Recording
import Replay

/// `tapedeck replay merge-reports`: the `--report` files of drivers that
/// shared one capture (`--shard K/N`), as one report.
struct ReplayMergeReportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-reports",
        abstract: "Join the --report files of sharded drives into one report.",
        discussion: """
            Sessions, bytes and failures are summed, differences listed together, and the \
            send-time percentiles computed over every driver's sends together, as one driver \
            would have given them.

            Example:
              tapedeck replay merge-reports shard-0.json shard-1.json shard-2.json shard-3.json -o all.json
            """
    )

    @Argument(help: ArgumentHelp("Reports written by replay drive --report.", valueName: "report"))
    var reports: [String]

    @Option(name: .customShort("o"), help: ArgumentHelp("Write the merged report here (default: standard output).", valueName: "file"))
    var output: String?

    func validate() throws {
        if reports.isEmpty { throw ValidationError("name the reports to merge") }
    }

    func run() throws {
        try reportingFailures {
            let loaded = try reports.map { path in
                try decodeUserFile(path, named: "report", failing: { ReplayError(.invalidOption, $0) }) { data in
                    try JSONDecoder().decode(DriveReport.self, from: data)
                }
            }
            let merged = try DriveReport.merged(loaded)
            let data = try PrettyJSON.encoder.encode(merged)
            guard let output else {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            do {
                try PrivateFile.write(data, to: output)
            } catch {
                throw ReplayError(.output, "cannot write the merged report to \(output): \(PlainReason.of(error))")
            }
            print(ReplayDriveCommand.summary(merged))
        }
    }
}
