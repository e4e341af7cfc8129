import Faults
import NIOCore
import PcapFile
import Recording

/// One proxied connection: its two channels, its recording, its end.
///
/// Threading: lives on the session's event loop (both legs share it).
final class ProxySession {
    /// Its server becomes the address connected to when the upstream is a
    /// host name; it is final once the session opens.
    var session: Session
    let sink: SessionSink?
    let tally: LiveSessionTally
    private let statistics: ProxyStatistics
    private let onEnd: (UInt64) -> Void
    private var openChannels = 2
    /// Closes of NIO legs the session left for the splice path: not its end.
    private var closesToIgnore = 0
    /// Called once the session has read `bulkBytes` more on the NIO path (then cleared).
    private var onBulk: (() -> Void)?
    private var bytesBeforeBulk = 0
    private var readsBeforeBulk = 0
    /// Reads on the NIO path, and their count when `isQuietSinceLastLook` last asked.
    private var reads = 0
    private var readsAtLastLook = -1
    /// False until the upstream leg is connected: a client whose upstream
    /// never answered is not a session.
    private var isOpen = false
    /// Every fault that acted on the session, by name, with the most it did.
    private var faultEffects: [String: FaultEffect] = [:]

    init(session: Session, tally: LiveSessionTally, statistics: ProxyStatistics, onEnd: @escaping (UInt64) -> Void) {
        self.session = session
        self.tally = tally
        self.sink = tally.sink
        self.statistics = statistics
        self.onEnd = onEnd
    }

    /// Both legs are connected: the session starts.
    func open() {
        isOpen = true
        statistics.totalSessions.wrappingIncrement(ordering: .relaxed)
        statistics.liveSessions.wrappingIncrement(ordering: .relaxed)
        tally.opened(session)
        sink?.open(session)
        if !faultEffects.isEmpty {
            sink?.faults(faultList, session: session.id)
        }
    }

    /// A TLS handshake failed before the session could start: it is
    /// recorded with no bytes, the reason in its manifest entry, ended as
    /// the client saw it (`reset`: we reset it; else both sides closed).
    func handshakeFailed(_ tls: SessionTLS, reset: Bool) {
        session.tls = tls
        statistics.tlsFailures.wrappingIncrement(ordering: .relaxed)
        guard let sink else { return }
        sink.open(session)
        if reset {
            record(.reset, .serverToClient)
        } else {
            record(.halfClose, .serverToClient)
            record(.halfClose, .clientToServer)
        }
        sink.close(session: session.id, at: .now())
    }

    /// What one direction's faults have done so far (cumulative). Each
    /// fault that acts on the session for the first time counts once in
    /// `faultsFired` — whichever direction it acted on, however often; the
    /// sink hears the list whenever it grows or a fault does more.
    func faultsActed(_ effects: [String: FaultEffect]) {
        var changed = false
        for (name, effect) in effects {
            if let known = faultEffects[name] {
                guard effect.action > known.action else { continue }
            } else {
                statistics.faultsFired.wrappingIncrement(ordering: .relaxed)
            }
            faultEffects[name] = effect
            changed = true
        }
        if changed, isOpen {
            sink?.faults(faultList, session: session.id)
        }
    }

    private var faultList: [SessionFault] {
        faultEffects.sorted { $0.key < $1.key }.map { name, effect in
            SessionFault(name: name, type: effect.type.rawValue, stream: effect.stream.rawValue, action: effect.action.rawValue)
        }
    }

    /// Calls `action` once the session has read `bytes` more (both ways)
    /// on the NIO path, or made `reads` more reads.
    func whenBulk(after bytes: Int, orReads reads: Int, _ action: @escaping () -> Void) {
        bytesBeforeBulk = bytes
        readsBeforeBulk = reads
        onBulk = action
    }

    /// True when the session read nothing on NIO since the last time this
    /// was asked (never the first time).
    func isQuietSinceLastLook() -> Bool {
        defer { readsAtLastLook = reads }
        return reads == readsAtLastLook
    }

    func received(_ buffer: ByteBuffer, _ direction: Direction) {
        reads &+= 1
        if let bulk = onBulk {
            bytesBeforeBulk -= buffer.readableBytes
            readsBeforeBulk -= 1
            if bytesBeforeBulk <= 0 || readsBeforeBulk <= 0 {
                onBulk = nil
                bulk()
            }
        }
        let counter = direction == .clientToServer ? statistics.bytesClientToServer : statistics.bytesServerToClient
        counter.wrappingIncrement(by: buffer.readableBytes, ordering: .relaxed)
        tally.count(buffer.readableBytes, direction)
        sink?.record(SessionEvent(time: .now(), direction: direction, kind: .data(buffer)), session: session.id)
    }

    /// An ending the capture taps saw. The NIO legs' closes as the session
    /// leaves for the splice path are no peer's end: not recorded.
    func record(_ kind: SessionEvent.Kind, _ direction: Direction) {
        guard closesToIgnore == 0 else { return }
        sink?.record(SessionEvent(time: .now(), direction: direction, kind: kind), session: session.id)
    }

    /// Its two NIO legs are about to close because the session moves to
    /// the splice path: their closes do not count.
    func legsLeaving() {
        closesToIgnore += 2
        // It holds the closing channels, which would live on in it.
        onBulk = nil
    }

    /// Called once per leg when it closes; the session ends with the second.
    /// A spliced session calls it twice when it ends.
    func channelClosed() {
        guard isOpen else { return }
        if closesToIgnore > 0 {
            closesToIgnore -= 1
            return
        }
        openChannels -= 1
        guard openChannels == 0 else { return }
        onBulk = nil
        sink?.close(session: session.id, at: .now())
        statistics.liveSessions.wrappingDecrement(ordering: .relaxed)
        onEnd(session.id)
    }
}

@available(*, unavailable)
extension ProxySession: Sendable {}
