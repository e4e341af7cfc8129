import Faults
import NIOCore
import Recording

/// One side of a recorded session played turn by turn against a live peer,
/// as a pure state machine: the peer's bytes, its end of stream and the
/// clock go in; what to send, and when the session is over, comes out. No
/// I/O and no clock: every event takes `now`, so a test drives it on a
/// manual clock. `replay serve` plays the server side with it, `replay
/// drive` the client side.
///
/// The script is walked in order. The peer's steps only raise the number of
/// peer bytes the next played step waits for. A played step goes out when
/// the peer's turn is over and its instant has come. A turn is over when its
/// recorded bytes have arrived, or some arrived and then `turnIdle` passed
/// without more (the missing bytes are forgiven), or the peer ended its
/// stream; the client also stops waiting for a silent server after
/// `replyTimeout`, while the server waits for a silent client as long as it
/// stays. Bytes beyond a turn count toward the next. A gap in the capture
/// fails the session.
///
/// The consumer calls ``advance(to:)`` at ``nextDeadline``. Called later, a
/// step goes out late: with per-turn anchoring, the steps after it in the
/// same turn keep their recorded gaps from it.
struct TurnMachine: Sendable {
    /// The side of the recording that is played; the live peer is the other.
    enum Role: Sendable, Hashable {
        /// `replay serve`: answers a live client.
        case server
        /// `replay drive`: talks to a live server.
        case client

        /// The direction of the played side's steps.
        var sends: Direction { self == .server ? .serverToClient : .clientToServer }
    }

    /// What a played step's recorded offset is measured from.
    enum Anchoring: Sendable, Hashable {
        /// One anchor for the whole session: a step is due at
        /// `anchor + offset ÷ speed` (`replay drive`), so waiting for a turn
        /// delays no later step.
        case session(FaultInstant)
        /// A new anchor at the end of each peer turn (`replay serve`): a step
        /// is due at the turn's end plus its recorded gap since the turn's
        /// last peer step (÷ speed). A turn that ended idle is anchored at the
        /// peer's last byte. Steps before the first peer turn are anchored at
        /// ``start(at:)``.
        case perTurn
    }

    enum Action: Sendable, Hashable {
        /// Write these bytes: a played step, due at `due` (earlier than now
        /// when a turn kept it waiting).
        case send(ByteBuffer, due: FaultInstant)
        /// Shut the write side down once what was written has gone out (a
        /// recorded FIN).
        case halfClose
        /// Reset the connection, as the recording did. Nothing follows.
        case reset
        /// The session cannot be played past here (`reason` says why, for
        /// the user); reset the connection. Nothing follows.
        case fail(reason: String)
        /// The session is played out: close once what was written has gone
        /// out. Nothing follows.
        case finish
    }

    let script: SessionScript
    let role: Role
    let timing: ReplayTiming
    let anchoring: Anchoring

    /// The next step of the script.
    private var stepIndex = 0
    private var started = false
    /// Live peer bytes so far.
    private(set) var peerReceived = 0
    /// Recorded peer bytes up to the current step.
    private var peerExpected = 0
    /// Recorded peer bytes forgiven because their turn ended short.
    private(set) var peerForgiven = 0
    /// The live count at which the last turn ended.
    private var turnEndCount = 0
    /// Peer steps were passed since the last played step.
    private var turnOpen = false
    /// When the client began waiting for a server that has sent nothing of
    /// its turn yet (the reply timeout runs from here).
    private var turnWaitStarted: FaultInstant?
    private var lastPeerStepOffset: Int64 = 0
    private var lastPeerByte = FaultInstant.zero
    private var anchor: FaultInstant
    /// The recorded offset that falls on `anchor`.
    private var anchorOffset: Int64 = 0
    private(set) var peerEnded = false
    /// Every step has been played.
    private(set) var scriptDone = false
    /// The client's wait for bytes the server sends beyond the recording
    /// ends here (restarted by every byte).
    private var extraBytesWaitEnd: FaultInstant?
    /// An action that ends the session has been emitted: nothing follows.
    private(set) var isFinished = false
    /// The instant at which ``advance(to:)`` has something to do.
    private(set) var nextDeadline: FaultInstant?
    /// When the next deadline is a played step whose turn is over, waiting
    /// only for its instant: that instant (a consumer may spin up to it).
    private(set) var sendDue: FaultInstant?

    init(script: SessionScript, role: Role, timing: ReplayTiming, anchoring: Anchoring) {
        self.script = script
        self.role = role
        self.timing = timing
        self.anchoring = anchoring
        if case .session(let anchor) = anchoring {
            self.anchor = anchor
        } else {
            self.anchor = .zero
        }
    }

