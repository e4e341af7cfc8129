import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Recording
import Replay
import ServiceLifecycle

/// `tapedeck replay serve`: the mock server.
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

    @OptionGroup var playback: PlaybackOptions

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
            let logger = playback.logging.makeLogger(label: "tapedeck")
            let scripts = try playback.loadScripts(logger: logger)
            let configuration = ServeConfiguration(
                listeners: listeners,
                socketMode: mode_t(UInt16(socketMode, radix: 8) ?? 0o600),
                match: session.map { .pinned($0) } ?? (match == .firstBytes ? .firstBytes : .inOrder),
                loop: loop,
                timing: playback.timing,
                comparison: playback.comparison(policy: onMismatch),
                faults: try playback.replayFaults(logger: logger)
            )
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            let server = try ReplayServer(scripts: scripts, configuration: configuration, group: group, logger: logger)
            // The server listens (and says so) inside the group, once SIGINT
            // and SIGTERM are caught: a signal right after the line still
            // gets the summary.
            do {
                try await ServiceGroup.runUntilSignalled([ReplayService(server), ShutdownNotice(logger: logger, grace: nil)], logger: logger)
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            try? await group.shutdownGracefully()
            let report = server.report
            print(Self.summary(report))
            try playback.writeReport(report)
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

extension MismatchPolicy: ExpressibleByArgument {}
