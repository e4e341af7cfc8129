import NIOCore
import Protocols

/// How two recordings of one exchange differ, field by field in the
/// exchange's protocol, leaving out what the masks say does not count.
///
/// The same reading serves `tapedeck noise` (two runs of one scenario, no
/// masks: every difference is a mask to propose) and `replay drive` (the
/// recorded answer and the live one, with masks: every difference left is
/// reported). Pure.
struct ExchangeDiff: Sendable {
    let masks: MaskSet

    init(masks: Masks = Masks()) {
        self.masks = MaskSet(masks)
    }

    /// How two requests differ. `keyA`, `keyB` are their keys (a PostgreSQL
    /// request's statements are only known from the keyer's state).
    func requests(_ a: Exchange, _ b: Exchange, keys keyA: ExchangeKey, _ keyB: ExchangeKey) -> [Variation] {
        guard !Self.isGeneric(a.requests + b.requests) else { return generic(a.requests, b.requests, what: "request", side: .client) }
        switch a.requests.first?.content {
        case .http(let messageA)?:
            guard let messageB = b.requests.first?.http else { return generic(a.requests, b.requests, what: "request", side: .client) }
            return httpRequests(messageA, messageB, keys: keyA, keyB)
        case .redis?:
            return redisRequests(a.requests, b.requests, keys: keyA, keyB)
        case .postgres?:
            return postgresRequests(a.requests, b.requests, keys: keyA, keyB)
        case .turn?, .truncated?, nil:
            return generic(a.requests, b.requests, what: "request", side: .client)
        }
    }

    /// How two answers to one request differ; `key` is the request's.
    func answers(_ a: Exchange, _ b: Exchange, key: ExchangeKey) -> [Variation] {
        guard !Self.isGeneric(a.responses + b.responses) else { return generic(a.responses, b.responses, what: "answer", side: .server) }
        switch a.requests.first?.content ?? b.requests.first?.content {
        case .http?: return httpAnswers(a.responses, b.responses)
        case .redis?: return redisAnswers(a.responses, b.responses, key: key)
        case .postgres?: return postgresAnswers(a.responses, b.responses, key: key)
        case .turn?, .truncated?, nil: return generic(a.responses, b.responses, what: "answer", side: .server)
        }
    }

    /// Where framing fell back to turns: the bytes are all there is to compare.
    private static func isGeneric(_ messages: [Message]) -> Bool {
        messages.contains { $0.content == .turn || $0.content == .truncated }
    }

    func generic(_ a: [Message], _ b: [Message], what: String, side: Side) -> [Variation] {
        let bytesA = a.flatMap { $0.raw.readableBytesView }
        let bytesB = b.flatMap { $0.raw.readableBytesView }
        if a.isEmpty != b.isEmpty, side == .server { return [.answers(a: a.count, b: b.count)] }
        return same(bytesA, bytesB, side: side) ? [] : [.bytes(what: what, side: side, a: bytesA, b: bytesB)]
    }

    /// Equal once the side's regexes have masked both.
    func same(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>, side: Side) -> Bool {
        if a.elementsEqual(b) { return true }
        let patterns = masks.patterns(side)
        return !patterns.isEmpty && patterns.masked(a) == patterns.masked(b)
    }

    func same(_ a: [UInt8]?, _ b: [UInt8]?, side: Side) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a?, let b?): return same(a, b, side: side)
        default: return false
        }
    }
}
