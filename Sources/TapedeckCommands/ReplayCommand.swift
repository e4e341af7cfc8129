import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import Replay

/// `tapedeck replay serve|drive`.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded sessions: be the server for a client under test, or the client of a real server.",
        discussion: """
            Works from Tapedeck's recordings and from captures it did not make (tcpdump, \
            Wireshark; pcap or pcapng; several rotated files given together).

            Examples:
              tapedeck replay serve Recordings/redis.pcap --listen 127.0.0.1:6380
              tapedeck replay drive Recordings/redis.pcap --target 127.0.0.1:6379 --strict
            """,
        subcommands: [ReplayServeCommand.self, ReplayDriveCommand.self]
    )
}

/// Options both replay directions share.
struct ReplayOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Recordings or captures (pcap or pcapng), read in order as one.", valueName: "file"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Replay only packets matching this BPF expression ('tcp port 5432').", valueName: "expression"))
    var filter: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Time factor: 2 plays twice as fast, 0.5 half as fast, 0 does not wait at all.", valueName: "factor"))
    var speed: Double = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("Cut every idle period longer than this to this.", valueName: "duration"), transform: DurationArgument.parse)
    var maxGap: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("The peer's turn is over when its recorded bytes have arrived or, after some came, after this much silence.", valueName: "duration"), transform: DurationArgument.parse)
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

    @OptionGroup(title: "Faults") var faults: FaultOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one recording or capture to replay") }
        if !(speed >= 0) || !speed.isFinite { throw ValidationError("--speed \(speed) must be 0 or more") }
        for file in files where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("cannot read \(file)")
        }
    }

    var timing: ReplayTiming {
        ReplayTiming(speed: speed, maxGap: maxGap?.duration, turnIdle: turnIdle.duration)
    }

    func comparison(policy: MismatchPolicy) -> ReplayComparison {
        ReplayComparison(strict: strict, policy: policy, ignore: ignoreBytes + ignorePatterns)
    }

    func replayFaults(logger: Logger) throws -> ReplayFaults {
        let seed = faults.seed ?? UInt64.random(in: .min ... .max)
        let list = try faults.faults()
        if !list.isEmpty {
            logger.info("faults", metadata: ["faults": "\(ProxyRunner.json(list))", "seed": "\(seed)"])
        }
        return ReplayFaults(faults: list, seed: seed)
    }

    /// Reads the sessions, with progress on a terminal for large files.
    func loadScripts(logger: Logger) throws -> [SessionScript] {
        let progress = ReadProgress(files: files)
        defer { progress.finish() }
        let scripts = try SessionScript.load(paths: files, filter: filter, progress: progress.update)
        guard !scripts.isEmpty else {
            throw ReplayError(.noSession, "no TCP or Unix-socket session in \(files.joined(separator: ", "))\(filter.map { " matching '\($0)'" } ?? "")")
        }
        for script in scripts {
            if let (_, offset) = script.firstGap {
                logger.warning("the capture lost bytes of this session; it will fail at that point", metadata: [
                    "session.index": "\(script.session.index)", "stream.offset": "\(offset)",
                ])
            }
        }
        return scripts
    }

    func writeReport<Report: Encodable>(_ value: Report) throws {
        guard let report else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(value).write(to: URL(fileURLWithPath: report))
        } catch {
            throw ReplayError(.output, "cannot write the report to \(report): \(PlainReason.of(error))")
        }
    }
}

