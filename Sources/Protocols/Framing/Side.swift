/// Which peer of a connection sent some bytes.
///
/// The protocol layer speaks of peers rather than of directions so that it
/// needs nothing of `Recording`: the client's bytes are its requests, the
/// server's its answers and its unsolicited messages.
public enum Side: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case client
    case server

    public var other: Side { self == .client ? .server : .client }
    public var description: String { rawValue }
}
