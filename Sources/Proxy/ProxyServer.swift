import Faults
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PcapFile
import Recording
import Sockets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP / Unix-socket proxy: every accepted connection is joined to a new
/// upstream connection on the same event loop, its bytes forwarded both
/// ways with back-pressure and half-close intact, and its events reported to
/// an optional `SessionSink` (the recorder), which can be attached and
/// detached while the proxy runs (`setSink`).
///
/// Client bytes are not read before the upstream connection is up; when the
/// upstream refuses or does not answer within the connect timeout, the client
/// is reset, the failure counted and logged, and the proxy keeps serving.
public final class ProxyServer: Sendable {
    public let configuration: ProxyConfiguration
    public let statistics = ProxyStatistics()
    private let group: EventLoopGroup
    /// The sink new sessions report to; each session reads it once, when accepted.
    private let currentSink: NIOLockedValueBox<SessionSink?>
    let logger: Logger
    let state = NIOLockedValueBox(State())
    private let currentFaults: NIOLockedValueBox<[Fault]>
    /// The upstream's address (a literal's, made once) or addresses (a
    /// host name's, resolved at start and again when none answers).
    let connector: UpstreamConnector

    struct State {
        /// One entry a listener: its channel on every event loop (one for a Unix path).
        var serverChannels: [[Channel]] = []
        /// Every accepted client until its session ends: the client's channel,
        /// then the upstream's once connected.
        var sessions: [UInt64: [Channel]] = [:]
        /// Every accepted client's byte counts and sink, until its session ends.
        var tallies: [UInt64: LiveSessionTally] = [:]
        var nextSessionID: UInt64 = 0
        var drained: [EventLoopPromise<Void>] = []
        /// `startAccepting` has run on the listeners bound now.
        var accepting = false
        /// Every session on the splice path (its `sessions` entry holds no channel then).
        var spliced: [UInt64: SpliceHandle] = [:]
        /// Every open session, to move it between the NIO and splice paths.
        var open: [UInt64: NIOLoopBound<ProxySession>] = [:]
        /// Moves idle sessions to the splice path while the proxy accepts.
        var parking: RepeatedTask?
    }

    public init(configuration: ProxyConfiguration, group: EventLoopGroup, sink: SessionSink? = nil, logger: Logger) {
        self.configuration = configuration
        self.currentFaults = NIOLockedValueBox(configuration.faults.faults)
        self.connector = UpstreamConnector(endpoint: configuration.upstream, role: "upstream", logger: logger)
        self.group = group
        self.currentSink = NIOLockedValueBox(sink)
        self.logger = logger
    }

    /// Resolves the upstream (a host name), binds every listener and
    /// accepts connections. Throws as `prepare` does.
    public func start() async throws {
        try await prepare()
        startAccepting()
    }

    /// Resolves the upstream (a host name) and binds every listener, not
    /// accepting yet: clients that connect wait in the listen backlog until
    /// `startAccepting`. A command checks this way that it can listen
    /// before it creates files (a recording) it would otherwise clobber.
    ///
    /// Throws a `ProxyError` naming the address and the cause, after
    /// closing the listeners already bound: `.configuration` for a listener
    /// that cannot be one, `.listen` for the first bind that failed (address
    /// in use, a running process on the Unix socket, permission denied),
    /// `.upstream` when the upstream has no address.
    public func prepare() async throws {
        let bound: [[Channel]]
        do {
            bound = try await bindListeners(configuration.listeners, bind)
        } catch let error as SocketError {
            throw ProxyError(error.code == .address ? .configuration : .listen, error.message)
        }
        do {
            try await connector.prepare()
        } catch {
            for channel in bound.joined() { try? await channel.close() }
            throw ProxyError(.upstream, (error as? SocketError)?.message ?? "\(error)")
        }
        state.withLockedValue { $0.serverChannels = bound }
        #if os(Linux)
        if configuration.splice, configuration.tls == nil {
            _ = SpliceEngine.shared
        }
        #endif
    }

