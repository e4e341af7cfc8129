/// What a strict replay does at the first difference.
public enum MismatchPolicy: String, Sendable, CaseIterable, Codable {
    /// Close the connection (a FIN).
    case close
    /// Reset the connection (an RST).
    case reset
    /// Log it, count it, and go on.
    case `continue`
}
