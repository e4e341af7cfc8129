import ArgumentParser
import Foundation
import NIOPosix
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
            The report gives sessions, bytes, differences (with the first differing offset) \
            and the send-time error as p50/p99/max. With --strict, a difference makes the \
            exit status 1.

            Examples:
              tapedeck replay drive Recordings/redis.pcap --target 127.0.0.1:6379 --strict
              tapedeck replay drive prod-*.pcap --target :8080 --speed 4 --concurrency 64 --max-gap 1s
              tapedeck replay drive Recordings/redis.pcap --target :6379 --drop 0.1 --seed 7 -w /tmp/faulty.pcap
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
            let logger = playback.logging.makeLogger(label: "tapedeck")
            var scripts = try playback.loadScripts(logger: logger)
            if !sessions.isEmpty {
                scripts = scripts.filter { sessions.contains($0.session.index) }
                if let missing = sessions.first(where: { index in !scripts.contains { $0.session.index == index } }) {
                    throw ReplayError(.noSession, "no session \(missing) in \(playback.files.joined(separator: ", "))")
                }
            }
            var timing = playback.timing
            timing.replyTimeout = replyTimeout.duration
            let configuration = DriveConfiguration(
                target: target,
                timing: timing,
                comparison: playback.comparison(policy: .continue),
                faults: try playback.replayFaults(logger: logger),
                concurrency: concurrency,
                passes: passes,
                connectTimeout: connectTimeout.duration
            )
            let recorder = try write.map { path in
                try Recorder(configuration: RecorderConfiguration(output: .file(path: path), properties: ["replayed_from": playback.files.joined(separator: " ")]), logger: logger)
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
            try playback.writeReport(report)
            if report.connectFailures == report.sessions {
                throw ReplayError(.connect, "cannot connect to \(target): \(driver.connectFailure ?? "every session failed to connect")")
            }
            failed = playback.strict && (!report.mismatches.isEmpty || !report.failures.isEmpty || report.connectFailures > 0)
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
