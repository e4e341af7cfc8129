#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Protocols
import Recording
import Sockets
import TapedeckTLS

/// `replay serve`: a mock upstream that answers each connection with a
/// recorded session's server side. The listeners, how to answer and the
/// playback are given; the rest has defaults, set on the value before the
/// server starts.
public struct ServeConfiguration: Sendable {
    public var listeners: [Endpoint]
    /// Mode of Unix-socket listeners.
    public var socketMode: mode_t = 0o600
    /// Request by request, or a recorded session per connection.
    public var answering: Answering
    /// Start over when every session has been used.
    public var loop = false
    public var playback: Playback
    /// TLS on every connection (and PostgreSQL's SSLRequest before it), or nil.
    public var tls: ServingTLS?

    public init(listeners: [Endpoint], answering: Answering = .automatic(), playback: Playback = Playback()) {
        self.listeners = listeners
        self.answering = answering
        self.playback = playback
    }
}

/// How a replay server answers its clients.
public enum Answering: Sendable {
    /// Request by request (``requests(_:)``) when the recording's protocol
    /// (or the one `RequestMatching` names) is one Tapedeck frames, else a
    /// recorded session per connection in recorded order.
    case automatic(RequestMatching = RequestMatching())
    /// Each request on any connection answered from every recorded exchange.
    case requests(RequestMatching)
    /// A whole recorded session per connection.
    case sessions(SessionMatch)

    /// The request matching to answer with, its protocol decided; nil for sessions.
    func requestMatching(for sessions: some SessionScriptSource) throws -> RequestMatching? {
        switch self {
        case .sessions:
            return nil
        case .requests(var matching), .automatic(var matching):
            let kind = try matching.protocolKind ?? RecordedConversations.detect(in: sessions)
            if case .automatic = self, kind == .generic { return nil }
            matching.protocolKind = kind
            return matching
        }
    }

    var sessionMatch: SessionMatch {
        if case .sessions(let match) = self { return match }
        return .inOrder
    }
}

