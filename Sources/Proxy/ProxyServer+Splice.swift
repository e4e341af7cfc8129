import Faults
import NIOCore
import NIOPosix
import Recording

#if os(Linux)
import Glibc

/// The splice path: a session that no fault or TLS needs to see moves its
/// bytes with `splice(2)` on a `SpliceEngine` thread once it has
/// moved `spliceAfterBytes` on NIO (or from its start, with 0), and its NIO
/// channels are closed (the sockets live on in duplicates). A fault set
/// live brings it back onto new NIO channels over the same sockets, what
/// the pipes held written first; removing every fault sends it to the
/// splice path again once its queued writes have drained. Half-close state
/// lives in the sockets themselves, so a spliced session that half-closed
/// comes back to NIO as it is; one half-closed on NIO stays there. A
/// recorded session moves too, and is copied there rather than spliced:
/// its worker reads each chunk into a buffer the recorder keeps (see
/// `SplicedSession`), without NIO's pipeline on the way.
extension ProxyServer {
    /// Moves a session onto the splice path, on its event loop, when it
    /// qualifies; false when it stays on NIO (nothing changed then).
    /// `opening`: the session is just connected, its client's channel
    /// behind a shut `ConnectGate` and its upstream's with no handler, so
    /// closing them tells no one; otherwise both channels carry the
    /// session's handlers, whose closes the session is told to ignore.
    func splice(_ id: UInt64, _ session: ProxySession, client: Channel, upstream: Channel, opening: Bool) -> Bool {
        guard configuration.splice, configuration.tls == nil, faults.isEmpty else { return false }
        // A recorded session is opened in its recording before any byte of
        // it is read: it leaves NIO once open, never as it opens.
        guard session.sink == nil || !opening else { return false }
        guard let clientSocket = client.duplicatedDescriptor() else { return false }
        guard let upstreamSocket = upstream.duplicatedDescriptor() else {
            close(clientSocket)
            return false
        }
        let loop = client.eventLoop
        let bound = NIOLoopBound(session, eventLoop: loop)
        let statistics = self.statistics
        let tally = session.tally
        let recording = session.sink.map { SpliceRecording(sink: $0, session: session.session.id, loop: loop) }
        let spliced = SplicedSession(
            client: clientSocket,
            upstream: upstreamSocket,
            count: { bytes, direction in
                let counter = direction == .clientToServer ? statistics.bytesClientToServer : statistics.bytesServerToClient
                counter.wrappingIncrement(by: bytes, ordering: .relaxed)
                statistics.bytesSpliced.wrappingIncrement(by: bytes, ordering: .relaxed)
                tally.count(bytes, direction)
            },
            onEnd: {
                loop.execute {
                    bound.value.channelClosed()
                    bound.value.channelClosed()
                }
            },
            onHandBack: { [self] handBack in
                loop.execute { self.resume(id, bound.value, handBack, on: loop) }
            },
            recording: recording
        )
        // The worker may splice at once: NIO does nothing with these
        // channels before they close, later in this same turn of the loop.
        guard let handle = SpliceEngine.shared.add(spliced) else {
            close(clientSocket)
            close(upstreamSocket)
            return false
        }
        statistics.splicesStarted.wrappingIncrement(ordering: .relaxed)
        state.withLockedValue { state in
            state.sessions[id] = []
            state.spliced[id] = handle
            state.open[id] = bound
        }
        if opening {
            session.open()
        } else {
            session.legsLeaving()
        }
        client.close(promise: nil)
        upstream.close(promise: nil)
        // A fault set meanwhile either saw the session spliced or is seen here.
        if !faults.isEmpty {
            handle.handBack()
        }
        return true
    }