    /// Accepts on every listener `prepare` bound (once: later calls do nothing).
    public func startAccepting() {
        let listeners = state.withLockedValue { state -> [[Channel]] in
            defer { state.accepting = true }
            return state.accepting ? [] : state.serverChannels
        }
        #if os(Linux)
        if !listeners.isEmpty, configuration.splice, configuration.tls == nil, let every = configuration.parkIdleAfter {
            let task = group.next().scheduleRepeatedTask(initialDelay: TimeAmount(every), delay: TimeAmount(every)) { [weak self] task in
                guard let self else { return task.cancel() }
                self.parkIdleSessions()
            }
            state.withLockedValue { $0.parking = task }
        }
        #endif
        for channels in listeners {
            let accepting = channels.map { $0.setOption(.autoRead, value: true) }
            guard let first = channels.first else { continue }
            EventLoopFuture.andAllSucceed(accepting, on: first.eventLoop).whenSuccess { [logger, configuration] in
                logger.info("listening", metadata: ["listener.address": "\(Endpoint(first.localAddress) ?? .unix(path: "?"))", "upstream.address": "\(configuration.upstream)"])
            }
        }
    }

    /// True between `start` and `stopAccepting`.
    public var isListening: Bool {
        state.withLockedValue { !$0.serverChannels.isEmpty }
    }

    /// The listeners' actual endpoints (a port 0 resolved to the one the kernel chose).
    public var listeningEndpoints: [Endpoint] {
        state.withLockedValue { $0.serverChannels }.compactMap { Endpoint($0.first?.localAddress) }
    }

