/// One step of a session as exchanges: a request with its answer, or a
/// server message that answers nothing (a pub/sub push, a PostgreSQL
/// notification while idle, a server greeting).
public enum SessionItem: Sendable, Hashable {
    case exchange(Exchange)
    case unsolicited(Message)

    public var exchange: Exchange? {
        if case .exchange(let exchange) = self { return exchange }
        return nil
    }

    /// When the item began: its first request's first byte, or the message's.
    public var startedAt: Duration {
        switch self {
        case .exchange(let exchange): return exchange.startedAt
        case .unsolicited(let message): return message.firstByteAt
        }
    }
}