    /// Puts a spliced session back on NIO (on its event loop): new channels
    /// over its sockets, with the handlers `accept` gives a session and the
    /// faults in force; what its pipes held is written before any byte
    /// read from now on.
    func resume(_ id: UInt64, _ session: ProxySession, _ handBack: SplicedSession.HandBack, on loop: EventLoop) {
        statistics.splicesHandedBack.wrappingIncrement(ordering: .relaxed)
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
        let clientLeg = bootstrap.withConnectedSocket(handBack.client)
        let upstreamLeg = bootstrap.withConnectedSocket(handBack.upstream)
        clientLeg.and(upstreamLeg).assumeIsolated().whenComplete { [self] result in
            let faultsUsed = faults
            let channels: (Channel, Channel)
            do {
                channels = try result.get()
                try join(session, client: channels.0, upstream: channels.1)
            } catch {
                logger.error("cannot put a spliced session back on NIO; closing it", metadata: ["session.id": "\(id)", "error": "\(error)"])
                clientLeg.whenSuccess { $0.close(promise: nil) }
                upstreamLeg.whenSuccess { $0.close(promise: nil) }
                session.channelClosed()
                session.channelClosed()
                return
            }
            let (client, upstream) = channels
            state.withLockedValue { state in
                state.spliced[id] = nil
                state.sessions[id] = [client, upstream]
            }
            if !handBack.toUpstream.isEmpty {
                upstream.writeAndFlush(ByteBuffer(bytes: handBack.toUpstream), promise: nil)
            }
            if !handBack.toClient.isEmpty {
                client.writeAndFlush(ByteBuffer(bytes: handBack.toClient), promise: nil)
            }
            client.setOption(.autoRead, value: true).whenComplete { _ in }
            upstream.setOption(.autoRead, value: true).whenComplete { _ in }
            // Faults set while the channels were being made reach them now.
            let now = faults
            if now != faultsUsed {
                for channel in [client, upstream] {
                    channel.updateFaults(now).whenComplete { _ in }
                }
            }
        }
    }

    /// The handlers of a session's two legs, as `accept` adds them.
    private func join(_ session: ProxySession, client: Channel, upstream: Channel) throws {
        let legs = SessionLegs(client: client)
        legs.upstream = upstream
        let clientTap = CaptureTap(session: session, direction: .clientToServer)
        let upstreamTap = CaptureTap(session: session, direction: .serverToClient)
        let clientFaults = faultHandler(.upstream, session: session, legs: legs)
        let upstreamFaults = faultHandler(.downstream, session: session, legs: legs)
        let folded = clientFaults == nil
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair(taps: folded ? (clientTap, upstreamTap) : nil)
        for (channel, tap, faults, glue) in [(client, clientTap, clientFaults, clientGlue), (upstream, upstreamTap, upstreamFaults, upstreamGlue)] {
            let pipeline = channel.pipeline.syncOperations
            if !folded {
                try pipeline.addHandler(tap)
                if let faults { try pipeline.addHandler(faults) }
            }
            try pipeline.addHandler(glue)
        }
    }

    /// Moves the session to the splice path once it has moved
    /// `spliceAfterBytes` or made `spliceAfterReads` reads (when it
    /// qualifies then; if it cannot leave NIO at that moment, after as
    /// many again).
    func spliceWhenBulk(_ id: UInt64, _ session: ProxySession, client: Channel, upstream: Channel) {
        guard configuration.splice, configuration.tls == nil, faults.isEmpty else { return }
        session.whenBulk(after: configuration.spliceAfterBytes, orReads: configuration.spliceAfterReads) { [self] in
            // Not from inside the read that crossed the line.
            client.eventLoop.assumeIsolated().execute {
                self.leaveNIO(id, session, client: client, upstream: upstream, attempts: 8, retrying: true)
            }
        }
    }

    typealias SessionOnNIO = (id: UInt64, session: NIOLoopBound<ProxySession>, channels: [Channel])

    /// Every open session with both its legs on NIO now.
    private func sessionsOnNIO() -> [SessionOnNIO] {
        state.withLockedValue { state in
            state.open.compactMap { id, session -> SessionOnNIO? in
                guard let channels = state.sessions[id], channels.count == 2 else { return nil }
                return (id, session, channels)
            }
        }
    }

