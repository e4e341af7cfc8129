import NIOCore
import Recording

/// One connection to the first of several addresses that answers, as Happy
/// Eyeballs clients make it (RFC 8305 §5): attempts start in order, each
/// when the previous one fails or `delay` after it started, whichever comes
/// first; the first to connect wins and any later one is closed.
///
/// Threading: lives on `eventLoop`; `attempt` completes its futures there.
final class ConnectRace {
    private let addresses: [SocketAddress]
    private let eventLoop: EventLoop
    private let delay: TimeAmount
    private let attempt: (SocketAddress) -> EventLoopFuture<Channel>
    private let promise: EventLoopPromise<(Channel, SocketAddress)>
    private var next = 0
    private var pending = 0
    private var failures: [(address: SocketAddress, error: Error)] = []
    private var isDecided = false
    private var nextAttempt: Scheduled<Void>?

    private init(
        addresses: [SocketAddress],
        eventLoop: EventLoop,
        delay: TimeAmount,
        attempt: @escaping (SocketAddress) -> EventLoopFuture<Channel>
    ) {
        self.addresses = addresses
        self.eventLoop = eventLoop
        self.delay = delay
        self.attempt = attempt
        self.promise = eventLoop.makePromise()
    }

    /// Connects to the first of `addresses` that answers; fails with the
    /// error every attempt met or, when they met different ones, a
    /// `SocketError` listing each address with its cause.
    static func run(
        _ addresses: [SocketAddress],
        on eventLoop: EventLoop,
        delay: TimeAmount,
        attempt: @escaping @Sendable (SocketAddress) -> EventLoopFuture<Channel>
    ) -> EventLoopFuture<(Channel, SocketAddress)> {
        guard !addresses.isEmpty else {
            return eventLoop.makeFailedFuture(SocketError(.resolve, "the name has no address"))
        }
        if eventLoop.inEventLoop {
            return ConnectRace(addresses: addresses, eventLoop: eventLoop, delay: delay, attempt: attempt).start()
        }
        return eventLoop.flatSubmit {
            ConnectRace(addresses: addresses, eventLoop: eventLoop, delay: delay, attempt: attempt).start()
        }
    }

    private func start() -> EventLoopFuture<(Channel, SocketAddress)> {
        startNext()
        return promise.futureResult
    }

    private func startNext() {
        nextAttempt?.cancel()
        nextAttempt = nil
        guard !isDecided, next < addresses.count else { return }
        let address = addresses[next]
        next += 1
        pending += 1
        if next < addresses.count {
            nextAttempt = eventLoop.assumeIsolated().scheduleTask(in: delay) { self.startNext() }
        }
        attempt(address).hop(to: eventLoop).assumeIsolated().whenComplete { result in
            self.pending -= 1
            switch result {
            case .success(let channel) where self.isDecided:
                channel.close(promise: nil)
            case .success(let channel):
                self.isDecided = true
                self.nextAttempt?.cancel()
                self.promise.succeed((channel, address))
            case .failure(let error):
                self.failures.append((address, error))
                if self.next < self.addresses.count {
                    self.startNext()
                } else if self.pending == 0 && !self.isDecided {
                    self.isDecided = true
                    self.promise.fail(self.failure())
                }
            }
        }
    }

    private func failure() -> Error {
        let reasons = failures.map { PlainReason.of($0.error) }
        if let first = failures.first, Set(reasons).count == 1 { return first.error }
        let each = zip(failures, reasons).map { failure, reason in
            "\(Endpoint(failure.address).map(\.description) ?? "\(failure.address)"): \(reason)"
        }
        return SocketError(.connect, "no address answered (\(each.joined(separator: "; ")))")
    }
}

@available(*, unavailable)
extension ConnectRace: Sendable {}
