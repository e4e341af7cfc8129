import NIOCore
import Protocols

extension ExchangeDiff {
    /// Arguments position by position when the command and its argument
    /// count agree; otherwise the commands' bytes.
    func redisRequests(_ a: [Message], _ b: [Message], keys keyA: ExchangeKey, _ keyB: ExchangeKey) -> [Variation] {
        guard case .redis(let command, let argumentsA) = keyA, case .redis(command, let argumentsB) = keyB, argumentsA.count == argumentsB.count else {
            return generic(a, b, what: "command", side: .client)
        }
        let masked = masks.redisArguments[command] ?? []
        return argumentsA.indices.compactMap { index in
            let position = index + 1
            guard argumentsA[index] != argumentsB[index], !masked.contains(position),
                !same(argumentsA[index].readableBytesView, argumentsB[index].readableBytesView, side: .client)
            else { return nil }
            return .redisArgument(command: command, position: position, a: argumentsA[index], b: argumentsB[index])
        }
    }

    /// Reply by reply, unless the command's replies are masked.
    func redisAnswers(_ a: [Message], _ b: [Message], key: ExchangeKey) -> [Variation] {
        let command: String
        if case .redis(let name, _) = key { command = name } else { command = "" }
        if masks.redisReplies.contains(command) { return a.count == b.count ? [] : [.answers(a: a.count, b: b.count)] }
        var found: [Variation] = []
        if a.count != b.count { found.append(.answers(a: a.count, b: b.count)) }
        for (replyA, replyB) in zip(a, b) where !same(replyA.raw.readableBytesView, replyB.raw.readableBytesView, side: .server) {
            found.append(.redisReply(command: command, a: RESPValue(parsing: replyA.raw), b: RESPValue(parsing: replyB.raw)))
        }
        return found
    }
}
