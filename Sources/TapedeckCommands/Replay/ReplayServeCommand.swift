import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Protocols
import Recording
import Replay
import ServiceLifecycle

/// `tapedeck replay serve`: the mock server.
struct ReplayServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Be the server: answer each client with a recorded session's server side.",
        discussion: """
            When the recording speaks HTTP/1, Redis (RESP) or PostgreSQL, each request on \
            any connection is answered with the recorded answer to the best matching \
            recorded request (--match request, the default then): the same bytes; else the \
            same key (HTTP method, path, query and body; Redis command and arguments; SQL \
            text and bound parameters). A request recorded several times gets its answers \
            in recorded order, then the last again (--reuse cycles, --once refuses). An \
            unmatched request gets an error in the protocol's terms naming the nearest \
            recorded request (HTTP 502, Redis -ERR, a PostgreSQL ErrorResponse), or see \
            --on-unmatched. A PostgreSQL login is accepted whatever the password; HTTP dates \
            in answers are moved to now (--no-refresh keeps them).

            Otherwise (--match order|first-bytes, or --session) each connection gets one \
            recorded session. Before each recorded server chunk, Tapedeck waits for the \
            client's turn: the bytes the recording says the client sent, or, when it sends \
            less, --turn-idle of silence. The chunk then goes out after its recorded delay \
            (scaled by --speed) plus the faults; the connection ends as the recording ended.

            SIGINT or SIGTERM stops the server and prints a summary. The exit status is 1 \
            when a request went unmatched, a connection could not be served, or under \
            --strict a client's bytes differed or were answered from the nearest recording.

            Examples:
              tapedeck replay serve Recordings/redis.pcap --listen 127.0.0.1:6380
              tapedeck replay serve api.pcap --listen :8080 --on-unmatched nearest --report serve.json
              tapedeck replay serve capture.pcapng --filter 'tcp port 5432' --listen unix:/tmp/pg.sock --speed 2 --latency 5ms --seed 1
              tapedeck replay serve api.pcap --listen :8443 --tls-ca ~/.tapedeck/ca
              tapedeck replay serve pg.pcap --listen :5433 --postgres-tls --tls-ca ~/.tapedeck/ca
              tapedeck replay serve Recordings/http.pcap --listen :8080 --match first-bytes --loop --strict --ignore 'Date: [^\\r]*'
            """
    )

    enum Match: String, ExpressibleByArgument, CaseIterable {
        case request
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

    @Option(help: "How clients are answered: request by request from every recorded exchange (the default for HTTP, Redis and PostgreSQL), or a whole session per connection: the next in recorded order (the default otherwise), or the one whose first client bytes match best.")
    var match: Match?

    @Option(name: .customLong("protocol"), help: "The recording's protocol, for --match request (default: detected from its first bytes).")
    var protocolKind: ProtocolKind?

    @Option(help: "What a request with no recorded answer gets: an error in the protocol's terms (error), the nearest recorded answer of the same shape (nearest), or the connection closed or reset.")
    var onUnmatched: UnmatchedPolicy = .error

    @Flag(help: "Once every recorded answer to a request was used, start over from the first (default: repeat the last).")
    var reuse = false

    @Flag(help: "Answer each recorded exchange once; a request asked more often than recorded is unmatched.")
    var once = false

    @Flag(help: "Keep HTTP Date, Expires, Last-Modified and cookie expiry as recorded (default: moved by the time since the recording).")
    var noRefresh = false

    @Option(name: .customLong("session"), parsing: .unconditional, help: ArgumentHelp("Answer every connection with this session (its index, as `tapedeck inspect` lists it).", valueName: "index"))
    var session: Int?

    @Flag(help: "Start over when every session has been used (otherwise later connections are closed).")
    var loop = false

    @Option(help: "With --strict, what a difference does: close the connection, reset it, or continue.")
    var onMismatch: MismatchPolicy = .close

    @OptionGroup(title: "TLS") var tls: TLSServeOptions

    func validate() throws {
        if listeners.isEmpty { throw ValidationError("name at least one --listen endpoint") }
        guard UInt16(socketMode, radix: 8) != nil else {
            throw ValidationError("--socket-mode \(socketMode) is not an octal mode such as 0660")
        }
        if session != nil, let match, match != .order { throw ValidationError("--session and --match \(match.rawValue) do not go together") }
        if reuse, once { throw ValidationError("--reuse and --once do not go together") }
        if playback.masks != nil, session != nil || (match != nil && match != .request) {
            throw ValidationError("--masks applies to request matching (--match request), not to whole sessions")
        }
    }

    /// Request matching unless asked otherwise: the default when the protocol is one Tapedeck frames.
    private func answering(masking: RequestMasking) -> Answering {
        if let session { return .sessions(.pinned(session)) }
        let matching = RequestMatching(
            protocolKind: protocolKind,
            masking: masking,
            reuse: once ? .once : reuse ? .cycle : .repeatLast,
            onUnmatched: onUnmatched,
            refreshDates: !noRefresh
        )
        switch match {
        case nil: return .automatic(matching)
        case .request?: return .requests(matching)
        case .order?: return .sessions(.inOrder)
        case .firstBytes?: return .sessions(.firstBytes)
        }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = playback.logging.makeLogger(label: "tapedeck")
            let catalog = try playback.loadSessions(logger: logger)
            var configuration = ServeConfiguration(
                listeners: listeners,
                answering: answering(masking: try playback.loadMasks()?.requestMasking ?? .none),
                playback: Playback(
                    timing: playback.timing,
                    comparison: playback.comparison(policy: onMismatch),
                    faults: try playback.replayFaults(logger: logger)
                )
            )
            configuration.socketMode = mode_t(UInt16(socketMode, radix: 8) ?? 0o600)
            configuration.loop = loop
            configuration.tls = try tls.servingTLS()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            let server = try ReplayServer(sessions: catalog, configuration: configuration, group: group, logger: logger)
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
            if report.hasProblems(strict: playback.strict) { throw ExitCode(1) }
        }
    }

    static func summary(_ report: ServeReport) -> String {
        var lines = [
            "connections \(report.connections) · sessions used \(report.sessionsUsed) · unused \(report.unusedSessions.count) · mismatches \(report.mismatches.count) · refused \(report.refused) · failed \(report.failures.count)"
        ]
        if !report.unusedSessions.isEmpty {
            lines.append("unused sessions: \(report.unusedSessions.map(String.init).joined(separator: " "))")
        }
        if let match = report.match { lines += Self.summary(match) }
        lines += report.mismatches.map(\.hexDiff)
        lines += report.failures.map { "session \($0.session) failed: \($0.reason)" }
        lines += report.midFlowSessions.map { "session \($0) started before the capture did: replayed from its first captured byte" }
        return lines.joined(separator: "\n")
    }

    static func summary(_ match: MatchReport) -> [String] {
        let tiers = MatchTier.allCases.map { "\($0.rawValue) \(match.answered[$0.rawValue, default: 0])" }.joined(separator: " · ")
        var lines = [
            "\(match.protocolName) requests answered \(match.answeredCount) (\(tiers)) · unmatched \(match.unmatchedCount) · recorded exchanges \(match.exchanges), never asked for \(match.unusedExchangeCount)"
        ]
        if !match.partlyUsedSessions.isEmpty {
            lines.append("partly used sessions: \(match.partlyUsedSessions.map(String.init).joined(separator: " "))")
        }
        lines += match.unmatched.map { entry in
            "unmatched on connection \(entry.connection): \(entry.request)" + (entry.nearest.map { "; nearest recorded: \($0) (\(entry.difference ?? ""))" } ?? "")
        }
        if match.unmatchedCount > match.unmatched.count {
            lines.append("… and \(match.unmatchedCount - match.unmatched.count) more unmatched")
        }
        lines += match.framingFailures.map { "could not frame \($0)" }
        return lines
    }
}

extension MismatchPolicy: ExpressibleByArgument {}
extension UnmatchedPolicy: ExpressibleByArgument {}
extension ProtocolKind: ExpressibleByArgument {}
