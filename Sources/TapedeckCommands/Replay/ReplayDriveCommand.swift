import ArgumentParser
import Foundation
import Logging
import NIOPosix
import Protocols
import Proxy
import Recording
import Replay

/// `tapedeck replay drive`: the client of a real server.
struct ReplayDriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drive",
        abstract: "Be the client: play recorded sessions against a real server and compare its answers.",
        discussion: """
            Each recorded session is opened against --target at its recorded start (scaled \
            by --speed), sends the client's side with its recorded think time, and reads the \
            server's answers. Every send is scheduled from one clock, so no drift builds up. \
            The report gives sessions, bytes, differences and the send-time error as \
            p50/p99/max. With --strict, a difference makes the exit status 1.

            HTTP/1, Redis and PostgreSQL answers are compared exchange by exchange \
            (--compare exchanges, the default for them): each difference names the request \
            it answers (GET /users/7: status 200 → 500), and what --masks names does not \
            count (header fields, JSON fields, Redis replies, PostgreSQL columns, regexes). \
            Other protocols, and --compare bytes, compare the server's byte stream and report \
            the first differing offset; --ignore-bytes and --ignore apply there.

            A capture too large for one driver is shared: --shard K/N plays shard K (counted \
            from 0) of N, every N-th session in recorded order, so N drivers (N processes, or \
            a Kubernetes Indexed Job with N completions: --shard $JOB_COMPLETION_INDEX/N) replay \
            it together against one target; --start-at makes them begin at the same instant, \
            and `tapedeck replay merge-reports` joins their --report files into one.

            Examples:
              tapedeck replay drive Recordings/redis.pcap --target 127.0.0.1:6379 --strict
              tapedeck replay drive api.pcap --target :8080 --masks masks.json --strict
              tapedeck replay drive prod-*.pcap --target :8080 --speed 4 --concurrency 64 --max-gap 1s
              tapedeck replay drive Recordings/redis.pcap --target :6379 --drop 0.1 --seed 7 -w /tmp/faulty.pcap
              tapedeck replay drive fleet.pcap --target db:6379 --shard 2/4 --start-at 2026-12-03T12:00:00Z --report shard-2.json
            """
    )

    @OptionGroup var playback: PlaybackOptions

    @Option(help: ArgumentHelp("The server to drive: HOST:PORT (an IP address or a host name), [IPv6]:PORT, :PORT or unix:/path.", valueName: "endpoint"), transform: parseEndpoint)
    var target: Endpoint

    @Option(name: .customLong("session"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Only the session with this index (repeatable).", valueName: "index"))
    var sessions: [Int] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("At most this many sessions at once.", valueName: "n"))
    var concurrency: Int?

    @Option(name: .customLong("loop"), parsing: .unconditional, help: ArgumentHelp("Play the whole recording this many times.", valueName: "n"))
    var passes: Int = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for a server answer of which nothing has come (default: 5s).", valueName: "duration"), transform: DurationArgument.option("--reply-timeout"))
    var replyTimeout: DurationArgument = DurationArgument(argument: "5s")!

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for a connection to the target (default: 5s).", valueName: "duration"), transform: DurationArgument.option("--connect-timeout"))
    var connectTimeout: DurationArgument = DurationArgument(argument: "5s")!

    @Option(help: ArgumentHelp("Play only shard K of N (K from 0 to N-1): the sessions whose index leaves K divided by N.", valueName: "K/N"), transform: { text in
        do {
            return try Shard(parsing: text)
        } catch {
            throw OptionValueError(option: "--shard", text: text, expected: "K/N, shard K of N with K from 0 to N-1")
        }
    })
    var shard: Shard?

    @Option(help: ArgumentHelp("Begin at this instant (RFC 3339, 2026-12-03T12:00:00.5Z, or @SECONDS since 1970), so several drivers start together.", valueName: "time"), transform: StartTime.parse)
    var startAt: Date?

    @Option(name: .customShort("w"), help: ArgumentHelp("Record the replayed traffic to this pcap (with its manifest).", valueName: "file"))
    var write: String?

    @Flag(help: "No progress bar on the terminal.")
    var quiet = false

    enum Compare: String, ExpressibleByArgument, CaseIterable {
        case exchanges
        case bytes
    }

    @Option(help: "Compare answers exchange by exchange (the default for HTTP, Redis and PostgreSQL recordings) or as the server's byte stream (the default otherwise, and with --ignore-bytes).")
    var compare: Compare?

    @Option(name: .customLong("protocol"), help: "The recording's protocol, for comparing exchanges (default: detected from its first bytes).")
    var protocolKind: ProtocolKind?

    @OptionGroup(title: "TLS") var tls: TLSDriveOptions

    func validate() throws {
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency needs at least 1") }
        if passes < 1 { throw ValidationError("--loop needs at least 1") }
        if compare == .exchanges, !playback.ignoreBytes.isEmpty {
            throw ValidationError("--ignore-bytes counts offsets in the byte stream, which only --compare bytes compares; use --ignore REGEX or --masks")
        }
        if compare == .exchanges, protocolKind == .generic {
            throw ValidationError("--compare exchanges needs a protocol Tapedeck frames (http, redis or postgres)")
        }
    }

    /// Exchange by exchange when the protocol is framed and nothing asks for bytes.
    private func comparison(sessions: SessionCatalog, timing: ReplayTiming, logger: Logger) throws -> ReplayComparison {
        var comparison = playback.comparison(policy: .continue)
        let kind = try protocolKind ?? RecordedConversations.detect(in: sessions)
        let masks = try playback.loadMasks() ?? Masks()
        let serverPatterns = comparison.ignore.filter { $0.direction != .clientToServer }.compactMap { rule -> String? in
            if case .pattern(let pattern) = rule.target { return pattern }
            return nil
        }
        let exchanges = compare ?? (kind == .generic || !playback.ignoreBytes.isEmpty ? .bytes : .exchanges)
        if exchanges == .exchanges, kind != .generic {
            var all = masks
            all.bytes += serverPatterns.compactMap { try? Masks.BytePattern(side: .server, regex: $0) }
            comparison.exchanges = ExchangeComparator(protocol: kind, masks: all, turnIdle: timing.turnIdle)
        } else if exchanges == .exchanges {
            throw ReplayError(.invalidOption, "--compare exchanges: \(playback.files.joined(separator: ", ")) is not HTTP, Redis or PostgreSQL (name it with --protocol)")
        } else {
            let regexes = masks.bytes.filter { $0.side == .server }
            if masks.count > masks.bytes.count {
                logger.warning("comparing byte streams: of the masks only the server regexes apply (\(regexes.count)); header, JSON, Redis and PostgreSQL masks need --compare exchanges")
            }
            comparison.ignore += regexes.map { IgnoreRule(direction: .serverToClient, target: .pattern($0.regex)) }
        }
        return comparison
    }

    func run() async throws {
        var failed = false
        try await reportingFailures {
            let logger = playback.logging.makeLogger(label: "tapedeck")
            var catalog = try playback.loadSessions(logger: logger)
            let indexes = (0..<catalog.count).map { catalog.outline(at: $0).session.index }
            if !sessions.isEmpty {
                if let missing = sessions.first(where: { !indexes.contains($0) }) {
                    throw ReplayError(.noSession, "no session \(missing) in \(playback.files.joined(separator: ", "))")
                }
                catalog = catalog.selecting(indexes.indices.filter { sessions.contains(indexes[$0]) })
            }
            if let shard {
                catalog = catalog.selecting((0..<catalog.count).filter { shard.contains(session: catalog.outline(at: $0).session.index) })
                logger.info("shard \(shard): \(catalog.count) sessions")
            }
            var timing = playback.timing
            timing.replyTimeout = replyTimeout.duration
            var configuration = DriveConfiguration(
                target: target,
                playback: Playback(
                    timing: timing,
                    comparison: try comparison(sessions: catalog, timing: timing, logger: logger),
                    faults: try playback.replayFaults(logger: logger)
                )
            )
            configuration.concurrency = concurrency
            configuration.passes = passes
            configuration.connectTimeout = connectTimeout.duration
            configuration.tls = try tls.connectingTLS()
            let recorder = try write.map { path in
                try Recorder(configuration: {
                    var configuration = RecorderConfiguration(output: .file(path: path))
                    configuration.properties = ["replayed_from": playback.files.joined(separator: " ")]
                    return configuration
                }(), logger: logger)
            }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let driver = ReplayDriver(sessions: catalog, configuration: configuration, group: group, sink: recorder, logger: logger)
            do {
                try await driver.prepare()
            } catch {
                recorder?.finish()
                try? await group.shutdownGracefully()
                throw error
            }
            let start = try startAt.flatMap { try StartTime.deadline(for: $0, logger: logger) }
            let showProgress = !quiet && StatusLine.shared.isTerminal
            let report = await driver.run(startingAt: start) { progress in
                guard showProgress else { return }
                StatusLine.shared.show(Self.progressText(progress))
            }
            if showProgress { StatusLine.shared.clear() }
            recorder?.finish()
            try? await group.shutdownGracefully()
            print(Self.summary(report))
            try playback.writeReport(report)
            if report.sessions > 0, report.connectFailures == report.sessions {
                throw ReplayError(.connect, "cannot connect to \(target): \(driver.connectFailure ?? "every session failed to connect")")
            }
            failed = playback.strict && (!report.mismatches.isEmpty || !report.differences.isEmpty || !report.failures.isEmpty || report.connectFailures > 0)
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
            "sessions \(report.sessions) · sent \(ProxyRunner.byteText(Int(report.bytesSent))) · received \(ProxyRunner.byteText(Int(report.bytesReceived))) · mismatches \(report.mismatches.count + report.differences.count) · failed \(report.failures.count) · connect failures \(report.connectFailures) · \(String(format: "%.2f", report.elapsedSeconds)) s",
            String(format: "send timing error: p50 %.0f µs · p99 %.0f µs · max %.0f µs · end %.0f µs (%d sends)", timing.p50Microseconds, timing.p99Microseconds, timing.maxMicroseconds, timing.endMicroseconds, timing.samples),
        ]
        lines += report.mismatches.map(\.hexDiff)
        lines += report.differences.map { "session \($0.session) exchange \($0.exchange): \($0)" }
        lines += report.failures.map { "session \($0.session) failed: \($0.reason)" }
        lines += report.midFlowSessions.map { "session \($0) started before the capture did: replayed from its first captured byte" }
        return lines.joined(separator: "\n")
    }
}
