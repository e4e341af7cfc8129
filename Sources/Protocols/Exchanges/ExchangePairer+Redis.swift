extension ExchangePairer {
    /// (Un)subscribe commands: the subscriptions they change, and whether they end them.
    private static let subscribeCommands: [String: (family: String, unsubscribes: Bool)] = [
        "SUBSCRIBE": ("channel", false), "UNSUBSCRIBE": ("channel", true),
        "PSUBSCRIBE": ("pattern", false), "PUNSUBSCRIBE": ("pattern", true),
        "SSUBSCRIBE": ("shard", false), "SUNSUBSCRIBE": ("shard", true),
    ]
    private static let confirmationKinds = Set(subscribeCommands.keys.map { $0.lowercased() })
    private static let publishedKinds: Set<String> = ["message", "pmessage", "smessage"]

    /// One command, one reply — except: SUBSCRIBE and its kin get one reply
    /// per channel (UNSUBSCRIBE with no channels one per subscription, or one
    /// when there are none); `CLIENT REPLY OFF`/`SKIP` and empty commands get
    /// none. Pushes (RESP3 `>`) answer a (un)subscribe or nothing; in RESP2's
    /// subscribed mode, `message`/`pmessage`/`smessage` arrays answer nothing.
    static func pairRedis(_ client: [Message], _ server: [Message], into ledger: inout PairingLedger) {
        var expected: [Int] = []
        var subscriptions: [String: Set<[UInt8]>] = [:]
        var repliesOff = false
        var skipNext = false
        for request in client {
            ledger.open([request])
            guard let command = request.redis?.command else {
                expected.append(1)
                continue
            }
            var count = replyCount(command, subscriptions: &subscriptions)
            if command.name == "CLIENT", let mode = command.arguments.dropFirst().first.map({ String(buffer: $0).uppercased() }),
                command.arguments.first.map({ String(buffer: $0).uppercased() }) == "REPLY"
            {
                repliesOff = mode == "OFF"
                if mode != "ON" { count = 0 }
                skipNext = mode == "SKIP"
            } else if repliesOff || skipNext {
                count = 0
                skipNext = false
            }
            expected.append(count)
        }
        var serverSubscriptions = 0
        var remaining = expected.first ?? 0
        func closeWaiting() {
            ledger.close()
            remaining = ledger.head < expected.count ? expected[ledger.head] : 0
        }
        for reply in server {
            while ledger.waiting != nil, remaining == 0 { closeWaiting() }
            let waitingName = ledger.waiting?.requests.first?.redis?.command?.name
            let waitsForConfirmation = waitingName.map { subscribeCommands[$0] != nil } == true
            let type = reply.redis?.replyType
            let value = type == .push || (type == .array && (serverSubscriptions > 0 || waitsForConfirmation)) ? RESPValue(parsing: reply.raw) : nil
            let kind = value?.elements?.first?.string?.lowercased()
            let confirmsWaiting = waitsForConfirmation && kind == waitingName?.lowercased()
            if let kind, confirmationKinds.contains(kind), let count = value?.elements?.last?.integer {
                serverSubscriptions = Int(count)
            }
            let unsolicited = !confirmsWaiting && (type == .push || kind.map(publishedKinds.contains) == true)
            guard ledger.waiting != nil, !unsolicited else {
                ledger.unsolicited(reply)
                continue
            }
            ledger.answer(reply)
            remaining -= 1
            if remaining == 0 { closeWaiting() }
        }
    }

    /// Replies a command gets, and the subscriptions it leaves.
    private static func replyCount(_ command: RESPCommand, subscriptions: inout [String: Set<[UInt8]>]) -> Int {
        guard !command.parts.isEmpty else { return 0 }
        guard let (family, unsubscribes) = subscribeCommands[command.name] else { return 1 }
        let channels = command.arguments.map { Array($0.readableBytesView) }
        if unsubscribes {
            let current = subscriptions[family, default: []]
            if channels.isEmpty {
                subscriptions[family] = []
                return max(current.count, 1)
            }
            subscriptions[family] = current.subtracting(channels)
            return channels.count
        }
        subscriptions[family, default: []].formUnion(channels)
        return max(channels.count, 1)
    }
}