    /// Every open session on NIO tries the splice path (the faults were
    /// all removed).
    func spliceOpenSessions() {
        guard configuration.splice, configuration.tls == nil else { return }
        for (id, session, channels) in sessionsOnNIO() {
            channels[0].eventLoop.execute { [self] in
                leaveNIO(id, session.value, client: channels[0], upstream: channels[1], attempts: 8, retrying: false)
            }
        }
    }

    /// Moves every session on NIO that read nothing since the last sweep
    /// to the splice path (`parkIdleAfter` apart): an idle pooled
    /// connection then holds no NIO channel, handler or read buffer, only
    /// its two sockets on a splice worker.
    func parkIdleSessions() {
        guard configuration.splice, configuration.tls == nil, faults.isEmpty else { return }
        var byLoop: [ObjectIdentifier: (EventLoop, [SessionOnNIO])] = [:]
        for entry in sessionsOnNIO() {
            let loop = entry.channels[0].eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(entry)
        }
        for (loop, sessions) in byLoop.values {
            loop.execute { [self] in
                var parked = 0
                for (id, session, channels) in sessions where session.value.isQuietSinceLastLook() {
                    leaveNIO(id, session.value, client: channels[0], upstream: channels[1], attempts: 8, retrying: false)
                    parked += 1
                }
                if parked > 0 {
                    logger.debug("idle sessions leave NIO", metadata: ["sessions": "\(parked)"])
                }
            }
        }
    }

    /// Stops both channels' reads, waits until what they queued is
    /// written, and splices when nothing came meanwhile; else tries again
    /// (`attempts` times), and gives up with reads back on (`retrying`:
    /// and tries again after `spliceAfterBytes` more).
    private func leaveNIO(_ id: UInt64, _ session: ProxySession, client: Channel, upstream: Channel, attempts: Int, retrying: Bool) {
        let channels = [client, upstream]
        guard attempts > 0, let glues = Self.plainGlues(channels), faults.isEmpty else {
            for channel in channels where channel.isActive {
                channel.setOption(.autoRead, value: true).whenComplete { _ in }
            }
            if retrying, channels.allSatisfy(\.isActive) {
                spliceWhenBulk(id, session, client: client, upstream: upstream)
            }
            return
        }
        let chunks = glues.map(\.chunksRead)
        for channel in channels {
            try? channel.syncOptions?.setOption(.autoRead, value: false)
        }
        let written = channels.map { $0.writeAndFlush(ByteBuffer()) }
        EventLoopFuture.andAllComplete(written, on: client.eventLoop).assumeIsolated().whenComplete { [self] _ in
            guard let now = Self.plainGlues(channels), now.map(\.chunksRead) == chunks,
                  state.withLockedValue({ $0.sessions[id]?.count == 2 }),
                  splice(id, session, client: client, upstream: upstream, opening: false)
            else {
                leaveNIO(id, session, client: client, upstream: upstream, attempts: attempts - 1, retrying: retrying)
                return
            }
        }
    }

    /// Both channels' glues, when both channels are active, have only
    /// passed bytes, and their fault handlers hold none.
    private static func plainGlues(_ channels: [Channel]) -> [GlueHandler]? {
        var glues: [GlueHandler] = []
        for channel in channels {
            guard channel.isActive,
                  let glue = try? channel.pipeline.syncOperations.handler(type: GlueHandler.self), glue.isPlain
            else { return nil }
            if let faults = try? channel.pipeline.syncOperations.handler(type: FaultHandler.self), faults.heldBytes > 0 {
                return nil
            }
            glues.append(glue)
        }
        return glues
    }
}
#else
/// No splicing outside Linux.
extension ProxyServer {
    func splice(_ id: UInt64, _ session: ProxySession, client: Channel, upstream: Channel, opening: Bool) -> Bool {
        false
    }

    func spliceOpenSessions() {}

    func spliceWhenBulk(_ id: UInt64, _ session: ProxySession, client: Channel, upstream: Channel) {}
}
#endif
