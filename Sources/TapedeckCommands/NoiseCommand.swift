import ArgumentParser
import Foundation
import Protocols
import Recording
import Replay

/// `tapedeck noise`: learns masks from two recordings of one scenario.
struct NoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise",
        abstract: "Learn masks: compare two recordings of one scenario and propose a mask for everything that differs.",
        discussion: """
            Record the same scenario twice (same client, same requests), then give both \
            recordings. Each is framed in its protocol (HTTP/1, Redis, PostgreSQL; bytes \
            otherwise) and their exchanges are paired: session by session and in order when \
            both hold as many, else by request, then by route, command or statement. Every \
            place a pair differs becomes a mask: HTTP header fields (requests and responses), \
            query parameters, JSON fields, Redis argument positions and commands whose replies \
            vary, PostgreSQL parameters and result columns, and otherwise a regular expression \
            over the bytes. A summary of what was found, and what no mask can hide (an HTTP \
            status, a row count), is printed; the masks are written as JSON for `replay serve \
            --masks` and `replay drive --masks`. Read them before use: a mask hides a \
            difference for good.

            Examples:
              tapedeck noise run1.pcap run2.pcap -o masks.json
              tapedeck noise run1.pcap run2.pcap --filter 'tcp port 8080' -o - | jq .
            """
    )

    @Argument(help: ArgumentHelp("Two recordings of the same scenario (each a file, or a directory such as record --per-session writes).", valueName: "file"))
    var files: [String] = []

    @Option(name: .customShort("o"), help: ArgumentHelp("Write the masks here (- for standard output; the summary then goes to standard error).", valueName: "file"))
    var output: String = "-"

    @Option(help: ArgumentHelp("Compare only packets matching this BPF expression ('tcp port 8080').", valueName: "expression"))
    var filter: String?

    @Option(name: .customLong("protocol"), help: "The recordings' protocol (default: detected from the first's first bytes).")
    var protocolKind: ProtocolKind?

    @Option(parsing: .unconditional, help: ArgumentHelp("Generic protocols: a side's turn ends after this much silence (default: 50ms).", valueName: "duration"), transform: DurationArgument.option("--turn-idle"))
    var turnIdle: DurationArgument = DurationArgument(argument: "50ms")!

    func validate() throws {
        guard files.count == 2 else {
            throw ValidationError("name two recordings of the same scenario (given \(files.count))")
        }
        try checkStandardInput(files)
        for file in files where file != "-" && !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("cannot read \(file)")
        }
    }

    func run() throws {
        try reportingFailures {
            let scriptsA = try load(files[0])
            let scriptsB = try load(files[1])
            let kind = protocolKind ?? RecordedConversations.detect(scriptsA)
            let other = RecordedConversations.detect(scriptsB)
            if protocolKind == nil, other != kind {
                throw ReplayError(.invalidOption, "\(files[0]) speaks \(kind) but \(files[1]) speaks \(other): they do not record one scenario (or name it with --protocol)")
            }
            let report = NoiseFinder.find(
                RecordedConversations(scripts: scriptsA, protocol: kind, turnIdle: turnIdle.duration),
                RecordedConversations(scripts: scriptsB, protocol: kind, turnIdle: turnIdle.duration)
            )
            let summary = Self.summary(report, files: files, output: output)
            if output == "-" {
                FileHandle.standardError.write(Data((summary + "\n").utf8))
                try StandardOutput.write(Data(report.masks.json))
            } else {
                do {
                    try PrivateFile.write(Data(report.masks.json), to: output)
                } catch {
                    throw ReplayError(.output, "cannot write the masks to \(output): \(PlainReason.of(error))")
                }
                print(summary)
            }
        }
    }

    private func load(_ file: String) throws -> [SessionScript] {
        let scripts = try SessionScript.load(paths: try CaptureFiles.expanding([file]), filter: filter, truncated: { cut in
            printError("\(CaptureInput.describe(cut))")
        })
        guard !scripts.isEmpty else {
            throw ReplayError(.noSession, "no TCP or Unix-socket session in \(file)\(filter.map { " matching '\($0)'" } ?? "")")
        }
        return scripts
    }

    static func summary(_ report: NoiseReport, files: [String], output: String) -> String {
        let pairing = report.pairedByOrder ? "session by session, in order" : "by request (the recordings hold different numbers of exchanges)"
        var lines = [
            "\(report.protocolKind): A \(files[0]) (\(count(report.sessions.a, "session"))), B \(files[1]) (\(count(report.sessions.b, "session"))); \(count(report.pairs, "exchange")) paired \(pairing), \(report.unpaired.count) unpaired"
        ]
        lines += report.unpaired.prefix(20).map { "unpaired: \($0)" }
        if report.unpaired.count > 20 { lines.append("… and \(report.unpaired.count - 20) more unpaired") }
        lines += report.framingFailures.map { "could not frame \($0)" }
        if report.findings.isEmpty {
            lines.append("no differences a mask can name")
        } else {
            lines.append("\(report.findings.count) mask\(report.findings.count == 1 ? "" : "s") proposed:")
            lines += report.findings.map { "  \($0.mask): differs in \($0.count) of \(report.pairs) (e.g. \($0.example))" }
        }
        if !report.unmaskable.isEmpty {
            lines.append("differences no mask can hide:")
            lines += report.unmaskable.map { "  \($0.mask): differs in \($0.count) of \(report.pairs) (e.g. \($0.example))" }
        }
        lines.append(output == "-" ? "masks written to standard output" : "masks written to \(output)")
        return lines.joined(separator: "\n")
    }

    private static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }
}
