import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import Recording
import TapedeckTLS

/// The upstream leg, connected and (with TLS) through its handshake, and
/// the client's handshake done: the session's handlers can go in.
struct OpenedUpstream {
    var channel: Channel
    var address: SocketAddress
    var tls: SessionTLS?
    /// Holds what the upstream sends after its handshake until released.
    var watcher: NIOLoopBound<TLSHandshakeWatcher>?
}

/// The upstream leg before the client's handshake is known to be done.
struct ConnectedUpstream: Sendable {
    var channel: Channel
    var address: SocketAddress
    var leg: SessionTLS.Leg?
    var watcher: NIOLoopBound<TLSHandshakeWatcher>?

    func opened(clientLeg: SessionTLS.Leg?) -> OpenedUpstream {
        let tls = clientLeg == nil && leg == nil ? nil : SessionTLS(client: clientLeg, upstream: leg)
        return OpenedUpstream(channel: channel, address: address, tls: tls, watcher: watcher)
    }
}

/// A TLS handshake that failed: the session's manifest entry, whether the
/// client is reset (the upstream's fault) or was closed (its own), and the
/// log line.
struct HandshakeFailure: Error {
    var tls: SessionTLS
    var resetsClient: Bool
    var message: String
}

extension ProxyServer {
    /// Connects the upstream leg. With TLS: reads the client's hello
    /// (after answering PostgreSQL's SSLRequest), connects, upgrades the
    /// upstream (SSLRequest, then TLS offering the client's SNI and ALPN),
    /// then finishes the client's handshake answering with the upstream's
    /// ALPN choice (when the client offered none, its handshake runs
    /// beside the upstream's). Each step waits at most the connect timeout. A failed
    /// handshake fails with a `HandshakeFailure`; anything else is the
    /// upstream's connection failing.
    func openUpstream(client: Channel, logger: Logger) -> EventLoopFuture<OpenedUpstream> {
        let loop = client.eventLoop
        let timeout = TimeAmount(configuration.connectTimeout)
        guard let tls = configuration.tls else {
            return connector.connect(on: loop, timeout: configuration.connectTimeout).map {
                OpenedUpstream(channel: $0.0, address: $0.1)
            }
        }
        var peek: NIOLoopBound<ClientHelloPeek>?
        if tls.serverContexts != nil {
            let clientPeek = ClientHelloPeek(eventLoop: loop)
            peek = NIOLoopBound(clientPeek, eventLoop: loop)
            do {
                try TLSHandshakeWatcher.manualReads(on: client)
                try client.pipeline.syncOperations.addHandler(clientPeek, position: .first)
                if tls.postgres {
                    try client.pipeline.syncOperations.addHandler(PostgresSSLRequestAnswer(eventLoop: loop), position: .first)
                }
            } catch {
                return loop.makeFailedFuture(error)
            }
        }
        let hello: EventLoopFuture<ClientHello?> = peek.map {
            within(timeout, $0.value.hello.map(Optional.some), on: loop, what: "no TLS hello from the client")
                .flatMapErrorThrowing { throw Self.clientFailure($0, upstream: nil) }
        } ?? loop.makeSucceededFuture(nil)
        return hello.flatMap { hello in
            // Only the client's ALPN list needs the upstream's answer before
            // the client's handshake; without one, both handshakes run at once.
            guard tls.clientContexts != nil, let offered = hello?.applicationProtocols, !offered.isEmpty else {
                return self.bothAtOnce(client, peek: peek, tls: tls, hello: hello, timeout: timeout)
            }
            return self.connectUpstream(tls: tls, hello: hello, on: loop, timeout: timeout).flatMap { upstream in
                self.startClientTLS(client, peek: peek, tls: tls, hello: hello, upstream: upstream.leg, timeout: timeout)
                    .flatMapErrorThrowing { error in
                        upstream.channel.close(promise: nil)
                        throw Self.clientFailure(error, upstream: upstream.leg)
                    }
                    .map { clientLeg in upstream.opened(clientLeg: clientLeg) }
            }
        }
    }

    /// The upstream leg connected and through its TLS, the client's
    /// handshake beside it; a failure of either closes the other's channel.
    private func bothAtOnce(
        _ client: Channel,
        peek: NIOLoopBound<ClientHelloPeek>?,
        tls: ProxyTLS,
        hello: ClientHello?,
        timeout: TimeAmount
    ) -> EventLoopFuture<OpenedUpstream> {
        let clientSide = startClientTLS(client, peek: peek, tls: tls, hello: hello, upstream: nil, timeout: timeout)
            .flatMapErrorThrowing { throw Self.clientFailure($0, upstream: nil) }
        let upstreamSide = connectUpstream(tls: tls, hello: hello, on: client.eventLoop, timeout: timeout)
        clientSide.whenFailure { _ in
            upstreamSide.whenSuccess { $0.channel.close(promise: nil) }
        }
        return clientSide.and(upstreamSide).map { clientLeg, upstream in upstream.opened(clientLeg: clientLeg) }
    }

