/// A framer one of whose sides may have to wait for the other (an HTTP
/// response for its request's method, a PostgreSQL client for the server's
/// answer to its encryption request).
protocol InterdependentSides {
    var stop: FramerStop? { get }
    /// Whether `side` may be framed now, or waits for the other.
    func canFrame(_ side: Side) -> Bool
    /// The next whole message from `side`, if it has arrived; sets `stop` on bytes it cannot parse.
    mutating func next(_ side: Side) -> Message?
}

extension InterdependentSides {
    /// Frames each side as far as it goes, in turn, until neither moves or framing stops.
    mutating func pump() -> [Message] {
        var messages: [Message] = []
        var progressed = true
        while progressed, stop == nil {
            progressed = false
            for side in Side.allCases {
                while stop == nil, canFrame(side), let message = next(side) {
                    messages.append(message)
                    progressed = true
                }
            }
        }
        return messages
    }
}