struct ReplayServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Be the server: answer each client with a recorded session's server side.",
        discussion: """
            Each connection gets one recorded session (in recorded order; see --match, \
            --session, --loop). Before each recorded server chunk, Tapedeck waits for the \
            client's turn: the bytes the recording says the client sent, or, when it sends \
            less, --turn-idle of silence. The chunk then goes out after its recorded delay \
            (scaled by --speed) plus the faults; the connection ends as the recording ended. \
            SIGINT or SIGTERM stops the server and prints a summary.

            Examples:
              tapedeck replay serve Recordings/redis.pcap --listen 127.0.0.1:6380
              tapedeck replay serve capture.pcapng --filter 'tcp port 5432' --listen unix:/tmp/pg.sock --speed 2 --latency 5ms --seed 1
              tapedeck replay serve Recordings/http.pcap --listen :8080 --match first-bytes --loop --strict --ignore 'Date: [^\\r]*'
            """
    )

    enum Match: String, ExpressibleByArgument, CaseIterable {
        case order
        case firstBytes = "first-bytes"
    }

    @OptionGroup var replay: ReplayOptions

    @Option(
        name: .customLong("listen"),
        help: ArgumentHelp("Where clients connect: IP:PORT, [IPv6]:PORT, localhost:PORT or :PORT (127.0.0.1), or unix:/path. Repeatable.", valueName: "endpoint"),
        transform: parseListener
    )
    var listeners: [Endpoint] = []

    @Option(help: ArgumentHelp("Permissions of Unix listener sockets, in octal.", valueName: "mode"))
    var socketMode: String = "0600"

    @Option(help: "Which recorded session answers a connection: the next in recorded order, or the one whose first client bytes match best.")
    var match: Match = .order

    @Option(name: .customLong("session"), parsing: .unconditional, help: ArgumentHelp("Answer every connection with this session (its index, as `tapedeck inspect` lists it).", valueName: "index"))
    var session: Int?

    @Flag(help: "Start over when every session has been used (otherwise later connections are closed).")
    var loop = false

    @Option(help: "With --strict, what a difference does: close the connection, reset it, or continue.")
    var onMismatch: MismatchPolicy = .close

    func validate() throws {
        if listeners.isEmpty { throw ValidationError("name at least one --listen endpoint") }
        guard UInt16(socketMode, radix: 8) != nil else {
            throw ValidationError("--socket-mode \(socketMode) is not an octal mode such as 0660")
        }
        if session != nil, match == .firstBytes { throw ValidationError("--session and --match first-bytes do not go together") }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = replay.logging.makeLogger(label: "tapedeck")
            let scripts = try replay.loadScripts(logger: logger)
            let configuration = ServeConfiguration(
                listeners: listeners,
                socketMode: mode_t(UInt16(socketMode, radix: 8) ?? 0o600),
                match: session.map { .pinned($0) } ?? (match == .firstBytes ? .firstBytes : .inOrder),
                loop: loop,
                timing: replay.timing,
                comparison: replay.comparison(policy: onMismatch),
                faults: try replay.replayFaults(logger: logger)
            )
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            let server = try ReplayServer(scripts: scripts, configuration: configuration, group: group, logger: logger)
            do {
                try await server.start()
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            let signal = await waitForTerminationSignal()
            logger.info("shutting down", metadata: ["signal": "\(signal == SIGINT ? "SIGINT" : "SIGTERM")"])
            await server.shutdown()
            try? await group.shutdownGracefully()
            let report = server.report
            print(Self.summary(report))
            try replay.writeReport(report)
        }
    }

    static func summary(_ report: ServeReport) -> String {
        var lines = [
            "connections \(report.connections) · sessions used \(report.sessionsUsed) · unused \(report.unusedSessions.count) · mismatches \(report.mismatches.count) · refused \(report.refused) · failed \(report.failures.count)"
        ]
        if !report.unusedSessions.isEmpty {
            lines.append("unused sessions: \(report.unusedSessions.map(String.init).joined(separator: " "))")
        }
        lines += report.mismatches.map(\.hexDiff)
        lines += report.failures.map { "session \($0.session) failed: \($0.reason)" }
        lines += report.midFlowSessions.map { "session \($0) started before the capture did: replayed from its first captured byte" }
        return lines.joined(separator: "\n")
    }
}