    /// The connection is open at `now`: steps that are due go out. Bytes
    /// received before count toward the first turn.
    mutating func start(at now: FaultInstant) -> [Action] {
        guard !started else { return [] }
        started = true
        if anchoring == .perTurn { anchor = now }
        if peerReceived == 0 { lastPeerByte = now }
        return run(at: now)
    }

    /// `bytes` of the peer's stream arrived at `now`.
    mutating func receive(bytes: Int, at now: FaultInstant) -> [Action] {
        guard bytes > 0, !isFinished else { return [] }
        peerReceived += bytes
        lastPeerByte = now
        extraBytesWaitEnd = nil
        return run(at: now)
    }

    /// The peer ended its stream (a half-close) at `now`: what it sent is
    /// all it will send.
    mutating func receiveEndOfStream(at now: FaultInstant) -> [Action] {
        peerEnded = true
        return run(at: now)
    }

    /// Everything due at or before `now`.
    mutating func advance(to now: FaultInstant) -> [Action] {
        run(at: now)
    }

    private mutating func run(at now: FaultInstant) -> [Action] {
        nextDeadline = nil
        sendDue = nil
        guard started, !isFinished else { return [] }
        var actions: [Action] = []
        while stepIndex < script.steps.count {
            let step = script.steps[stepIndex]
            if step.direction != role.sends {
                if case .gap(let bytes) = step.action {
                    return end(with: .fail(reason: gapReason(step.direction, bytes: bytes)), after: actions)
                }
                peerExpected += step.byteCount
                lastPeerStepOffset = step.offset
                turnOpen = true
                stepIndex += 1
                continue
            }
            guard peerTurnIsOver(at: now) else { return actions }
            let due = anchor + .nanoseconds(timing.scaled(step.offset - anchorOffset))
            if due > now {
                nextDeadline = due
                sendDue = due
                return actions
            }
            stepIndex += 1
            switch step.action {
            case .data(let buffer):
                actions.append(.send(buffer, due: due))
            case .halfClose:
                actions.append(.halfClose)
            case .reset:
                return end(with: .reset, after: actions)
            case .gap(let bytes):
                return end(with: .fail(reason: gapReason(step.direction, bytes: bytes)), after: actions)
            }
        }
        switch role {
        case .server:
            // The server's part is played; the connection closes once the client is done too.
            scriptDone = true
            if peerEnded { return end(with: .finish, after: actions) }
        case .client:
            // Everything is sent: wait for the rest of the answer, then give a
            // server that sends more than recorded `turnIdle` to show it.
            guard peerTurnIsOver(at: now) else { return actions }
            scriptDone = true
            if peerEnded || peerReceived > peerExpected { return end(with: .finish, after: actions) }
            let waitEnd = extraBytesWaitEnd ?? now + timing.turnIdle
            if waitEnd <= now { return end(with: .finish, after: actions) }
            extraBytesWaitEnd = waitEnd
            nextDeadline = waitEnd
        }
        return actions
    }

    /// True when the peer's current turn is over (then the anchor moves, for
    /// per-turn anchoring); otherwise sets the deadline that ends it, if any.
    private mutating func peerTurnIsOver(at now: FaultInstant) -> Bool {
        guard turnOpen else { return true }
        var endedIdle = false
        if peerReceived + peerForgiven < peerExpected, !peerEnded {
            let waitEnd: FaultInstant
            if peerReceived > turnEndCount {
                waitEnd = lastPeerByte + timing.turnIdle
                endedIdle = true
            } else if role == .client {
                let started = turnWaitStarted ?? now
                turnWaitStarted = started
                waitEnd = started + timing.replyTimeout
            } else {
                // Nothing of this turn yet: the client is still thinking.
                return false
            }
            if waitEnd > now {
                nextDeadline = waitEnd
                return false
            }
            peerForgiven = peerExpected - peerReceived
        }
        turnOpen = false
        turnWaitStarted = nil
        turnEndCount = peerExpected - peerForgiven
        if anchoring == .perTurn {
            anchor = endedIdle ? lastPeerByte : now
            anchorOffset = lastPeerStepOffset
        }
        return true
    }

    private mutating func end(with last: Action, after actions: [Action]) -> [Action] {
        isFinished = true
        return actions + [last]
    }

    /// Why a gap in `direction` stops the session, in the user's terms.
    private func gapReason(_ direction: Direction, bytes: Int) -> String {
        switch (role, direction) {
        case (.server, .clientToServer):
            "the capture lost \(bytes) bytes of what the client sent at byte \(peerExpected); the session cannot be served past there"
        case (.server, .serverToClient):
            "the capture lost \(bytes) bytes of the server's answer; the session cannot be served past there"
        case (.client, .serverToClient):
            "the capture lost \(bytes) bytes of the server's answer at byte \(peerExpected); those bytes cannot be compared"
        case (.client, .clientToServer):
            "the capture lost \(bytes) bytes of what the client sent; the session cannot be played past there"
        }
    }
}
