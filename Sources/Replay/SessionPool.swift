import NIOConcurrencyHelpers
import NIOCore
import Recording

/// Which recorded session answers a new connection.
public enum SessionMatch: Sendable, Hashable {
    /// The next one in recorded order.
    case inOrder
    /// The one whose recorded first client bytes best match what the client
    /// sends first (longest common prefix; recorded order breaks ties).
    case firstBytes
    /// Always this one (its index in the recording).
    case pinned(Int)
}

/// The sessions a replay server hands out, one per connection, each read
/// from its source when taken.
///
/// Threading: any thread.
final class SessionPool: Sendable {
    let sessions: any SessionScriptSource
    let match: SessionMatch
    let loop: Bool
    private let firstClientBytes: [[UInt8]]
    private let state = NIOLockedValueBox(State())

    struct State {
        var next = 0
        var uses: [Int: Int] = [:]
    }

    static let prefixLength = 256

    /// Reads the first client bytes of every session for `.firstBytes`.
    init(sessions: some SessionScriptSource, match: SessionMatch, loop: Bool) throws {
        self.sessions = sessions
        self.match = match
        self.loop = loop
        firstClientBytes = match != .firstBytes ? [] : try (0..<sessions.count).map { position in
            Array(try sessions.firstBytes(at: position, .clientToServer, upTo: Self.prefixLength).readableBytesView)
        }
    }

    convenience init(scripts: [SessionScript], match: SessionMatch, loop: Bool) {
        // Scripts in memory are read without fail.
        try! self.init(sessions: scripts, match: match, loop: loop)
    }

    /// Whether a session can only be chosen after the client's first bytes.
    var needsFirstBytes: Bool { match == .firstBytes }

    /// The position of the session for a new connection, or nil when none
    /// is left; its script is `sessions.script(at:)`. `firstBytes` is what
    /// the client sent first (for `.firstBytes`).
    func take(firstBytes: ByteBuffer? = nil) -> Int? {
        let count = sessions.count
        return state.withLockedValue { state in
            let chosen: Int?
            switch match {
            case .pinned(let position):
                chosen = position
            case .inOrder:
                if state.next >= count, loop, count > 0 { state.next = 0 }
                chosen = state.next < count ? state.next : nil
                if chosen != nil { state.next += 1 }
            case .firstBytes:
                let live = firstBytes.map { Array($0.readableBytesView.prefix(Self.prefixLength)) } ?? []
                var candidates = (0..<count).filter { state.uses[$0] == nil }
                if candidates.isEmpty, loop { candidates = Array(0..<count) }
                chosen = candidates.max { lhs, rhs in
                    let left = commonPrefix(firstClientBytes[lhs], live)
                    let right = commonPrefix(firstClientBytes[rhs], live)
                    return left != right ? left < right : lhs > rhs
                }
            }
            guard let chosen else { return nil }
            state.uses[chosen, default: 0] += 1
            return chosen
        }
    }

    /// Recorded positions no connection has used.
    var unused: [Int] {
        state.withLockedValue { state in (0..<sessions.count).filter { state.uses[$0] == nil } }
    }

    var usedCount: Int {
        state.withLockedValue { $0.uses.count }
    }
}

private func commonPrefix(_ a: [UInt8], _ b: [UInt8]) -> Int {
    var count = 0
    while count < a.count, count < b.count, a[count] == b[count] { count += 1 }
    return count
}