struct ReplayDriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drive",
        abstract: "Be the client: play recorded sessions against a real server and compare its answers.",
        discussion: """
            Each recorded session is opened against --target at its recorded start (scaled \
            by --speed), sends the client's side with its recorded think time, and reads the \
            server's answers. Every send is scheduled from one clock, so no drift builds up. \
            The report gives sessions, bytes, differences (with the first differing offset) \
            and the send-time error as p50/p99/max. With --strict, a difference makes the \
            exit status 1.

            Examples:
              tapedeck replay drive Recordings/redis.pcap --target 127.0.0.1:6379 --strict
              tapedeck replay drive prod-*.pcap --target :8080 --speed 4 --concurrency 64 --max-gap 1s
              tapedeck replay drive Recordings/redis.pcap --target :6379 --drop 0.1 --seed 7 -w /tmp/faulty.pcap
            """
    )

    @OptionGroup var replay: ReplayOptions

    @Option(help: ArgumentHelp("The server to drive: HOST:PORT (an IP address or a host name), [IPv6]:PORT, :PORT or unix:/path.", valueName: "endpoint"), transform: parseEndpoint)
    var target: Endpoint

    @Option(name: .customLong("session"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Only the session with this index (repeatable).", valueName: "index"))
    var sessions: [Int] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("At most this many sessions at once.", valueName: "n"))
    var concurrency: Int?

    @Option(name: .customLong("loop"), parsing: .unconditional, help: ArgumentHelp("Play the whole recording this many times.", valueName: "n"))
    var passes: Int = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for a server answer of which nothing has come.", valueName: "duration"), transform: DurationArgument.parse)
    var replyTimeout: DurationArgument = DurationArgument(argument: "5s")!

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for a connection to the target.", valueName: "duration"), transform: DurationArgument.parse)
    var connectTimeout: DurationArgument = DurationArgument(argument: "5s")!

    @Option(name: .customShort("w"), help: ArgumentHelp("Record the replayed traffic to this pcap (with its manifest).", valueName: "file"))
    var write: String?

    @Flag(help: "No progress bar on the terminal.")
    var quiet = false

    func validate() throws {
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency needs at least 1") }
        if passes < 1 { throw ValidationError("--loop needs at least 1") }
    }

    func run() async throws {
        var failed = false
        try await reportingFailures {
            let logger = replay.logging.makeLogger(label: "tapedeck")
            var scripts = try replay.loadScripts(logger: logger)
            if !sessions.isEmpty {
                scripts = scripts.filter { sessions.contains($0.session.index) }
                if let missing = sessions.first(where: { index in !scripts.contains { $0.session.index == index } }) {
                    throw ReplayError(.noSession, "no session \(missing) in \(replay.files.joined(separator: ", "))")
                }
            }
            var timing = replay.timing
            timing.replyTimeout = replyTimeout.duration
            let configuration = DriveConfiguration(
                target: target,
                timing: timing,
                comparison: replay.comparison(policy: .continue),
                faults: try replay.replayFaults(logger: logger),
                concurrency: concurrency,
                passes: passes,
                connectTimeout: connectTimeout.duration
            )
            let recorder = try write.map { path in
                try Recorder(configuration: RecorderConfiguration(output: .file(path: path), properties: ["replayed_from": replay.files.joined(separator: " ")]), logger: logger)
            }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let driver = ReplayDriver(scripts: scripts, configuration: configuration, group: group, sink: recorder, logger: logger)
            do {
                try await driver.prepare()
            } catch {
                recorder?.finish()
                try? await group.shutdownGracefully()
                throw error
            }
            let showProgress = !quiet && StatusLine.shared.isTerminal
            let report = await driver.run { progress in
                guard showProgress else { return }
                StatusLine.shared.show(Self.progressText(progress))
            }
            if showProgress { StatusLine.shared.clear() }
            recorder?.finish()
            try? await group.shutdownGracefully()
            print(Self.summary(report))
            try replay.writeReport(report)
            if report.connectFailures == report.sessions {
                throw ReplayError(.connect, "cannot connect to \(target): every session failed to connect")
            }
            failed = replay.strict && (!report.mismatches.isEmpty || !report.failures.isEmpty || report.connectFailures > 0)
        }
        if failed { throw ExitCode(1) }
    }

    static func progressText(_ progress: DriveProgress) -> String {
        let width = 24
        let filled = progress.total == 0 ? width : width * progress.done / progress.total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let seconds = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
        return "[\(bar)] \(progress.done)/\(progress.total) sessions · \(ProxyRunner.byteText(Int(progress.bytes))) · mismatches \(progress.mismatches) · \(String(format: "%.1f", seconds)) s"
    }

    static func summary(_ report: DriveReport) -> String {
        let timing = report.timing
        var lines = [
            "sessions \(report.sessions) · sent \(ProxyRunner.byteText(Int(report.bytesSent))) · received \(ProxyRunner.byteText(Int(report.bytesReceived))) · mismatches \(report.mismatches.count) · failed \(report.failures.count) · connect failures \(report.connectFailures) · \(String(format: "%.2f", report.elapsedSeconds)) s",
            String(format: "send timing error: p50 %.0f µs · p99 %.0f µs · max %.0f µs · end %.0f µs (%d sends)", timing.p50Microseconds, timing.p99Microseconds, timing.maxMicroseconds, timing.endMicroseconds, timing.samples),
        ]
        lines += report.mismatches.map(\.hexDiff)
        lines += report.failures.map { "session \($0.session) failed: \($0.reason)" }
        lines += report.midFlowSessions.map { "session \($0) started before the capture did: replayed from its first captured byte" }
        return lines.joined(separator: "\n")
    }
}

extension MismatchPolicy: ExpressibleByArgument {}
