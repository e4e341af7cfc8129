import NIOCore
import Protocols

/// An exchange whose live answer differs from the recorded one, in words a
/// person reads: `GET /users/7: status 200 → 500`, `GET k:1: "a" → nil`,
/// `SELECT …: 3 rows → 2 rows`.
public struct ExchangeDifference: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The recorded session's index.
    public var session: Int
    /// The exchange's place in its session, from 0.
    public var exchange: Int
    /// The request it answers, in a few words.
    public var request: String
    /// Each way the answers differ, recorded → live.
    public var differences: [String]

    public init(session: Int, exchange: Int, request: String, differences: [String]) {
        self.session = session
        self.exchange = exchange
        self.request = request
        self.differences = differences
    }

    public var description: String { "\(request): \(differences.joined(separator: "; "))" }
}

/// Compares what a live server answered with what the recording says it
/// answered, exchange by exchange (`replay drive` for HTTP, Redis and
/// PostgreSQL recordings): both connections are framed and paired into
/// exchanges alike, the live exchanges are taken in order against the
/// recorded ones (the requests are the recorded ones, resent), and each
/// answer is compared field by field with the masks applied. Pure.
public struct ExchangeComparator: Sendable {
    public typealias Chunk = (side: Side, bytes: ByteBuffer, time: Duration)

    public let protocolKind: ProtocolKind
    public let masks: Masks
    let diff: ExchangeDiff
    let turnIdle: Duration?

    /// At most this many differences are kept per exchange.
    static let perExchangeLimit = 5
    /// At most this many exchanges are reported per session; the last one says how many more differ.
    static let perSessionLimit = 20

    public init(protocol protocolKind: ProtocolKind, masks: Masks = Masks(), turnIdle: Duration? = nil) {
        self.protocolKind = protocolKind
        self.masks = masks
        self.diff = ExchangeDiff(masks: masks)
        self.turnIdle = turnIdle
    }

    /// The differences of one session: `recorded` is what the recording
    /// holds of it (both sides, up to any bytes the capture lost), `live`
    /// what was sent and received in the replay, each with its time since
    /// the session opened.
    public func compare(session: Int, recorded: [Chunk], live: [Chunk]) -> [ExchangeDifference] {
        let (recordedExchanges, recordedStop) = exchanges(recorded)
        let (liveExchanges, stop) = exchanges(live)
        var keyer = RequestKeyer()
        var found: [ExchangeDifference] = []
        // A live server that stops speaking the protocol is a difference; a recording that did too, the same.
        if case .failed(let error)? = stop, recordedStop == nil {
            found.append(ExchangeDifference(session: session, exchange: liveExchanges.count, request: "(the live connection)", differences: ["cannot be framed as \(protocolKind): \(error); compared as bytes from there"]))
        }
        var unanswered: (first: Int, count: Int)?
        for (ordinal, recorded) in recordedExchanges.enumerated() {
            let key = keyer.key(for: recorded.requests)
            let live = ordinal < liveExchanges.count ? liveExchanges[ordinal] : Exchange(requests: recorded.requests)
            let variations = diff.answers(recorded, live, key: key)
            guard !variations.isEmpty else { continue }
            if live.responses.isEmpty, !recorded.responses.isEmpty {
                // One line for a connection that stopped answering, not one per request.
                if unanswered != nil {
                    unanswered?.count += 1
                    continue
                }
                unanswered = (found.count, 0)
            }
            found.append(ExchangeDifference(
                session: session,
                exchange: ordinal,
                request: RequestDescription.describe(recorded.requests),
                differences: Array(variations.prefix(Self.perExchangeLimit).map(\.description))
            ))
        }
        if let unanswered, unanswered.count > 0 {
            found[unanswered.first].differences.append("and \(unanswered.count) later request\(unanswered.count == 1 ? "" : "s") unanswered")
        }
        if found.count > Self.perSessionLimit {
            let more = found.count - Self.perSessionLimit
            found.removeLast(more)
            found[found.count - 1].differences.append("and \(more) later exchange\(more == 1 ? "" : "s") of this session differ\(more == 1 ? "s" : "")")
        }
        return found
    }

    /// A connection's exchanges, in order, and why framing stopped if it did.
    private func exchanges(_ chunks: [Chunk]) -> (exchanges: [Exchange], stop: FramerStop?) {
        let (messages, stop) = ConnectionFramer.frame(chunks, protocol: protocolKind, turnIdle: turnIdle)
        let exchanges = ExchangePairer.pair(messages, protocol: protocolKind).compactMap(\.exchange).filter { !$0.requests.isEmpty }
        return (exchanges, stop)
    }
}
