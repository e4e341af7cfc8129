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

/// The sessions a replay server hands out, one per connection.
///
/// Threading: any thread.
final class SessionPool: Sendable {
    let scripts: [SessionScript]
    let match: SessionMatch
    let loop: Bool
    private let firstClientBytes: [[UInt8]]
    private let state = NIOLockedValueBox(State())

    struct State {
        var next = 0
        var uses: [Int: Int] = [:]
    }

    static let prefixLength = 256

    init(scripts: [SessionScript], match: SessionMatch, loop: Bool) {
        self.scripts = scripts
        self.match = match
        self.loop = loop
        firstClientBytes = scripts.map { script in
            var bytes: [UInt8] = []
            for step in script.steps where step.direction == .clientToServer {
                guard case .data(let buffer) = step.action else { continue }
                bytes.append(contentsOf: buffer.readableBytesView.prefix(Self.prefixLength - bytes.count))
                if bytes.count >= Self.prefixLength { break }
            }
            return bytes
        }
    }

    /// Whether a session can only be chosen after the client's first bytes.
    var needsFirstBytes: Bool { match == .firstBytes }

    /// The session for a new connection, or nil when none is left.
    /// `firstBytes` is what the client sent first (for `.firstBytes`).
    func take(firstBytes: ByteBuffer? = nil) -> (position: Int, script: SessionScript)? {
        state.withLockedValue { state in
            let chosen: Int?
            switch match {
            case .pinned(let position):
                chosen = position
            case .inOrder:
                if state.next >= scripts.count, loop, !scripts.isEmpty { state.next = 0 }
                chosen = state.next < scripts.count ? state.next : nil
                if chosen != nil { state.next += 1 }
            case .firstBytes:
                let live = firstBytes.map { Array($0.readableBytesView.prefix(Self.prefixLength)) } ?? []
                var candidates = scripts.indices.filter { state.uses[$0] == nil }
                if candidates.isEmpty, loop { candidates = Array(scripts.indices) }
                chosen = candidates.max { lhs, rhs in
                    let left = commonPrefix(firstClientBytes[lhs], live)
                    let right = commonPrefix(firstClientBytes[rhs], live)
                    return left != right ? left < right : lhs > rhs
                }
            }
            guard let chosen else { return nil }
            state.uses[chosen, default: 0] += 1
            return (chosen, scripts[chosen])
        }
    }

    /// Recorded positions no connection has used.
    var unused: [Int] {
        state.withLockedValue { state in scripts.indices.filter { state.uses[$0] == nil } }
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
