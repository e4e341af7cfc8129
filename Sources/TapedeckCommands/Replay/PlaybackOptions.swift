import ArgumentParser
import Faults
import Foundation
import Logging
import Recording
import Replay

/// What `replay serve` and `replay drive` both take: the recordings to
/// play, their timing, how live bytes are compared with them, the faults,
/// the report file and logging.
struct PlaybackOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Recordings or captures (pcap or pcapng, may be compressed with gzip or zstd; - for standard input; a directory for the captures in it, by name), read in order as one.", valueName: "file"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Replay only packets matching this BPF expression ('tcp port 5432').", valueName: "expression"))
    var filter: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Time factor: 2 plays twice as fast, 0.5 half as fast, 0 does not wait at all (default: 1).", valueName: "factor"), transform: RatioArgument.speed("--speed"))
    var speed: Double = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("Cut every idle period longer than this to this.", valueName: "duration"), transform: DurationArgument.option("--max-gap"))
    var maxGap: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("The peer's turn is over when its recorded bytes have arrived or, after some came, after this much silence (default: 50ms).", valueName: "duration"), transform: DurationArgument.option("--turn-idle"))
    var turnIdle: DurationArgument = DurationArgument(argument: "50ms")!

    @Flag(help: "Compare the peer's bytes with the recording; log the first difference as a hex diff.")
    var strict = false

    @Option(
        name: .customLong("ignore-bytes"),
        help: ArgumentHelp("Do not compare these bytes: [client:|server:]OFFSET:LENGTH of that side's stream. Repeatable.", valueName: "range"),
        transform: { text in try IgnoreRule(parsingRange: text) }
    )
    var ignoreBytes: [IgnoreRule] = []

    @Option(
        name: .customLong("ignore"),
        help: ArgumentHelp("Do not compare recorded bytes matching this regular expression (ids, timestamps). Repeatable.", valueName: "regex"),
        transform: { text in try IgnoreRule(parsingPattern: text) }
    )
    var ignorePatterns: [IgnoreRule] = []

    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var report: String?

    @Option(help: ArgumentHelp("What does not count (JSON, as `tapedeck noise` writes it): left out when requests are matched (serve) and when answers are compared (drive).", valueName: "file"))
    var masks: String?

    @OptionGroup(title: "Faults") var faults: FaultOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one recording or capture to replay") }
        try checkStandardInput(files)
    }

    var timing: ReplayTiming {
        ReplayTiming(speed: speed, maxGap: maxGap?.duration, turnIdle: turnIdle.duration)
    }

    func comparison(policy: MismatchPolicy) -> ReplayComparison {
        ReplayComparison(strict: strict, policy: policy, ignore: ignoreBytes + ignorePatterns)
    }

    func replayFaults(logger: Logger) throws -> FaultSettings {
        let seed = faults.seed ?? UInt64.random(in: .min ... .max)
        let list = try faults.faults()
        if !list.isEmpty {
            logger.info("faults", metadata: ["faults": "\(ProxyRunner.json(list))", "seed": "\(seed)"])
        }
        return FaultSettings(faults: list, seed: seed)
    }

    /// Catalogs the sessions, their bytes set aside in `$TMPDIR` (see
    /// `SessionCatalog`), with progress on a terminal for large files.
    func loadSessions(logger: Logger) throws -> SessionCatalog {
        let paths = try CaptureFiles.expanding(files)
        let progress = ReadProgress(files: paths)
        defer { progress.finish() }
        let catalog: SessionCatalog
        do {
            catalog = try SessionCatalog.read(paths: paths, filter: filter, progress: progress.update) { cut in
                progress.finish()
                logger.warning("\(CaptureInput.describe(cut))")
            }
        } catch let error as PayloadStoreError {
            throw ReplayError(.read, "\(error)")
        }
        guard catalog.count > 0 else {
            throw ReplayError(.noSession, "no TCP or Unix-socket session in \(files.joined(separator: ", "))\(filter.map { " matching '\($0)'" } ?? "")")
        }
        for position in 0..<catalog.count {
            let outline = catalog.outline(at: position)
            if let offset = outline.firstGapStreamOffset {
                logger.warning("the capture lost bytes of this session; it will fail at that point", metadata: [
                    "session.index": "\(outline.session.index)", "stream.offset": "\(offset)",
                ])
            }
        }
        return catalog
    }

    /// The `--masks` file, read; nil when none was named.
    func loadMasks() throws -> Masks? {
        try masks.map { path throws in try Masks.load(path: path) }
    }

    func writeReport<Report: Encodable>(_ value: Report) throws {
        guard let report else { return }
        do {
            try PrivateFile.write(try PrettyJSON.encoder.encode(value), to: report)
        } catch {
            throw ReplayError(.output, "cannot write the report to \(report): \(PlainReason.of(error))")
        }
    }
}