    /// Connects to the upstream and, with `--upstream-tls`, upgrades it.
    private func connectUpstream(tls: ProxyTLS, hello: ClientHello?, on loop: EventLoop, timeout: TimeAmount) -> EventLoopFuture<ConnectedUpstream> {
        let upstreamName: String? = if case .host(let name, _) = configuration.upstream { name } else { nil }
        return connector.connect(on: loop, timeout: configuration.connectTimeout).flatMap { channel, address in
            self.startUpstreamTLS(channel, tls: tls, hello: hello, fallbackName: upstreamName, timeout: timeout)
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw HandshakeFailure(
                        tls: SessionTLS(error: "upstream: \(TLSFailureReason.of(error))"),
                        resetsClient: true,
                        message: "TLS handshake with the upstream failed: \(TLSFailureReason.of(error))"
                    )
                }
                .map { leg, watcher in ConnectedUpstream(channel: channel, address: address, leg: leg, watcher: watcher) }
        }
    }

    private static func clientFailure(_ error: Error, upstream: SessionTLS.Leg?) -> HandshakeFailure {
        let reason = TLSFailureReason.of(error)
        return HandshakeFailure(
            tls: SessionTLS(upstream: upstream, error: "client: \(reason)"),
            resetsClient: false,
            message: "TLS handshake with the client failed: \(reason)"
        )
    }

    /// SSLRequest (PostgreSQL) and TLS toward the upstream, when asked for;
    /// succeeds with the leg's terms and the watcher holding its bytes.
    private func startUpstreamTLS(
        _ channel: Channel,
        tls: ProxyTLS,
        hello: ClientHello?,
        fallbackName: String?,
        timeout: TimeAmount
    ) -> EventLoopFuture<(SessionTLS.Leg?, NIOLoopBound<TLSHandshakeWatcher>?)> {
        let loop = channel.eventLoop
        guard let contexts = tls.clientContexts else { return loop.makeSucceededFuture((nil, nil)) }
        var ready = loop.makeSucceededVoidFuture()
        do {
            try TLSHandshakeWatcher.manualReads(on: channel)
        } catch {
            return loop.makeFailedFuture(error)
        }
        if tls.postgres {
            let request = PostgresSSLRequestClient(eventLoop: loop)
            do {
                try channel.pipeline.syncOperations.addHandler(request)
            } catch {
                return loop.makeFailedFuture(error)
            }
            ready = within(timeout, request.accepted, on: loop, what: "no answer to SSLRequest from the upstream")
        }
        return ready.flatMapThrowing { () -> (NIOLoopBound<TLSHandshakeWatcher>, String?) in
            let name = contexts.serverName(fallback: hello?.serverName ?? fallbackName)
            let context = try contexts.context(applicationProtocols: hello?.applicationProtocols ?? [])
            let handler = try NIOSSLClientHandler(context: context, serverHostname: name)
            let sniffer = ServerHelloSniffer(outbound: false)
            let watcher = TLSHandshakeWatcher(eventLoop: loop, sniffer: sniffer)
            try channel.pipeline.syncOperations.addHandlers([sniffer, handler, watcher])
            return (NIOLoopBound(watcher, eventLoop: loop), name)
        }.flatMap { watcher, name in
            within(timeout, watcher.value.completed, on: loop, what: "the upstream's TLS handshake did not finish").map { result in
                (SessionTLS.Leg(result, sni: name), watcher)
            }
        }
    }

    /// The client's handshake, answering with the upstream's ALPN choice
    /// (none when the upstream is plaintext or chose none).
    private func startClientTLS(
        _ client: Channel,
        peek: NIOLoopBound<ClientHelloPeek>?,
        tls: ProxyTLS,
        hello: ClientHello?,
        upstream: SessionTLS.Leg?,
        timeout: TimeAmount
    ) -> EventLoopFuture<SessionTLS.Leg?> {
        let loop = client.eventLoop
        guard let peek, let contexts = tls.serverContexts else { return loop.makeSucceededFuture(nil) }
        let watcher: NIOLoopBound<TLSHandshakeWatcher>
        do {
            let offered = upstream?.alpn.map { [$0] } ?? []
            let handler = NIOSSLServerHandler(context: try contexts.context(applicationProtocols: offered))
            let sniffer = ServerHelloSniffer(outbound: true)
            let clientWatcher = TLSHandshakeWatcher(eventLoop: loop, sniffer: sniffer)
            watcher = NIOLoopBound(clientWatcher, eventLoop: loop)
            try client.pipeline.syncOperations.addHandler(sniffer, position: .first)
            try peek.value.startTLS(with: [handler, clientWatcher])
        } catch {
            return loop.makeFailedFuture(error)
        }
        return within(timeout, watcher.value.completed, on: loop, what: "the client's TLS handshake did not finish").map { result in
            // The connect gate after it holds the client's bytes from here.
            watcher.value.release()
            return SessionTLS.Leg(result, sni: hello?.serverName)
        }
    }
}

extension SessionTLS.Leg {
    init(_ result: HandshakeResult, sni: String?) {
        self.init(
            version: result.version,
            cipher: result.cipher,
            sni: sni,
            alpn: result.applicationProtocol,
            peerCertificates: result.peerCertificates.isEmpty ? nil : result.peerCertificates
        )
    }
}

/// `future`, or a `TLSError` saying `what` (and how long) if it has not
/// completed within `timeout`.
func within<Value>(_ timeout: TimeAmount, _ future: EventLoopFuture<Value>, on loop: EventLoop, what: String) -> EventLoopFuture<Value> {
    let promise = loop.makePromise(of: Value.self)
    let settled = NIOLockedValueBox(false)
    let settle: @Sendable (Result<Value, Error>) -> Void = { result in
        guard settled.withLockedValue({ done in defer { done = true }; return !done }) else { return }
        promise.completeWith(result)
    }
    let timer = loop.scheduleTask(in: timeout) {
        settle(.failure(TLSError("\(what) within \(Duration.nanoseconds(timeout.nanoseconds))")))
    }
    future.whenComplete { result in
        timer.cancel()
        settle(result)
    }
    return promise.futureResult
}
