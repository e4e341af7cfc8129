import NIOCore

/// A framer one of whose sides may have to wait for the other (an HTTP
/// response for its request's method, a PostgreSQL client for the server's
/// answer to its encryption request).
protocol InterdependentSides {
    /// Both sides' bytes not framed yet.
    var streams: StreamPair { get set }
    /// Both sides have ended: nothing more will arrive to wait for.
    var finishing: Bool { get set }
    var stop: FramerStop? { get }
    /// Whether `side` may be framed now, or waits for the other.
    func canFrame(_ side: Side) -> Bool
    /// The next whole message from `side`, if it has arrived; sets `stop` on bytes it cannot parse.
    mutating func next(_ side: Side) -> Message?
}

extension InterdependentSides {
    /// ``MessageFramer``'s `feed` and `handOff` for the framers that adopt this.
    public mutating func feed(_ bytes: ByteBuffer, from side: Side, at time: Duration) -> [Message] {
        streams.append(bytes, from: side, at: time)
        return pump()
    }

    public mutating func handOff() -> HandOff {
        streams.handOff()
    }

    /// Both sides ended: frames what no longer has to wait for the other side.
    mutating func pumpFinishing() -> [Message] {
        finishing = true
        return pump()
    }

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
