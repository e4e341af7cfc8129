import Faults
import NIOCore
@testable import Replay

/// An instant `value` milliseconds after the manual clock's origin.
func ms(_ value: Double) -> FaultInstant {
    FaultInstant(nanoseconds: Int64((value * 1_000_000).rounded()))
}

/// Plays a ``TurnMachine`` on a manual clock: before each input, every
/// deadline up to that instant is met exactly, and every action is logged
/// with the instant it came out.
struct Player {
    struct Output: Equatable, CustomStringConvertible {
        var action: TurnMachine.Action
        var at: FaultInstant

        /// Bytes sent at `at`, due at `due` (at `at` when not given).
        static func sent(_ text: String, at: FaultInstant, due: FaultInstant? = nil) -> Output {
            Output(action: .send(ByteBuffer(string: text), due: due ?? at), at: at)
        }

        static func halfClose(at: FaultInstant) -> Output { Output(action: .halfClose, at: at) }
        static func reset(at: FaultInstant) -> Output { Output(action: .reset, at: at) }
        static func finish(at: FaultInstant) -> Output { Output(action: .finish, at: at) }
        static func fail(_ reason: String, at: FaultInstant) -> Output { Output(action: .fail(reason: reason), at: at) }

        var description: String {
            if case .send(let buffer, let due) = action {
                return "sent \"\(String(buffer: buffer))\" at \(at) (due \(due))"
            }
            return "\(action) at \(at)"
        }
    }

    var machine: TurnMachine
    var now = FaultInstant.zero
    var outputs: [Output] = []

    /// - Parameter anchor: for the client role, the session's anchor (the
    ///   server role anchors per turn).
    init(
        _ script: SessionScript,
        _ role: TurnMachine.Role,
        anchor: FaultInstant = .zero,
        speed: Double = 1,
        turnIdle: Duration = .milliseconds(50),
        replyTimeout: Duration = .milliseconds(500)
    ) {
        let timing = ReplayTiming(speed: speed, turnIdle: turnIdle, replyTimeout: replyTimeout)
        machine = TurnMachine(script: script, role: role, timing: timing, anchoring: role == .server ? .perTurn : .session(anchor))
    }

    mutating func advance(to instant: FaultInstant) {
        var wakeUps = 0
        while let deadline = machine.nextDeadline, deadline <= instant {
            wakeUps += 1
            precondition(wakeUps < 100_000, "the machine does not make progress")
            now = max(now, deadline)
            log(machine.advance(to: now))
        }
        now = max(now, instant)
    }

    mutating func start(at instant: FaultInstant) {
        advance(to: instant)
        log(machine.start(at: now))
    }

    mutating func receive(_ text: String, at instant: FaultInstant) {
        advance(to: instant)
        log(machine.receive(bytes: text.utf8.count, at: now))
    }

    mutating func end(at instant: FaultInstant) {
        advance(to: instant)
        log(machine.receiveEndOfStream(at: now))
    }

    /// Meets every deadline there is.
    mutating func finish() {
        advance(to: ms(100_000_000))
    }

    private mutating func log(_ actions: [TurnMachine.Action]) {
        outputs += actions.map { Output(action: $0, at: now) }
    }
}