    /// Closes the listeners; live sessions go on.
    public func stopAccepting() async {
        let channels = state.withLockedValue { state in
            defer {
                state.serverChannels = []
                state.accepting = false
                state.parking?.cancel()
                state.parking = nil
            }
            return state.serverChannels.flatMap { $0 }
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    /// Waits until no session is live or `timeout` has passed; true when none is left.
    public func waitForSessions(timeout: Duration) async -> Bool {
        let loop = group.next()
        let waiter = state.withLockedValue { state -> EventLoopPromise<Void>? in
            if state.sessions.isEmpty { return nil }
            let promise = loop.makePromise(of: Void.self)
            state.drained.append(promise)
            return promise
        }
        guard let waiter else { return true }
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { [state] in
            // Fail the waiter only if `sessionEnded` has not taken it meanwhile.
            let stillWaiting = state.withLockedValue { state -> Bool in
                guard let index = state.drained.firstIndex(where: { $0.futureResult === waiter.futureResult }) else { return false }
                state.drained.remove(at: index)
                return true
            }
            if stillWaiting { waiter.fail(ChannelError.ioOnClosedChannel) }
        }
        do {
            try await waiter.futureResult.get()
            timer.cancel()
            return true
        } catch {
            return false
        }
    }

    /// Closes every live session: both legs at once (a FIN to each peer,
    /// recorded as such; bytes still queued for a peer that stopped reading
    /// are dropped).
    public func closeAllSessions() async {
        let (sessions, spliced) = state.withLockedValue { (Array($0.sessions.values), Array($0.spliced.values)) }
        for handle in spliced {
            handle.close()
        }
        for channels in sessions {
            channels.first?.pipeline.fireUserInboundEventTriggered(ProxyShutdown())
            for channel in channels {
                try? await channel.close()
            }
        }
        _ = await waitForSessions(timeout: .seconds(2))
    }

    /// The sink sessions accepted from now on report to.
    public var sink: SessionSink? {
        currentSink.withLockedValue { $0 }
    }

    /// Attaches a sink (a `Recorder`) to the sessions accepted from now on,
    /// or with nil detaches it. A live session keeps the sink it was accepted
    /// with until it ends; to stop recording it, finish the recorder (a
    /// finished `Recorder` ignores what it is sent).
    public func setSink(_ sink: SessionSink?) {
        currentSink.withLockedValue { $0 = sink }
    }

    /// The sessions open now (both legs connected), oldest first.
    package var liveSessions: [LiveSession] {
        let sink = self.sink
        let tallies = state.withLockedValue { Array($0.tallies.values) }
        return tallies.compactMap { $0.snapshot(currentSink: sink) }.sorted { $0.id < $1.id }
    }

    /// The faults new sessions start with.
    public var faults: [Fault] {
        currentFaults.withLockedValue { $0 }
    }

    /// Replaces the faults, on new sessions and on live ones (nothing held
    /// is lost or reordered; removing a timeout closes its connections, as
    /// in Toxiproxy). Live sessions change only when the proxy was made with
    /// `FaultSettings.canChange` or with faults.
    public func setFaults(_ faults: [Fault]) async {
        currentFaults.withLockedValue { $0 = faults }
        let (channels, spliced) = state.withLockedValue { ($0.sessions.values.flatMap { $0 }, Array($0.spliced.values)) }
        if !faults.isEmpty {
            for handle in spliced {
                handle.handBack()
            }
        }
        for channel in channels {
            try? await channel.updateFaults(faults).get()
        }
        if faults.isEmpty {
            spliceOpenSessions()
        }
    }

    /// Stops accepting, gives live sessions `grace` to finish, then closes them.
    public func shutdown(grace: Duration) async {
        await stopAccepting()
        if await !waitForSessions(timeout: grace) {
            logger.info("closing sessions still live after the grace period", metadata: ["sessions.live": "\(statistics.liveSessions.load(ordering: .relaxed))"])
            await closeAllSessions()
        }
    }

    /// Binds one listener: a TCP one on every event loop, each loop
    /// serving the sessions it accepts (`LoopListeners`); a Unix one once,
    /// its sessions spread over the loops.
    private func bind(_ endpoint: Endpoint) async throws -> [Channel] {
        try await LoopListeners.bind(endpoint, socketMode: configuration.socketMode, backlog: Self.backlog, group: group) { loop, children in
            serverBootstrap(group: loop, children: children)
        }
    }

    private static let backlog: CInt = 1024

    private func serverBootstrap(group: EventLoopGroup, children: EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group, childGroup: children)
            .serverChannelOption(.backlog, value: Self.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: Self.acceptsPerWakeUp)
            .serverChannelOption(.autoRead, value: false)
            .serverChannelInitializer { [logger] channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of file descriptors: pause accepting for a moment instead of spinning.
                    try channel.pipeline.syncOperations.addHandler(AcceptPause(logger: logger))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator.sessionLeg)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel)
                }
            }
    }

    /// Connections one listener channel accepts each time its loop wakes.
    private static let acceptsPerWakeUp: UInt = 8

    /// Sets up one accepted connection (on its event loop): both legs'
    /// handlers now; the client's reads wait behind a gate until the
    /// upstream leg is connected.
    private func accept(_ client: Channel) throws {
        let tally = LiveSessionTally(sink: sink)
        let id = state.withLockedValue { state -> UInt64 in
            defer { state.nextSessionID += 1 }
            state.sessions[state.nextSessionID] = [client]
            state.tallies[state.nextSessionID] = tally
            return state.nextSessionID
        }
        var logger = self.logger
        logger[metadataKey: "session.id"] = "\(id)"
        // A Unix client is usually unnamed: name it by the listener it came through.
        let clientEndpoint = Endpoint(client.remoteAddress) ?? Endpoint(client.localAddress) ?? .unix(path: "?")
        let upstream = configuration.upstream
        let session = ProxySession(
            session: Session(index: Int(id), id: id, client: clientEndpoint, server: upstream, opened: .now()),
            tally: tally,
            statistics: statistics
        ) { [self] id in
            sessionEnded(id)
        }
        let gate = ConnectGate()
        let legs = SessionLegs(client: client)
        let clientTap = CaptureTap(session: session, direction: .clientToServer)
        let upstreamTap = CaptureTap(session: session, direction: .serverToClient)
        let clientFaults = faultHandler(.upstream, session: session, legs: legs)
        // With no fault handler between them, each tap goes inside its glue.
        let folded = clientFaults == nil
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair(taps: folded ? (clientTap, upstreamTap) : nil)
        try client.pipeline.syncOperations.addHandler(gate)
        if let clientFaults {
            try client.pipeline.syncOperations.addHandler(clientTap)
            try client.pipeline.syncOperations.addHandler(clientFaults)
        }
        try client.pipeline.syncOperations.addHandler(clientGlue)

        // The upstream leg's handlers go in once it has connected (on this
        // loop, before its first read): of a host name's addresses, several
        // may be tried at once, and only the one that answers is the leg.
        openUpstream(client: client, logger: logger).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .failure(let failure as HandshakeFailure):
                logger.warning("\(failure.message); \(failure.resetsClient ? "resetting" : "closing") the client", metadata: ["client.address": "\(clientEndpoint)"])
                session.handshakeFailed(failure.tls, reset: failure.resetsClient)
                if failure.resetsClient { gate.reset() } else { client.close(promise: nil) }
                sessionEnded(id)
            case .failure(let error):
                upstreamFailed(error, logger: logger)
                // A refusal can come back inside the accept, before the
                // client's channel is active: the gate resets it when it is.
                gate.reset()
                sessionEnded(id)
            case .success(let opened) where !gate.clientIsPresent:
                let upstreamChannel = opened.channel
                // The client went away (a reset) while the upstream was
                // connecting: there is no session to join; the upstream
                // sees a reset.
                logger.debug("client left before the upstream answered", metadata: ["client.address": "\(clientEndpoint)"])
                resetAndClose(upstreamChannel)
                sessionEnded(id)
            case .success(let opened):
                let upstreamChannel = opened.channel
                if case .host = upstream, let connected = Endpoint(opened.address) {
                    // Recordings hold the address actually connected to.
                    session.session.server = connected
                }
                session.session.tls = opened.tls
                if opened.tls == nil, configuration.spliceAfterBytes == 0, gate.holdsNothing,
                   splice(id, session, client: client, upstream: upstreamChannel, opening: true) {
                    logger.debug("session opened, spliced", metadata: ["client.address": "\(clientEndpoint)"])
                    return
                }
                do {
                    legs.upstream = upstreamChannel
                    let pipeline = upstreamChannel.pipeline.syncOperations
                    if !folded {
                        try pipeline.addHandler(upstreamTap)
                        if let faults = faultHandler(.downstream, session: session, legs: legs) {
                            try pipeline.addHandler(faults)
                        }
                    }
                    try pipeline.addHandler(upstreamGlue)
                } catch {
                    logger.error("cannot set up the upstream connection; resetting the client", metadata: ["error": "\(error)"])
                    resetAndClose(upstreamChannel)
                    gate.reset()
                    sessionEnded(id)
                    return
                }
                state.withLockedValue { state in
                    state.sessions[id]?.append(upstreamChannel)
                    state.open[id] = NIOLoopBound(session, eventLoop: client.eventLoop)
                }
                session.open()
                if opened.tls == nil {
                    spliceWhenBulk(id, session, client: client, upstream: upstreamChannel)
                }
                logger.debug("session opened", metadata: ["client.address": "\(clientEndpoint)"])
                gate.open()
                opened.watcher?.value.release()
            }
        }
    }

    /// Counts and logs an upstream connection that could not be made: out
    /// of file descriptors is this process's trouble, not the upstream's,
    /// and is said so, with the limit.
    private func upstreamFailed(_ error: Error, logger: Logger) {
        if PlainReason.isOutOfDescriptors(error) {
            logger.warning("\(PlainReason.of(error)); resetting the client", metadata: ["upstream.address": "\(configuration.upstream)"])
            return
        }
        statistics.upstreamFailures.wrappingIncrement(ordering: .relaxed)
        logger.warning("upstream unavailable; resetting the client", metadata: ["upstream.address": "\(configuration.upstream)", "error": "\(PlainReason.of(error))"])
    }

    /// One direction's fault handler, or nil when the proxy has no faults.
    /// A fault that ends the connection closes (or resets) both legs; what
    /// the faults do goes to the session (its manifest entry, and
    /// `statistics.faultsFired`).
    func faultHandler(_ stream: FaultStream, session: ProxySession, legs: SessionLegs) -> FaultHandler? {
        let faults = self.faults
        guard configuration.faults.canChange || !faults.isEmpty else { return nil }
        return FaultHandler(
            FaultPlan(stream, seed: configuration.faults.seed, connection: session.session.id),
            faults: faults,
            onClose: { mode in legs.close(mode) },
            onCounters: { counters in session.faultsActed(counters.effects) }
        )
    }

    func sessionEnded(_ id: UInt64) {
        let waiters = state.withLockedValue { state -> [EventLoopPromise<Void>] in
            state.sessions[id] = nil
            state.tallies[id] = nil
            state.spliced[id] = nil
            state.open[id] = nil
            guard state.sessions.isEmpty else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.succeed() }
    }
}
