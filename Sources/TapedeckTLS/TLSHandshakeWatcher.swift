import NIOCore
import NIOSSL
import NIOTLS
import X509

/// What a finished TLS handshake settled.
package struct HandshakeResult: Sendable {
    /// `TLSv1.3`, `TLSv1.2`…
    package var version: String?
    /// The cipher suite's IANA name.
    package var cipher: String?
    package var applicationProtocol: String?
    /// The subject of the certificate the peer showed (none: it showed none).
    package var peerCertificates: [String]
}

/// Sits after a TLS handler until its handshake ends: it issues the reads
/// the handshake needs (the handlers after it may be holding theirs), then
/// `completed` succeeds with the ALPN choice, or fails with the reason
/// (the handshake's error, or the peer's leaving).
///
/// The channel's autoRead is off while it watches (NIOSSL then reads for
/// itself whenever the handshake needs more; see `manualReads(on:)`). Once
/// the handshake is done it holds whatever comes next (bytes, the end,
/// errors) and passes no reads until `release()`, which passes what it held
/// on, turns autoRead back on and leaves the pipeline: the session's
/// handlers go in between.
package final class TLSHandshakeWatcher {
    package var completed: EventLoopFuture<HandshakeResult> { outcome.future }
    package let outcome: SetupOutcome<HandshakeResult>
    private var finished: Bool { outcome.isSettled }
    private var released = false
    private var held: [(ChannelHandlerContext) -> Void] = []
    package var context: ChannelHandlerContext?
    private let sniffer: ServerHelloSniffer?

    /// `sniffer`: the one next to the socket, which tells the cipher.
    package init(eventLoop: EventLoop, sniffer: ServerHelloSniffer?) {
        outcome = SetupOutcome(eventLoop: eventLoop)
        self.sniffer = sniffer
    }

    private func result(_ context: ChannelHandlerContext, applicationProtocol: String?) -> HandshakeResult {
        let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self)
        let subjects = handler?.peerCertificate
            .flatMap { try? Certificate(derEncoded: $0.toDERBytes()) }
            .map { [$0.subject.description] } ?? []
        let version = sniffer?.serverHello?.versionName ?? handler?.tlsVersion.map { "\($0)" }
        return HandshakeResult(version: version, cipher: sniffer?.serverHello?.cipherSuiteName, applicationProtocol: applicationProtocol, peerCertificates: subjects)
    }

    /// Passes on what was held and leaves the pipeline (on the channel's event loop).
    package func release() {
        guard let context, !released else { return }
        released = true
        let replay = held
        held = []
        for event in replay { event(context) }
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        context.channel.read()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Turns autoRead off on `channel` for a handshake (on its event loop).
    package static func manualReads(on channel: Channel) throws {
        try channel.syncOptions?.setOption(.autoRead, value: false)
    }


    private func pass(_ event: @escaping (ChannelHandlerContext) -> Void, context: ChannelHandlerContext) {
        if released { event(context) } else { held.append(event) }
    }
}

extension TLSHandshakeWatcher: ChannelDuplexHandler, RemovableChannelHandler, SelfReadingSetupHandler {
    package typealias InboundIn = NIOAny
    package typealias OutboundIn = NIOAny

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pass({ $0.fireChannelRead(data) }, context: context)
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        if !finished { context.read() }
        pass({ $0.fireChannelReadComplete() }, context: context)
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            outcome.settle(.success(result(context, applicationProtocol: negotiated)))
        }
        pass({ $0.fireUserInboundEventTriggered(event) }, context: context)
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        outcome.settle(.failure(error))
        pass({ $0.fireErrorCaught(error) }, context: context)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        outcome.settle(.failure(TLSError("the peer closed the connection during the TLS handshake")))
        pass({ $0.fireChannelInactive() }, context: context)
    }

    package func read(context: ChannelHandlerContext) {
        // Between the handshake and `release()`, nothing is read.
        if released || !finished { context.read() }
    }
}

@available(*, unavailable)
extension TLSHandshakeWatcher: Sendable {}
