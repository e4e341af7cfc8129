/// Pairs a framed session's messages into exchanges (request → answer) and
/// unsolicited server messages, in the order they began.
///
/// Requests are answered in order on one connection, in all three
/// protocols; what differs is how many server messages make one answer and
/// which answer nothing. Where framing fell back to generic turns partway,
/// the turns after that point pair as turns: a client turn (with any client
/// turns right after it) is a request, the server turns after it its answer.
public enum ExchangePairer {
    /// Pairs the messages of one connection (both sides, in any order: each
    /// side's are put in stream order).
    public static func pair(_ messages: [Message], protocol protocolKind: ProtocolKind) -> [SessionItem] {
        let client = messages.filter { $0.side == .client }.sorted { $0.streamOffset < $1.streamOffset }
        let server = messages.filter { $0.side == .server }.sorted { $0.streamOffset < $1.streamOffset }
        let (clientFramed, clientTurns) = splitAtFallback(client)
        let (serverFramed, serverTurns) = splitAtFallback(server)
        var ledger = PairingLedger()
        switch protocolKind {
        case .http: pairHTTP(clientFramed, serverFramed, into: &ledger)
        case .redis: pairRedis(clientFramed, serverFramed, into: &ledger)
        case .postgres: pairPostgres(clientFramed, serverFramed, into: &ledger)
        case .generic: break
        }
        let framed = ledger.items(state: SessionState(protocol: protocolKind))
        return framed + pairTurns(clientTurns, serverTurns)
    }

    /// Messages up to the first generic turn or truncated tail, and the rest.
    private static func splitAtFallback(_ messages: [Message]) -> (framed: [Message], turns: [Message]) {
        let index = messages.firstIndex { $0.content == .turn || $0.content == .truncated } ?? messages.endIndex
        return (Array(messages[..<index]), Array(messages[index...]))
    }

    private static func pairHTTP(_ client: [Message], _ server: [Message], into ledger: inout PairingLedger) {
        for request in client { ledger.open([request]) }
        for response in server {
            guard let waiting = ledger.waiting, waiting.startedAt <= response.firstByteAt else {
                ledger.unsolicited(response)
                continue
            }
            ledger.answer(response)
            if response.http?.isInterim != true { ledger.close() }
        }
    }

    /// Generic pairing by time: each client turn after a server turn opens an exchange.
    static func pairTurns(_ client: [Message], _ server: [Message]) -> [SessionItem] {
        var ledger = PairingLedger()
        let merged = (client + server).enumerated().sorted {
            ($0.element.firstByteAt, $0.element.side == .client ? 0 : 1, $0.offset) < ($1.element.firstByteAt, $1.element.side == .client ? 0 : 1, $1.offset)
        }
        var answered = true
        for (_, message) in merged {
            switch message.side {
            case .client:
                if answered {
                    if ledger.waiting != nil { ledger.close() }
                    ledger.open([message])
                } else {
                    ledger.join(message)
                }
                answered = false
            case .server:
                if ledger.waiting == nil { ledger.unsolicited(message) } else { ledger.answer(message) }
                answered = true
            }
        }
        return ledger.items(state: SessionState(protocol: .generic))
    }
}
