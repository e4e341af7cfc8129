import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Recording

/// Connects to one upstream (a proxy's, a drive's target) again and again.
///
/// An IP literal or a Unix path is made into a socket address once, and
/// every connection goes straight to it. A host name is resolved by
/// `prepare()`, and its addresses are tried in order as Happy Eyeballs
/// clients do (RFC 8305): the next attempt starts when the previous one
/// fails or after `attemptDelay`, the first to connect wins, and the address
/// that answered is tried first from then on. When every address fails, the
/// name is resolved again (one lookup for all the connections failing at
/// that moment), and new addresses, if any, are tried. Every resolution is
/// logged with the addresses it found.
package final class UpstreamConnector: Sendable {
    package let endpoint: Endpoint
    /// How messages and logs name the upstream: `upstream`, `target`.
    private let role: String
    private let resolver: any HostResolver
    private let attemptDelay: TimeAmount
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        /// In the order to try them; empty until made or resolved.
        var addresses: [SocketAddress] = []
        /// The lookup under way, which every failing connection waits for.
        var lookup: EventLoopFuture<[SocketAddress]>?
        /// Each event loop's bootstrap, with the connect timeout it has.
        var bootstraps: [ObjectIdentifier: (bootstrap: NIOLoopBound<ClientBootstrap>, timeout: Duration)] = [:]
    }

    package init(
        endpoint: Endpoint,
        role: String,
        resolver: any HostResolver = SystemResolver(),
        attemptDelay: TimeAmount = .milliseconds(250),
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.role = role
        self.resolver = resolver
        self.attemptDelay = attemptDelay
        self.logger = logger
    }

    /// The addresses tried next, in order.
    package var addresses: [SocketAddress] {
        state.withLockedValue { $0.addresses }
    }

    /// Makes the address of a literal, or resolves a host name. Throws a
    /// `SocketError` naming the upstream and why it has no address (a name
    /// no one knows, a Unix path too long).
    package func prepare() async throws {
        let found = try await find(again: false)
        state.withLockedValue { $0.addresses = found }
    }

    /// Connects on `eventLoop`, each attempt made by `attempt` (a
    /// bootstrap's connect, on that loop); the channel that connected, and
    /// the address it connected to. When none connects, fails with the
    /// error they all met, or a `SocketError` saying what each met.
    package func connect(
        on eventLoop: EventLoop,
        attempt: @escaping @Sendable (SocketAddress) -> EventLoopFuture<Channel>
    ) -> EventLoopFuture<(Channel, SocketAddress)> {
        let addresses = self.addresses
        guard case .host = endpoint else {
            // A literal: its one address, made once.
            guard let address = addresses.first else {
                return lookUp(on: eventLoop).flatMap { _ in self.connect(on: eventLoop, attempt: attempt) }
            }
            return attempt(address).map { ($0, address) }
        }
        let delay = attemptDelay
        let tried = addresses.isEmpty
            ? lookUp(on: eventLoop).flatMap { ConnectRace.run($0, on: eventLoop, delay: delay, attempt: attempt) }
            : ConnectRace.run(addresses, on: eventLoop, delay: delay, attempt: attempt)
        return tried.flatMapError { error in
            // Every address failed: the name may point elsewhere now.
            guard !addresses.isEmpty else { return eventLoop.makeFailedFuture(error) }
            return self.lookUp(on: eventLoop).flatMap { fresh in
                guard Set(fresh) != Set(addresses) else { return eventLoop.makeFailedFuture(error) }
                return ConnectRace.run(fresh, on: eventLoop, delay: delay, attempt: attempt)
            }.flatMapError { _ in eventLoop.makeFailedFuture(error) }
        }.map { connected in
            self.preferring(connected.1)
            return connected
        }
    }

    /// Connects as Tapedeck's client legs do: half-closure on, no Nagle
    /// delay, `timeout` for each address tried; a Unix socket or a loopback
    /// address by hand when it connects at once (`QuickConnect`).
    package func connect(on eventLoop: EventLoop, timeout: Duration) -> EventLoopFuture<(Channel, SocketAddress)> {
        connect(on: eventLoop) { [self] address in
            let bootstrap = bootstrap(on: eventLoop, timeout: timeout)
            switch QuickConnect.attempt(address) {
            case .connected(let descriptor): return bootstrap.withConnectedSocket(descriptor)
            case .failed(let error): return eventLoop.makeFailedFuture(error)
            case .notQuick: return bootstrap.connect(to: address)
            }
        }
    }

    /// The bootstrap of `eventLoop`'s connections: made once per loop (and
    /// again if the timeout changes) and used on that loop only, so a new
    /// connection does not pay for building one; off the loop, a new one.
    private func bootstrap(on eventLoop: EventLoop, timeout: Duration) -> ClientBootstrap {
        func made() -> ClientBootstrap {
            ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator.sessionLeg)
        }
        guard eventLoop.inEventLoop else { return made() }
        let key = ObjectIdentifier(eventLoop)
        if let kept = state.withLockedValue({ $0.bootstraps[key] }), kept.timeout == timeout {
            return kept.bootstrap.value
        }
        let bootstrap = made()
        state.withLockedValue { $0.bootstraps[key] = (NIOLoopBound(bootstrap, eventLoop: eventLoop), timeout) }
        return bootstrap
    }

    private enum Lookup {
        case joined(EventLoopFuture<[SocketAddress]>)
        case started(EventLoopPromise<[SocketAddress]>)
    }

    /// The address that answered goes first for the connections to come.
    private func preferring(_ address: SocketAddress) {
        state.withLockedValue { state in
            guard let position = state.addresses.firstIndex(of: address), position > 0 else { return }
            state.addresses.remove(at: position)
            state.addresses.insert(address, at: 0)
        }
    }

    /// Resolves again, joining a lookup under way, and keeps what it found;
    /// a failed lookup keeps the addresses there were.
    private func lookUp(on eventLoop: EventLoop) -> EventLoopFuture<[SocketAddress]> {
        let promise: EventLoopPromise<[SocketAddress]>
        switch state.withLockedValue({ state -> Lookup in
            if let running = state.lookup { return .joined(running) }
            let promise = eventLoop.makePromise(of: [SocketAddress].self)
            state.lookup = promise.futureResult
            return .started(promise)
        }) {
        case .joined(let running):
            return running.hop(to: eventLoop)
        case .started(let started):
            promise = started
        }
        promise.completeWithTask { try await self.find(again: true) }
        return promise.futureResult.always { [state] result in
            state.withLockedValue { state in
                state.lookup = nil
                // The same addresses keep their order (the one that answered first).
                if case .success(let found) = result, Set(found) != Set(state.addresses) { state.addresses = found }
            }
        }
    }

    /// The literal's address, or the name's addresses, logged.
    private func find(again: Bool) async throws -> [SocketAddress] {
        let name: String
        let port: UInt16
        switch endpoint {
        case .host(let host, let hostPort):
            (name, port) = (host, hostPort)
        case .ip, .unix:
            do {
                return try endpoint.socketAddress().map { [$0] } ?? []
            } catch {
                throw SocketError(error.code, "\(role) \(endpoint): \(error.message)")
            }
        }
        do {
            let found = try await resolver.addresses(of: name, port: port)
            let metadata: Logger.Metadata = [
                "\(role).address": "\(endpoint)",
                "\(role).addresses": "\(found.compactMap(Endpoint.init).map(\.description).joined(separator: " "))",
            ]
            if !again {
                logger.info("\(role) resolved", metadata: metadata)
            } else if Set(found) != Set(addresses) {
                logger.info("\(role) resolved again, to other addresses", metadata: metadata)
            } else {
                logger.debug("\(role) resolved again, to the same addresses", metadata: metadata)
            }
            return found
        } catch {
            let failure = SocketError(.resolve, "cannot resolve \(role) \(endpoint): \(PlainReason.of(error))")
            // At start the caller reports it; later, connections go on with the addresses there were.
            if again { logger.warning("\(failure); keeping the addresses found before") }
            throw failure
        }
    }
}
