/// The bookkeeping every protocol's pairing shares: the exchanges in request
/// order, the first one still waiting for its answer, and where unsolicited
/// server messages fell among them.
struct PairingLedger: Sendable {
    private enum Entry: Sendable {
        case exchange(Int)
        case unsolicited(Message)
    }

    private(set) var exchanges: [Exchange] = []
    /// Index of the first exchange still waiting for (more of) its answer.
    private(set) var head = 0
    private var entries: [Entry] = []
    private var listed = 0

    /// The exchange still waiting for its answer, if any.
    var waiting: Exchange? { head < exchanges.count ? exchanges[head] : nil }

    mutating func open(_ requests: [Message]) {
        exchanges.append(Exchange(requests: requests))
    }

    /// Adds a client message to the last exchange opened.
    mutating func join(_ request: Message) {
        guard !exchanges.isEmpty else { return open([request]) }
        exchanges[exchanges.count - 1].requests.append(request)
    }

    var lastRequests: [Message]? { exchanges.last?.requests }

    /// Adds a server message to the waiting exchange's answer.
    mutating func answer(_ response: Message) {
        guard head < exchanges.count else { return unsolicited(response) }
        exchanges[head].responses.append(response)
        while listed <= head {
            entries.append(.exchange(listed))
            listed += 1
        }
    }

    /// The waiting exchange's answer is complete.
    mutating func close() {
        head = min(head + 1, exchanges.count)
    }

    mutating func unsolicited(_ message: Message) {
        entries.append(.unsolicited(message))
    }

    /// Everything, in the order it began; contexts filled from `state`.
    func items(state: SessionState) -> [SessionItem] {
        var state = state
        var exchanges = self.exchanges
        for index in exchanges.indices {
            exchanges[index].context = state.context
            state.apply(exchanges[index])
        }
        var all = entries
        all += (listed..<exchanges.count).map { Entry.exchange($0) }
        let items = all.map { entry -> SessionItem in
            switch entry {
            case .exchange(let index): return .exchange(exchanges[index])
            case .unsolicited(let message): return .unsolicited(message)
            }
        }
        return items.enumerated()
            .sorted { ($0.element.startedAt, $0.offset) < ($1.element.startedAt, $1.offset) }
            .map(\.element)
    }
}