/// Serves recorded sessions to live clients (see ``ServeConfiguration``).
///
/// Threading: every method may be called from any thread.
public final class ReplayServer: Sendable {
    public let configuration: ServeConfiguration
    private let pool: SessionPool
    /// With `--match request`: the exchanges every connection is answered from.
    private let book: ExchangeBook?
    private let group: EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var channels: [Channel] = []
        var live: [ObjectIdentifier: Channel] = [:]
        var report = ServeReport()
        var nextConnection: UInt64 = 0
        var faults: [Fault] = []
    }

    /// - Parameter scripts: the sessions to serve, in recorded order (see
    ///   ``SessionScript/load(paths:filter:progress:truncated:)``).
    public convenience init(scripts: [SessionScript], configuration: ServeConfiguration, group: EventLoopGroup, logger: Logger) throws(ReplayError) {
        try self.init(sessions: scripts, configuration: configuration, group: group, logger: logger)
    }

    /// Serves `sessions` (a ``SessionCatalog`` for a capture of any size):
    /// a connection's session is read from its source when the connection
    /// takes it. Request matching (`--match request`) frames every session
    /// once up front to index its exchanges, and frames a session again
    /// when it answers from it (see ``ExchangeBook``).
    public init(sessions: some SessionScriptSource, configuration: ServeConfiguration, group: EventLoopGroup, logger: Logger) throws(ReplayError) {
        let sessions = configuration.playback.timing.maxGap.map { sessions.cappingGaps(at: $0) } ?? sessions
        do {
            let matching = try configuration.answering.requestMatching(for: sessions)
            let match = configuration.answering.sessionMatch
            if case .pinned(let index) = match {
                let indexes = (0..<sessions.count).map { sessions.outline(at: $0).session.index }
                guard let position = indexes.firstIndex(of: index) else {
                    let known = indexes.isEmpty ? "the recording has none" : "the recording has 0…\(indexes.max()!)"
                    throw ReplayError(.noSession, "no session \(index) to serve: \(known)")
                }
                self.pool = try SessionPool(sessions: sessions, match: .pinned(position), loop: true)
            } else {
                self.pool = try SessionPool(sessions: sessions, match: match, loop: configuration.loop)
            }
            self.book = try matching.map { matching in
                try ExchangeBook(
                    sessions: sessions,
                    protocol: try matching.protocolKind ?? RecordedConversations.detect(in: sessions),
                    turnIdle: configuration.playback.timing.turnIdle,
                    matching: matching
                )
            }
        } catch let error as ReplayError {
            throw error
        } catch {
            throw ReplayError(.read, "\(error)")
        }
        self.configuration = configuration
        self.group = group
        self.logger = logger
        state.withLockedValue { $0.faults = configuration.playback.faults.faults }
    }

    /// Binds every listener; throws the first bind error after closing the
    /// ones already bound.
    public func start() async throws {
        let bound = try await bindListeners(configuration.listeners, bind)
        state.withLockedValue { $0.channels = bound }
        for channel in bound {
            var metadata: Logger.Metadata = [
                "listener.address": "\(Endpoint(channel.localAddress) ?? .unix(path: "?"))",
                "sessions": "\(pool.sessions.count)",
            ]
            if let book {
                metadata["protocol"] = "\(book.protocolKind)"
                metadata["exchanges"] = "\(book.index.exchanges.count)"
            }
            logger.info(book == nil ? "serving recorded sessions" : "answering requests from recorded exchanges", metadata: metadata)
        }
        for failure in book?.framingFailures ?? [] {
            logger.warning("recorded session \(failure.session) is framed only in part: \(failure.reason)")
        }
    }

    /// True between `start` and `shutdown`.
    public var isListening: Bool {
        state.withLockedValue { !$0.channels.isEmpty }
    }

    /// The listeners' endpoints, a port 0 resolved.
    public var endpoints: [Endpoint] {
        state.withLockedValue { $0.channels }.compactMap { Endpoint($0.localAddress) }
    }

    /// The faults new connections get, and, with `canChange`, live ones.
    public var faults: [Fault] { state.withLockedValue { $0.faults } }

    /// Replaces the faults: new connections get them at once; live
    /// connections too when the server was configured with `canChange`.
    public func setFaults(_ faults: [Fault]) async {
        let live = state.withLockedValue { state in
            state.faults = faults
            return Array(state.live.values)
        }
        for channel in live {
            try? await channel.eventLoop.submit {
                let sync = channel.pipeline.syncOperations
                try? sync.handler(type: FaultHandler.self).update(faults: faults)
                try? sync.handler(type: OutboundFaultHandler.self).update(faults: faults)
            }.get()
        }
    }

    /// What has happened so far.
    public var report: ServeReport {
        var report = state.withLockedValue { $0.report }
        report.sessionsUsed = pool.usedCount
        report.unusedSessions = pool.unused.map { pool.sessions.outline(at: $0).session.index }
        if let book {
            let match = book.report
            report.match = match
            report.unusedSessions = match.unusedSessions
            report.sessionsUsed = pool.sessions.count - match.unusedSessions.count
        }
        return report
    }

    /// Stops accepting, then closes live connections after `grace` (at once
    /// with zero).
    public func shutdown(grace: Duration = .zero) async {
        let listeners = state.withLockedValue { state in
            defer { state.channels = [] }
            return state.channels
        }
        for channel in listeners { try? await channel.close() }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !state.withLockedValue({ $0.live.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let live = state.withLockedValue { Array($0.live.values) }
        for channel in live { try? await channel.close() }
    }

    private func bind(_ endpoint: Endpoint) async throws -> Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try accept(channel) }
            }
        return try await bootstrap.bind(to: endpoint, socketMode: configuration.socketMode)
    }

    private func accept(_ channel: Channel) throws {
        let (connection, faults) = state.withLockedValue { state in
            state.report.connections += 1
            state.live[ObjectIdentifier(channel)] = channel
            defer { state.nextConnection += 1 }
            return (state.nextConnection, state.faults)
        }
        var logger = self.logger
        logger[metadataKey: "connection.id"] = "\(connection)"
        let sync = channel.pipeline.syncOperations
        try configuration.tls?.addHandlers(to: channel)
        let replayFaults = configuration.playback.faults
        if replayFaults.canChange || !faults.isEmpty {
            try sync.addHandler(FaultHandler(FaultPlan(.upstream, seed: replayFaults.seed, connection: connection), faults: faults, onClose: { mode in
                channel.close(as: mode)
            }))
            try sync.addHandler(OutboundFaultHandler(FaultPlan(.downstream, seed: replayFaults.seed, connection: connection), faults: faults))
        }
        if let book {
            try sync.addHandler(MatchingServeHandler(book: book, timing: configuration.playback.timing, connection: connection, logger: logger))
        } else {
            try sync.addHandler(ServeHandler(
                pool: pool,
                timing: configuration.playback.timing,
                comparison: configuration.playback.comparison,
                logger: logger,
                events: ServeEvents(server: self)
            ))
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLockedValue { $0.live.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    fileprivate func record(_ update: (inout ServeReport) -> Void) {
        state.withLockedValue { update(&$0.report) }
    }
}

/// What a connection tells its server.
struct ServeEvents: Sendable {
    let server: ReplayServer

    func refused() { server.record { $0.refused += 1 } }
    func mismatch(_ mismatch: Mismatch) { server.record { $0.mismatches.append(mismatch) } }
    func failed(_ failure: ReplayFailure) { server.record { $0.failures.append(failure) } }
    func startedMidFlow(_ session: Int) {
        server.record { if !$0.midFlowSessions.contains(session) { $0.midFlowSessions.append(session) } }
    }
}
