import NIOCore

/// Finds where one server value (a reply or a push, attributes included)
/// ends, reading RESP2 and RESP3 tokens incrementally: it keeps the read
/// position and a stack of values still due, so bytes are read once however
/// they are chunked. Nothing is allocated from declared counts.
struct RESPReplyScanner: Sendable {
    private struct Frame: Sendable {
        var remaining: Int
        var isAttribute: Bool
    }

    /// Relative index of the next unread byte.
    private var position = 0
    private var stack: [Frame] = []
    /// The type of the message's value (the first token outside any attribute).
    private(set) var type: RESPType?
    private(set) var hasAttribute = false

    /// The relative index one past the value's last byte, once it has arrived.
    mutating func advance(_ bytes: ByteBuffer, limits: FramingLimits) throws(FramingFailure) -> Int? {
        while true {
            guard let token = try RESPToken.read(bytes, at: position, limits: limits) else { return nil }
            let tokenStart = position
            position = token.end
            if stack.isEmpty {
                if token.type == .attribute { hasAttribute = true } else { type = token.type }
            }
            if case .aggregate(let values?) = token.body, values > 0 {
                guard stack.count < limits.maximumNestingDepth else {
                    throw FramingFailure(.overLimit, at: tokenStart, "aggregates nested deeper than \(limits.maximumNestingDepth)")
                }
                stack.append(Frame(remaining: values, isAttribute: token.type == .attribute))
                continue
            }
            if token.type == .attribute { continue }
            if valueCompleted() { return position }
        }
    }

    /// Counts one finished value against the enclosing aggregates; true when the message's value is finished.
    private mutating func valueCompleted() -> Bool {
        while let top = stack.last {
            stack[stack.count - 1].remaining = top.remaining - 1
            guard top.remaining == 1 else { return false }
            stack.removeLast()
            if top.isAttribute { return false }
        }
        return true
    }
}
